package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"testing"

	"github.com/mealsync/mealsync/internal/testenv"
)

// `mealsyncctl monitor --once --json` reads a real instance's endpoints.
func TestMonitorOnceJSON(t *testing.T) {
	inst := testenv.StartMealsync(t, testenv.Options{})
	var out bytes.Buffer
	err := run(context.Background(), []string{"mealsyncctl", "monitor", "--once", "--json", "--interval", "300ms", "--targets", inst.URL},
		func(string) string { return "" }, nil, &out, io.Discard)
	if err != nil {
		t.Fatalf("monitor: %v", err)
	}
	var frame struct {
		Ready     int `json:"ready"`
		Total     int `json:"total"`
		Instances []struct {
			Ready   bool    `json:"ready"`
			Version string  `json:"version"`
			Uptime  float64 `json:"uptime_seconds"`
		} `json:"instances"`
	}
	if err := json.Unmarshal(out.Bytes(), &frame); err != nil {
		t.Fatalf("not one JSON object: %v\n%s", err, out.String())
	}
	if frame.Total != 1 || frame.Ready != 1 || len(frame.Instances) != 1 || !frame.Instances[0].Ready ||
		frame.Instances[0].Version == "" || frame.Instances[0].Uptime <= 0 {
		t.Fatalf("frame: %s", out.String())
	}
}
