package rollout

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// sleeper is a stand-in "binary": a shell script that ignores `serve`,
// prints its environment's labels and sleeps; it never answers HTTP.
func sleeper(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "mealsync")
	script := "#!/bin/sh\necho \"started with MEALSYNC_ADDR=$MEALSYNC_ADDR MEALSYNC_OPS_ADDR=$MEALSYNC_OPS_ADDR FROM_ENV_FILE=$FROM_ENV_FILE\"\nexec sleep 300\n"
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestProcessDriverStartsDetachedAndStops(t *testing.T) {
	store := newStore(t)
	envFile := filepath.Join(t.TempDir(), "env")
	os.WriteFile(envFile, []byte("# comment\nexport FROM_ENV_FILE=\"quoted value\"\nMEALSYNC_ADDR=ignored:1\nMEALSYNC_OPS_ADDR=ignored:2\n"), 0o644)
	d := &Process{Store: store, StopTimeout: 5 * time.Second, BaseEnv: []string{"PATH=" + os.Getenv("PATH")}}
	rel := Release{Version: "v1", Binary: sleeper(t), EnvFile: envFile, Dir: t.TempDir()}
	ctx := context.Background()

	in, err := d.Start(ctx, rel, "i1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Stop(ctx, in) })
	if in.PID == 0 || in.StartTicks == 0 || !strings.HasPrefix(in.Addr, "127.0.0.1:") ||
		!strings.HasPrefix(in.OpsAddr, "127.0.0.1:") || in.OpsAddr == in.Addr {
		t.Fatalf("instance %+v: want a pid and two distinct loopback ports", in)
	}
	if p := d.Probe(ctx, in); p.Health != NotReady {
		t.Errorf("probe of a process that does not answer HTTP: %v", p)
	}
	// Its own session: it outlives the command that started it.
	if sid := procField(t, in.PID, 5); sid != in.PID {
		t.Errorf("session id %d, want its own (%d)", sid, in.PID)
	}
	var logs []string
	waitFor(t, "the log line", func() bool { logs = d.Logs(ctx, in, 5); return len(logs) > 0 })
	if want := "started with MEALSYNC_ADDR=" + in.Addr + " MEALSYNC_OPS_ADDR=" + in.OpsAddr + " FROM_ENV_FILE=quoted value"; logs[0] != want {
		t.Errorf("log %q, want %q", logs[0], want)
	}

	// A second instance the state "forgot" is a stray.
	lost, err := d.Start(ctx, rel, "i2")
	if err != nil {
		t.Fatal(err)
	}
	// Instances side by side on one host: no port is used twice.
	if ports := []string{in.Addr, in.OpsAddr, lost.Addr, lost.OpsAddr}; len(slices.Compact(slices.Sorted(slices.Values(ports)))) != 4 {
		t.Errorf("two instances share a port: %v", ports)
	}
	stopped, err := d.Strays(ctx, []Instance{in})
	if err != nil || len(stopped) != 1 || !strings.HasPrefix(stopped[0], "i2 ") {
		t.Errorf("Strays stopped %v (%v), want i2", stopped, err)
	}
	if p := d.Probe(ctx, lost); p.Health != Exited {
		t.Errorf("the stray is %v after Strays", p)
	}
	if p := d.Probe(ctx, in); p.Health == Exited {
		t.Errorf("the known instance was stopped too")
	}

	if err := d.Stop(ctx, in); err != nil {
		t.Fatal(err)
	}
	if p := d.Probe(ctx, in); p.Health != Exited {
		t.Errorf("after Stop: %v", p)
	}
	// A pid now used by someone else is not the instance.
	if processAlive(os.Getpid(), 1) {
		t.Error("a pid with another start time counts as the instance")
	}
}

func TestReadEnvFileRejectsGarbage(t *testing.T) {
	p := filepath.Join(t.TempDir(), "env")
	os.WriteFile(p, []byte("A=1\nthis is not a variable\n"), 0o644)
	if _, err := ReadEnvFile(p); err == nil || !strings.Contains(err.Error(), ":2:") {
		t.Errorf("ReadEnvFile: %v, want an error naming line 2", err)
	}
	os.WriteFile(p, []byte("A=1\nB='two words'\n\n# c\n"), 0o644)
	got, err := ReadEnvFile(p)
	if err != nil || !slices.Equal(got, []string{"A=1", "B=two words"}) {
		t.Errorf("ReadEnvFile = %q, %v", got, err)
	}
}

// procField reads field n (1-based, as in proc(5)) of /proc/pid/stat.
func procField(t *testing.T, pid, n int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/" + itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	v := 0
	for _, c := range f[n-3] {
		v = v*10 + int(c-'0')
	}
	return v
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}

// TestStopAfterAKilledCommandSignalsOnce: an instance recorded as stopping
// by a command that died is sent SIGTERM only if it never got one (it still
// answers ready); one already shutting down is left to finish, since a
// second SIGTERM makes the app quit at once.
func TestStopAfterAKilledCommandSignalsOnce(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "standin")
	if b, err := exec.Command(goBin(), "build", "-o", bin, "./testdata/standin").CombinedOutput(); err != nil {
		t.Fatalf("build standin: %v\n%s", err, b)
	}
	store := newStore(t)
	d := &Process{Store: store, StopTimeout: 20 * time.Second}
	ctx := context.Background()
	start := func(id string) Instance {
		in, err := d.Start(ctx, Release{Version: "v1", Binary: bin}, id)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { signalGroup(in.PID, syscall.SIGKILL) })
		waitFor(t, id+" to be ready", func() bool { return d.Probe(ctx, in).Health == Ready })
		return in
	}

	// The command died before sending SIGTERM: Stop sends it.
	a := start("a")
	a.Stopping = time.Now().Add(-time.Second)
	t0 := time.Now()
	if err := d.Stop(ctx, a); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(t0); took > 10*time.Second {
		t.Errorf("stopping a never-signalled instance took %s: it waited instead of signalling", took)
	}

	// The command died after sending SIGTERM: Stop only waits.
	b := start("b")
	syscall.Kill(b.PID, syscall.SIGTERM)
	waitFor(t, "b to report not ready", func() bool { return d.Probe(ctx, b).Health == NotReady })
	b.Stopping = time.Now()
	if err := d.Stop(ctx, b); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		in   Instance
		want string
	}{{a, "stopped gracefully"}, {b, "stopped gracefully"}} {
		logs := strings.Join(d.Logs(ctx, c.in, 10), "\n")
		if !strings.Contains(logs, c.want) || strings.Contains(logs, "second signal") {
			t.Errorf("%s's log:\n%s", c.in.ID, logs)
		}
	}
}
