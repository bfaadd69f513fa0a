package syncbench

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/syncsim"
	"github.com/mealsync/mealsync/internal/testenv"
)

// memory is what an instance's process holds at one moment.
type memory struct {
	rss                     int64   // resident set, from /proc
	heap, stack, goroutines float64 // the Go runtime's, from the ops listener
	nextGC                  float64 // the heap size at which the next collection starts
	connections             float64 // open live connections, as the instance counts them
}

func measureMemory(t testing.TB, inst *testenv.Instance) memory {
	t.Helper()
	m := metrics(t, inst)
	return memory{rss: rss(t, inst.Cmd.Process.Pid), heap: m["go_memstats_heap_inuse_bytes"], stack: m["go_memstats_stack_inuse_bytes"],
		goroutines: m["go_goroutines"], nextGC: m["go_memstats_next_gc_bytes"], connections: m["mealsync_live_connections"]}
}

// settled waits until the instance's resident memory has stopped moving
// (two readings a second apart within 1 %), and returns it then: the
// runtime returns freed memory and finishes sweeping in the background.
func settled(t testing.TB, inst *testenv.Instance) memory {
	t.Helper()
	prev := measureMemory(t, inst)
	var m memory
	deadline := time.Now().Add(time.Minute)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for range tick.C {
		m = measureMemory(t, inst)
		if d := m.rss - prev.rss; d*100 < m.rss && -d*100 < m.rss || time.Now().After(deadline) {
			return m
		}
		prev = m
	}
	return m
}

// runIdle opens n live connections to one instance (PostgreSQL), spread
// over the devices of households households of devices devices, and
// measures what they cost the instance, over window. Then it checks that every one of
// them is served (a write reaches each) and that closing them frees them
// (the instance counts none).
func runIdle(t *testing.T, n, households_, devices int, window time.Duration) {
	s := startPostgres(t, 1)
	inst := s.instances[0]
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	hs := households(t, ctx, inst.URL, users(t, s.dbURL, households_*devices), households_)
	var devs []*syncsim.Device
	for _, h := range hs {
		devs = append(devs, h.Devices...)
	}
	c := client()
	// One connection first, opened and closed: the "before" figure is then
	// not the cost of a first connection's code paths and pools.
	warm, err := devs[0].Listen(ctx, c, inst.URL, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := warm.WaitFirst(ctx); err != nil {
		t.Fatal(err)
	}
	warm.Close()
	testenv.WaitFor(t, 30*time.Second, "the instance to count no live connection", func() bool {
		return metrics(t, inst)["mealsync_live_connections"] == 0
	})

	before := settled(t, inst)
	selfBefore := rss(t, os.Getpid())
	began := time.Now()
	ls, err := syncsim.OpenListeners(ctx, n, 32, func(ctx context.Context, i int) (*syncsim.Listener, error) {
		return devs[i%len(devs)].Listen(ctx, c, inst.URL, 0)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syncsim.CloseAll(ls) })
	opened := time.Since(began)
	testenv.WaitFor(t, time.Minute, "the instance to count every connection", func() bool {
		return metrics(t, inst)["mealsync_live_connections"] == float64(n)
	})
	after := settled(t, inst)
	// Idle connections still cost: a heartbeat every 25 s allocates, and
	// the heap grows to the garbage collector's goal before a collection.
	// Watching for window samples what the instance holds over that cycle
	// (the runtime also collects at least every 2 minutes).
	peak := after
	for end := time.Now().Add(window); time.Now().Before(end); {
		select { // the sampling interval of a measurement, not synchronisation
		case <-time.After(5 * time.Second):
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
		m := measureMemory(t, inst)
		if m.rss > peak.rss {
			peak = m
		}
		after = m
	}
	per := func(a, b float64) float64 { return (b - a) / float64(n) / 1024 }
	t.Logf("%d connections opened in %v (each a ticket, a WebSocket handshake and its backlog)", n, opened.Round(time.Millisecond))
	t.Logf("instance RSS %.1f MB before, %.1f MB after %v idle (%.1f MB at most): %.1f KB a connection (%.1f KB at most)",
		float64(before.rss)/(1<<20), float64(after.rss)/(1<<20), window, float64(peak.rss)/(1<<20),
		per(float64(before.rss), float64(after.rss)), per(float64(before.rss), float64(peak.rss)))
	t.Logf("a connection's share: Go heap in use %.1f KB, the collector's next goal %.1f KB, goroutine stacks %.1f KB, %.2f goroutines",
		per(before.heap, after.heap), per(before.nextGC, after.nextGC), per(before.stack, after.stack), (after.goroutines-before.goroutines)/float64(n))
	t.Logf("this process (the devices' side): %.1f KB a connection; load average now %s", per(float64(selfBefore), float64(rss(t, os.Getpid()))), loadAverage())

	// Every connection is served: one write to each household reaches
	// every connection of it.
	byHousehold := map[string][]*syncsim.Listener{}
	for _, l := range ls {
		byHousehold[l.HouseholdID] = append(byHousehold[l.HouseholdID], l)
	}
	for _, h := range hs {
		rev, err := h.Fill(ctx, c, inst.URL, 1, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range byHousehold[h.ID] {
			if err := l.WaitRevision(ctx, rev); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, l := range ls {
		if _, _, dups, problems := l.Stats(); dups > 0 || len(problems) > 0 || !l.Open() {
			t.Errorf("%s: open %v, %d duplicated, problems %v, closed by %v", l.Name, l.Open(), dups, problems, l.Closed())
		}
	}
	// Closed by the devices, they are gone from the instance.
	syncsim.CloseAll(ls)
	testenv.WaitFor(t, time.Minute, "the instance to count no live connection", func() bool {
		return metrics(t, inst)["mealsync_live_connections"] == 0
	})
}

// 200 connections to one instance, over 20 households of 4 devices: each
// is counted, served and, once closed, released.
func TestIdleConnections(t *testing.T) {
	runIdle(t, 200, 20, 4, 0)
}

// TestIdleFigures is issue 13's idle-connection benchmark, not a CI test:
// 10,000 connections to one instance, and the memory each costs it.
//
//	MEALSYNC_SYNCBENCH_FIGURES=1 MEALSYNC_REQUIRE_SERVICES=1 go test -v -run IdleFigures -timeout 60m ./test/syncbench
//
// Knobs: MEALSYNC_SYNCBENCH_CONNECTIONS (10000), MEALSYNC_SYNCBENCH_HOUSEHOLDS
// (1000), MEALSYNC_SYNCBENCH_DEVICES (4), MEALSYNC_SYNCBENCH_IDLE_WINDOW
// (150s: how long the idle connections are watched). Each process needs a file
// descriptor per connection (Go raises its soft limit to the hard one at
// start): `ulimit -Hn` must exceed the connections.
func TestIdleFigures(t *testing.T) {
	figures(t)
	runIdle(t, envInt(t, "MEALSYNC_SYNCBENCH_CONNECTIONS", 10000),
		envInt(t, "MEALSYNC_SYNCBENCH_HOUSEHOLDS", 1000), envInt(t, "MEALSYNC_SYNCBENCH_DEVICES", 4),
		envDuration(t, "MEALSYNC_SYNCBENCH_IDLE_WINDOW", 150*time.Second))
}
