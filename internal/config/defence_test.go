package config

import (
	"bytes"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
)

func TestOpsAddr(t *testing.T) {
	for _, c := range []struct {
		value, want string
	}{
		{"", DefaultOpsAddr}, // unset or empty: loopback
		{"0.0.0.0:9090", "0.0.0.0:9090"},
		{":9081", ":9081"},
		{"off", ""},
		{"OFF", ""},
		{"127.0.0.1:0", "127.0.0.1:0"}, // as MEALSYNC_ADDR in tests: two free ports
	} {
		cfg, err := Load(env(map[string]string{"MEALSYNC_ADDR": "127.0.0.1:0", "MEALSYNC_OPS_ADDR": c.value}), nil, io.Discard)
		if err != nil || cfg.OpsAddr != c.want {
			t.Errorf("MEALSYNC_OPS_ADDR=%q: %q, %v; want %q", c.value, cfg.OpsAddr, err, c.want)
		}
	}
	for _, bad := range []map[string]string{
		{"MEALSYNC_OPS_ADDR": "9081"},
		{"MEALSYNC_OPS_ADDR": "localhost"},
		{"MEALSYNC_ADDR": "127.0.0.1:8081", "MEALSYNC_OPS_ADDR": "127.0.0.1:8081"},
	} {
		if _, err := Load(env(bad), nil, io.Discard); err == nil || !strings.Contains(err.Error(), "MEALSYNC_OPS_ADDR") {
			t.Errorf("%v: error %v, want one naming MEALSYNC_OPS_ADDR", bad, err)
		}
	}
}

func TestCORSOrigins(t *testing.T) {
	cfg, err := Load(env(nil), nil, io.Discard)
	if err != nil || cfg.CORSOrigins != nil {
		t.Fatalf("default: %v, %v; want no origin", cfg.CORSOrigins, err)
	}
	cfg, err = Load(env(map[string]string{
		"MEALSYNC_CORS_ORIGINS": "https://App.Example.com, http://localhost:3000,https://app.example.com",
	}), nil, io.Discard)
	want := []string{"https://app.example.com", "http://localhost:3000"}
	if err != nil || !slices.Equal(cfg.CORSOrigins, want) {
		t.Fatalf("origins %v, %v; want %v", cfg.CORSOrigins, err, want)
	}
	for _, bad := range []string{
		"*", "https://*.example.com", "app.example.com", "ftp://example.com", "https://",
		"https://app.example.com/", "https://app.example.com/path", "https://app.example.com?x=1",
		"https://user@app.example.com", "https://app.example.com:443", "http://app.example.com:80",
		"https://app.example.com:0", "https://app.example.com:99999", "null",
	} {
		_, err := Load(env(map[string]string{"MEALSYNC_CORS_ORIGINS": "https://ok.example.com," + bad}), nil, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "MEALSYNC_CORS_ORIGINS") || !strings.Contains(err.Error(), bad) {
			t.Errorf("%q: error %v, want one naming the variable and the value", bad, err)
		}
	}
}

func TestOpsAndCORSAreLogged(t *testing.T) {
	cfg, err := Load(env(map[string]string{"MEALSYNC_OPS_ADDR": "off", "MEALSYNC_CORS_ORIGINS": "https://app.example.com"}), nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("starting", "config", cfg)
	for _, want := range []string{`"ops_addr":"off"`, `"cors_origins":["https://app.example.com"]`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log lacks %s: %s", want, buf.String())
		}
	}
}
