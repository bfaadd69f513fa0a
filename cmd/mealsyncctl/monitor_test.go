package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"testing"

	"github.com/mealsync/mealsync/internal/rollout"
	"github.com/mealsync/mealsync/internal/testenv"
)

// monitorFrame is the part of `monitor --json`'s frame the tests read.
type monitorFrame struct {
	Ready     int `json:"ready"`
	Total     int `json:"total"`
	Instances []struct {
		Name    string  `json:"name"`
		URL     string  `json:"url"`
		Ready   bool    `json:"ready"`
		Error   string  `json:"error"`
		Version string  `json:"version"`
		Uptime  float64 `json:"uptime_seconds"`
	} `json:"instances"`
}

func monitorOnce(t *testing.T, args ...string) monitorFrame {
	t.Helper()
	var out bytes.Buffer
	args = append([]string{"mealsyncctl", "monitor", "--once", "--json", "--interval", "300ms"}, args...)
	if err := run(context.Background(), args, func(string) string { return "" }, &out, io.Discard); err != nil {
		t.Fatalf("monitor: %v", err)
	}
	var frame monitorFrame
	if err := json.Unmarshal(out.Bytes(), &frame); err != nil {
		t.Fatalf("not one JSON object: %v\n%s", err, out.String())
	}
	return frame
}

// `mealsyncctl monitor --once --json` reads a real instance's endpoints on
// its ops listener.
func TestMonitorOnceJSON(t *testing.T) {
	inst := testenv.StartMealsync(t, testenv.Options{})
	frame := monitorOnce(t, "--targets", inst.OpsURL)
	if frame.Total != 1 || frame.Ready != 1 || len(frame.Instances) != 1 || !frame.Instances[0].Ready ||
		frame.Instances[0].Version == "" || frame.Instances[0].Uptime <= 0 || frame.Instances[0].Error != "" {
		t.Fatalf("frame: %+v", frame)
	}
}

// Without --targets, monitor watches the instances the state directory
// records, side by side on one host, at the ops address each was given.
func TestMonitorReadsTheRecordedOpsAddresses(t *testing.T) {
	a := testenv.StartMealsync(t, testenv.Options{})
	b := testenv.StartMealsync(t, testenv.Options{})
	store, err := rollout.NewStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	st := &rollout.State{Desired: 2, Instances: []rollout.Instance{
		{ID: "i1", Version: "v1", Role: rollout.RoleServing, Addr: a.Addr, OpsAddr: a.OpsAddr},
		{ID: "i2", Version: "v1", Role: rollout.RoleServing, Addr: b.Addr, OpsAddr: b.OpsAddr},
	}}
	if err := store.Save(st); err != nil {
		t.Fatal(err)
	}
	frame := monitorOnce(t, "--state-dir", store.Dir)
	if frame.Total != 2 || frame.Ready != 2 {
		t.Fatalf("frame: %+v", frame)
	}
	for i, in := range frame.Instances {
		want := "http://" + st.Instances[i].OpsAddr
		if in.Name != st.Instances[i].ID || in.URL != want || !in.Ready || in.Version == "" || in.Error != "" {
			t.Errorf("instance %d: %+v, want %s read at %s without error", i, in, st.Instances[i].ID, want)
		}
	}
}

// An instance recorded by an older mealsyncctl has no ops address: its
// one port served everything then, so monitor reads that.
func TestMonitorFallsBackToTheAPIAddress(t *testing.T) {
	store := &rollout.Store{Dir: t.TempDir()}
	if err := store.Save(&rollout.State{Instances: []rollout.Instance{
		{ID: "old", Role: rollout.RoleServing, Addr: "127.0.0.1:8081"},
		{ID: "new", Role: rollout.RoleDraining, Addr: "127.0.0.1:8082", OpsAddr: "127.0.0.1:9082"},
		{ID: "starting", Role: rollout.RoleStarting},
	}}); err != nil {
		t.Fatal(err)
	}
	got, err := stateTargets(store)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].URL != "http://127.0.0.1:8081" || got[1].URL != "http://127.0.0.1:9082" || got[1].Name != "new (draining)" {
		t.Fatalf("targets %+v", got)
	}
}
