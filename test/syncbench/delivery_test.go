package syncbench

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/syncsim"
	"github.com/mealsync/mealsync/internal/testenv"
)

// deliveryRun shapes a delivery measurement.
type deliveryRun struct {
	households, devices int
	rate                float64 // writes a second, over all households
	duration, warmup    time.Duration
}

// runDelivery starts two instances on one PostgreSQL database, makes the
// households through the first, connects each household's first device
// (the writer) to the first instance and the others to the second, writes
// on the schedule, and checks that every acknowledged write reached every
// device once and in order, and that every device's list is the server's.
func runDelivery(t *testing.T, r deliveryRun) *syncsim.DeliveryReport {
	s := startPostgres(t, 2)
	a, b := s.instances[0], s.instances[1]
	ctx, cancel := context.WithTimeout(context.Background(), r.duration+15*time.Minute)
	defer cancel()

	began := time.Now()
	hs := households(t, ctx, a.URL, users(t, s.dbURL, r.households*r.devices), r.households)
	committed := observeCommits(t, s.dbURL)
	c := client()
	watched, err := syncsim.Watch(ctx, c, hs, a.URL, b.URL, 16)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syncsim.Unwatch(watched) })
	t.Logf("setup: %d households of %d devices, connected, in %v", r.households, r.devices, time.Since(began).Round(time.Millisecond))

	cpuA, cpuB, cpuSelf := cpuTime(t, a.Cmd.Process.Pid), cpuTime(t, b.Cmd.Process.Pid), cpuTime(t, os.Getpid())
	cpuDB, metA, metB := backendsCPU(t, s.dbURL), metrics(t, a), metrics(t, b)
	rep, err := syncsim.MeasureDelivery(ctx, syncsim.DeliveryConfig{
		Client: c, WriteURL: a.URL, Rate: r.rate, Duration: r.duration, Warmup: r.warmup, Committed: committed.When,
	}, watched)
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	rep.WriteText(&text)
	t.Logf("report:\n%s", text.String())
	secs := r.duration.Seconds()
	t.Logf("CPU over the run, in cores: writer's instance %.2f, listeners' instance %.2f, this process (devices and writers) %.2f",
		(cpuTime(t, a.Cmd.Process.Pid)-cpuA).Seconds()/secs, (cpuTime(t, b.Cmd.Process.Pid)-cpuB).Seconds()/secs,
		(cpuTime(t, os.Getpid())-cpuSelf).Seconds()/secs)
	t.Logf("CPU over the run, in cores: PostgreSQL's backends of this database %.2f; load average now %s",
		backendsCPUSince(t, s.dbURL, cpuDB).Seconds()/secs, loadAverage())
	for _, in := range []struct {
		name   string
		inst   *testenv.Instance
		before map[string]float64
	}{{"writer's instance", a, metA}, {"listeners' instance", b, metB}} {
		m := metrics(t, in.inst)
		delta := func(name string) float64 { return m[name] - in.before[name] }
		waits := delta("go_sql_wait_count_total")
		t.Logf("%s: %.0f requests, %.0f live messages sent; %.0f waits for a pooled database connection, %.1f ms each on average; %.0f connections closed as surplus idle ones",
			in.name, delta("http_server_requests_seconds_count"), delta("mealsync_live_messages_total"),
			waits, 1000*delta("go_sql_wait_duration_seconds_total")/max(waits, 1), delta("go_sql_max_idle_closed_total"))
	}

	if rep.Acknowledged != rep.Writes {
		t.Errorf("%d of %d writes acknowledged", rep.Acknowledged, rep.Writes)
	}
	if want := rep.Acknowledged * r.devices; rep.Expected != want {
		t.Errorf("%d deliveries expected, want %d (each write to each of %d devices)", rep.Expected, want, r.devices)
	}
	if rep.Delivered != rep.Expected || rep.Lost != 0 || rep.Duplicated != 0 || rep.ListsDiffer != 0 || len(rep.Problems) != 0 {
		t.Errorf("%d of %d deliveries, %d lost, %d duplicated, %d lists differ; problems: %v",
			rep.Delivered, rep.Expected, rep.Lost, rep.Duplicated, rep.ListsDiffer, rep.Problems)
	}
	// Each change the other instance delivered was announced by the
	// database (a revision it did not announce would have no commit time).
	if rep.FromCommit.Count != rep.FromSchedule.Count {
		t.Errorf("%d deliveries on the other instance, %d of them matched to a commit notification",
			rep.FromSchedule.Count, rep.FromCommit.Count)
	}
	return rep
}

// Twenty households of four devices, the writer on one instance and the
// other three devices on another: 200 writes in 4 s, each of which must
// reach the three other devices (through PostgreSQL's notifications) and
// the writer's own connection, once, in revision order.
func TestDelivery(t *testing.T) {
	runDelivery(t, deliveryRun{households: 20, devices: 4, rate: 50, duration: 4 * time.Second})
}

// TestDeliveryFigures is issue 13's delivery benchmark, not a CI test:
// 1,000 households × 4 devices, 200 writes a second for a minute.
//
//	MEALSYNC_SYNCBENCH_FIGURES=1 MEALSYNC_REQUIRE_SERVICES=1 go test -v -run DeliveryFigures -timeout 60m ./test/syncbench
//
// Knobs: MEALSYNC_SYNCBENCH_HOUSEHOLDS (1000), MEALSYNC_SYNCBENCH_DEVICES
// (4), MEALSYNC_SYNCBENCH_RATE (writes/s, 200), MEALSYNC_SYNCBENCH_DURATION
// (60s), MEALSYNC_SYNCBENCH_WARMUP (10s, not timed).
func TestDeliveryFigures(t *testing.T) {
	figures(t)
	runDelivery(t, deliveryRun{
		households: envInt(t, "MEALSYNC_SYNCBENCH_HOUSEHOLDS", 1000),
		devices:    envInt(t, "MEALSYNC_SYNCBENCH_DEVICES", 4),
		rate:       float64(envInt(t, "MEALSYNC_SYNCBENCH_RATE", 200)),
		duration:   envDuration(t, "MEALSYNC_SYNCBENCH_DURATION", time.Minute),
		warmup:     envDuration(t, "MEALSYNC_SYNCBENCH_WARMUP", 10*time.Second),
	})
}
