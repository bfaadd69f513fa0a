package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The ops listener serves the probes, build info and metrics on a port of
// its own, the API port none but the probes, and it goes down with the
// server.
func TestOpsListener(t *testing.T) {
	s := startServer(t, map[string]string{"MEALSYNC_DATABASE_URL": "sqlite:" + t.TempDir() + "/m.db"})
	if s.ops == s.base {
		t.Fatalf("the ops listener shares %s with the API", s.base)
	}
	for path, want := range map[string]string{
		"/actuator/health/readiness":       `"status":"UP"`,
		"/actuator/health/liveness":        `"status":"UP"`,
		"/actuator/health":                 `"diskSpace"`,
		"/actuator/info":                   `"goVersion"`,
		"/actuator/prometheus":             "mealsync_build_info{",
		"/actuator/metrics":                `"names"`,
		"/actuator/metrics/mealsync.ready": `"VALUE"`,
		"/actuator/no-such-endpoint":       `"errors":[{"field":"Resource"`,
	} {
		code, body := get(t, s.ops+path)
		wantCode := http.StatusOK
		if strings.Contains(path, "no-such") {
			wantCode = http.StatusNotFound
		}
		if code != wantCode || !strings.Contains(body, want) {
			t.Errorf("ops %s: %d %.200q, want %d with %q", path, code, body, wantCode, want)
		}
	}
	for _, path := range []string{"/actuator/info", "/actuator/prometheus", "/actuator/metrics"} {
		if code, _ := get(t, s.base+path); code != http.StatusNotFound {
			t.Errorf("the API port answers %s with %d, want 404", path, code)
		}
	}

	opsAddr := strings.TrimPrefix(s.ops, "http://")
	s.shutdown(t)
	c, err := net.Dial("tcp", opsAddr)
	if err == nil {
		c.Close()
		t.Fatalf("the ops listener %s still accepts connections after serve returned", opsAddr)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial the stopped ops listener: %v, want connection refused", err)
	}
}

// A taken ops port stops the start with an error that names the variable,
// and leaves the API port free again.
func TestOpsListenerPortTaken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	api := freePort(t)
	vars := map[string]string{
		"MEALSYNC_ADDR": "127.0.0.1:" + api, "MEALSYNC_OPS_ADDR": taken.Addr().String(),
		"MEALSYNC_DATABASE_URL": "sqlite:" + t.TempDir() + "/m.db",
	}
	err = run(context.Background(), []string{"mealsync", "serve"}, envFunc(vars), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "MEALSYNC_OPS_ADDR") || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("serve with a taken ops port: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+api)
	if err != nil {
		t.Fatalf("the API port is still held after the failed start: %v", err)
	}
	ln.Close()
}

// MEALSYNC_OPS_ADDR=off: no ops listener, and the server runs.
func TestOpsListenerOff(t *testing.T) {
	s := startServer(t, map[string]string{"MEALSYNC_DATABASE_URL": "sqlite:" + t.TempDir() + "/m.db", "MEALSYNC_OPS_ADDR": "off"})
	if s.ops != "http://off" {
		t.Fatalf("listening line says ops at %s, want off", s.ops)
	}
	if code, _ := get(t, s.base+"/actuator/health/readiness"); code != http.StatusOK {
		t.Fatalf("readiness: %d", code)
	}
}

// MEALSYNC_CORS_ORIGINS reaches the API: a preflight from a listed origin is
// allowed, one from another origin is not.
func TestCORSOriginsReachTheServer(t *testing.T) {
	s := startServer(t, map[string]string{
		"MEALSYNC_DATABASE_URL": "sqlite:" + t.TempDir() + "/m.db", "MEALSYNC_CORS_ORIGINS": "https://app.example.com",
	})
	for origin, want := range map[string]string{"https://app.example.com": "https://app.example.com", "https://other.example.com": ""} {
		req, _ := http.NewRequest("OPTIONS", s.base+"/api/v1/users/login", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Access-Control-Allow-Origin"); resp.StatusCode != http.StatusNoContent || got != want {
			t.Errorf("preflight from %s: %d, Allow-Origin %q; want 204, %q", origin, resp.StatusCode, got, want)
		}
	}
}
