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

// startBystander runs a process that carries an instance's labels in its
// environment, as an operator's shell, `timeout` or a CI step does when it
// exports MEALSYNCCTL_STATE_DIR; it dies with the test.
func startBystander(t *testing.T, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "300")
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	return cmd
}

// Strays are the processes pids/ records for instances the state does not
// know, recognised by pid and start time: never a process that only shares
// the instances' environment, nor one that took over a recorded pid.
func TestStraysAreKnownByPidAndStartTimeOnly(t *testing.T) {
	store := newStore(t)
	d := &Process{Store: store, StopTimeout: 5 * time.Second}
	ctx := context.Background()
	bystander := startBystander(t, envStateDir+"="+store.Dir, envInstance+"=i9")
	_, byTicks, _ := procStat(bystander.Process.Pid)

	rel := Release{Version: "v1", Binary: sleeper(t), Dir: t.TempDir()}
	start := func(id string) Instance {
		in, err := d.Start(ctx, rel, id)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { signalGroup(in.PID, syscall.SIGKILL) })
		return in
	}
	known := start("i1")
	lost := start("i2") // its command was killed before it saved i2 in state.json
	// A record whose pid another process took over since.
	if err := store.recordProcess("i3", bystander.Process.Pid, byTicks+1); err != nil {
		t.Fatal(err)
	}
	// A record of a process that has exited.
	done := exec.Command("true")
	if err := done.Run(); err != nil {
		t.Fatal(err)
	}
	_, doneTicks, _ := procStat(os.Getpid()) // any plausible start time: the pid is gone
	if err := store.recordProcess("i4", done.Process.Pid, doneTicks); err != nil {
		t.Fatal(err)
	}

	want := []string{"i2 (pid " + itoa(lost.PID) + ")"}
	found, err := d.FindStrays(ctx, []Instance{known})
	if err != nil || !slices.Equal(found, want) {
		t.Fatalf("FindStrays = %v, %v; want %v", found, err, want)
	}
	for _, id := range []string{"i1", "i2", "i3", "i4"} {
		if _, err := os.Stat(store.pidPath(id)); err != nil {
			t.Errorf("FindStrays changed the records: %v", err)
		}
	}

	stopped, err := d.Strays(ctx, []Instance{known})
	if err != nil || !slices.Equal(stopped, want) {
		t.Fatalf("Strays = %v, %v; want %v", stopped, err, want)
	}
	if !processAlive(bystander.Process.Pid, byTicks) {
		t.Error("the process that only shares the instances' environment was stopped")
	}
	if !processAlive(known.PID, known.StartTicks) {
		t.Error("the known instance was stopped")
	}
	if processAlive(lost.PID, lost.StartTicks) {
		t.Error("the stray still runs")
	}
	for id, kept := range map[string]bool{"i1": true, "i2": false, "i3": false, "i4": false} {
		if _, err := os.Stat(store.pidPath(id)); (err == nil) != kept {
			t.Errorf("record of %s: kept=%v, want %v", id, err == nil, kept)
		}
	}

	// The probe tells a reused pid from the instance.
	p := d.Probe(ctx, Instance{ID: "i3", PID: bystander.Process.Pid, StartTicks: byTicks + 1, Addr: "127.0.0.1:1"})
	if p.Health != Exited || !strings.Contains(p.Detail, "belongs to another process") {
		t.Errorf("probe of a reused pid: %+v", p)
	}
}

// Stop finds the process of an instance whose pid state.json never got
// (the command died between starting it and saving), through pids/.
func TestStopUsesTheRecordedProcess(t *testing.T) {
	store := newStore(t)
	d := &Process{Store: store, StopTimeout: 5 * time.Second}
	ctx := context.Background()
	in, err := d.Start(ctx, Release{Version: "v1", Binary: sleeper(t)}, "i1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { signalGroup(in.PID, syscall.SIGKILL) })
	if err := d.Stop(ctx, Instance{ID: "i1", Version: "v1"}); err != nil {
		t.Fatal(err)
	}
	if processAlive(in.PID, in.StartTicks) {
		t.Error("the process still runs")
	}
	if _, err := os.Stat(store.pidPath("i1")); !os.IsNotExist(err) {
		t.Errorf("the record is still there: %v", err)
	}
}

// A process the state directory could not record never runs the app.
func TestAnUnrecordedProcessNeverRunsTheApp(t *testing.T) {
	store := newStore(t)
	d := &Process{Store: store}
	marker := filepath.Join(t.TempDir(), "ran")
	bin := filepath.Join(t.TempDir(), "mealsync")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\ntouch "+marker+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A directory where the record goes: writing it fails.
	if err := os.MkdirAll(store.pidPath("i1"), 0o755); err != nil {
		t.Fatal(err)
	}
	in, err := d.Start(context.Background(), Release{Version: "v1", Binary: bin}, "i1")
	if err == nil || !strings.Contains(err.Error(), "recording process") {
		t.Fatalf("Start = %+v, %v; want an error about the record", in, err)
	}
	// Start waited for the held process to exit: had it run the app, the
	// marker would be there now.
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Errorf("the app ran although its process was never recorded (%v)", err)
	}
	if in.PID != 0 {
		t.Errorf("Start returned pid %d for a process that did not run", in.PID)
	}
}
