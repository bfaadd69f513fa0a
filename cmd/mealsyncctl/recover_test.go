package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/rollout"
	"github.com/mealsync/mealsync/internal/testenv"
)

// Recovery stops only what the state directory records: an operator's shell
// that exported MEALSYNCCTL_STATE_DIR (as the cheat sheet's flag-less
// commands invite) and runs mealsyncctl, and any other process carrying the
// variable, outlive the command that reconciles an interrupted deploy.
func TestRecoverySparesTheCallersShell(t *testing.T) {
	r := newHostRig(t)
	r.deploy(1)
	// A deploy killed mid-way leaves its journal.
	st, err := r.store.Load()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	st.Op = &rollout.Operation{Kind: "deploy", Target: *st.Current, Desired: 1, Step: "verifying i9", PID: 1 << 22, Started: now, Updated: now}
	if err := r.store.Save(st); err != nil {
		t.Fatal(err)
	}
	ctlBin := testenv.Build(t, "./cmd/mealsyncctl")
	exported := append(os.Environ(), "MEALSYNCCTL_STATE_DIR="+r.stateDir)

	sibling := exec.Command("sleep", "300")
	sibling.Env = exported
	sibling.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := sibling.Start(); err != nil {
		t.Fatal(err)
	}
	siblingExited := make(chan error, 1)
	go func() { siblingExited <- sibling.Wait() }()
	t.Cleanup(func() { syscall.Kill(-sibling.Process.Pid, syscall.SIGKILL) })

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	shell := exec.CommandContext(ctx, "sh", "-c", `"$CTL" scale 1; echo "mealsyncctl exited $?"; echo "the shell goes on"`)
	shell.Env = append(exported, "CTL="+ctlBin)
	shell.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	var out bytes.Buffer
	shell.Stdout, shell.Stderr = &out, &out
	err = shell.Run()
	if err != nil || !strings.Contains(out.String(), "mealsyncctl exited 0\nthe shell goes on") {
		t.Fatalf("the operator's shell: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "an interrupted deploy of v1 was found") {
		t.Errorf("no recovery ran:\n%s", out.String())
	}
	select {
	case err := <-siblingExited:
		t.Errorf("a process that only shares the variable was stopped: %v", err)
	default:
	}
	r.checkConsistent(1)
}
