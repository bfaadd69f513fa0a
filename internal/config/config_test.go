package config

import (
	"bytes"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	c, err := Load(env(nil), nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":8081" || c.Postgres() || c.SQLitePath() != "data/mealsync.db" || c.DataDir != "data" ||
		c.ShutdownDelay != 5*time.Second || c.ShutdownTimeout != 30*time.Second || c.LogFormat != "text" {
		t.Fatalf("defaults: %+v", c)
	}
	if err := c.ValidateSecrets(); err != nil {
		t.Fatalf("development runs with the default secret: %v", err)
	}
	if c.DBMaxOpenConns != 20 || c.DBMaxIdleConns != 20 {
		t.Fatalf("pool: %d open, %d idle; want 20 and 20 (the whole pool kept)", c.DBMaxOpenConns, c.DBMaxIdleConns)
	}
}

// Unset, the idle connections follow the pool size; set, they are as given
// and checked against it.
func TestIdleConnectionsFollowThePool(t *testing.T) {
	c, err := Load(env(map[string]string{"MEALSYNC_DB_MAX_OPEN_CONNS": "5"}), nil, io.Discard)
	if err != nil || c.DBMaxIdleConns != 5 {
		t.Fatalf("open 5, idle unset: %v, idle %d; want 5", err, c.DBMaxIdleConns)
	}
	c, err = Load(env(map[string]string{"MEALSYNC_DB_MAX_OPEN_CONNS": "5", "MEALSYNC_DB_MAX_IDLE_CONNS": "2"}), nil, io.Discard)
	if err != nil || c.DBMaxIdleConns != 2 {
		t.Fatalf("open 5, idle 2: %v, idle %d; want 2", err, c.DBMaxIdleConns)
	}
	for _, idle := range []string{"6", "-1"} {
		if _, err := Load(env(map[string]string{"MEALSYNC_DB_MAX_OPEN_CONNS": "5", "MEALSYNC_DB_MAX_IDLE_CONNS": idle}), nil, io.Discard); err == nil {
			t.Errorf("open 5, idle %s: accepted", idle)
		}
	}
}

func TestFlagsOverrideEnvironment(t *testing.T) {
	c, err := Load(env(map[string]string{"MEALSYNC_ADDR": ":9000"}), []string{"-addr", "127.0.0.1:9001", "-database-url", "postgres://u@h/db"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9001" || !c.Postgres() {
		t.Fatalf("flags: %+v", c)
	}
}

func TestOldJWTSecretNameIsRead(t *testing.T) {
	secret := strings.Repeat("s", 40)
	c, err := Load(env(map[string]string{"MEALSYNC_ENV": "production", "JWT_SECRET": secret, "MEALSYNC_DATABASE_URL": "sqlite:/data/m.db"}), nil, io.Discard)
	if err != nil || c.JWTSecret != secret || c.ValidateSecrets() != nil || c.LogFormat != "json" {
		t.Fatalf("%v %+v", err, c)
	}
}

func TestTrustedProxies(t *testing.T) {
	c, err := Load(env(map[string]string{"MEALSYNC_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8"}), nil, io.Discard)
	if err != nil || len(c.TrustedProxies) != 2 || c.TrustedProxies[0].String() != "127.0.0.1/32" {
		t.Fatalf("%v %v", err, c.TrustedProxies)
	}
	if _, err := Load(env(map[string]string{"MEALSYNC_TRUSTED_PROXIES": "nginx"}), nil, io.Discard); err == nil {
		t.Fatal("a host name is not an address")
	}
}

// The logged configuration never shows a secret or a database password.
func TestLogMasksSecrets(t *testing.T) {
	secret := "a-very-secret-jwt-key-of-forty-bytes-xxxxx"
	c, err := Load(env(map[string]string{
		"MEALSYNC_JWT_SECRET":   secret,
		"MEALSYNC_DATABASE_URL": "postgres://app:hunter2hunter2@db:5432/meals?sslmode=require&password=qwerty123",
		"MEALSYNC_AI_PROVIDER":  "openai", "MEALSYNC_OPENAI_API_KEY": "sk-live-openai-key-123",
		"MEALSYNC_S3_BUCKET": "b", "MEALSYNC_S3_ENDPOINT": "s3:9000", "MEALSYNC_S3_ACCESS_KEY": "AKIAEXAMPLE", "MEALSYNC_S3_SECRET_KEY": "s3-secret-value-456",
	}), nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("starting", "config", c)
	out := buf.String()
	for _, leak := range []string{secret, "hunter2hunter2", "qwerty123", "sk-live-openai-key-123", "AKIAEXAMPLE", "s3-secret-value-456"} {
		if strings.Contains(out, leak) {
			t.Fatalf("log shows %q: %s", leak, out)
		}
	}
	if !strings.Contains(out, "app:xxxxx@db:5432") {
		t.Fatalf("database URL not shown redacted: %s", out)
	}
}

func TestProductionNeedsAnExplicitDatabase(t *testing.T) {
	_, err := Load(env(map[string]string{"MEALSYNC_ENV": "production", "MEALSYNC_DATABASE_URL": " "}), nil, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "MEALSYNC_DATABASE_URL is required in production") {
		t.Fatalf("an empty database URL in production: %v", err)
	}
	if _, err := Load(env(map[string]string{"MEALSYNC_ENV": "production"}), []string{"-database-url", "postgres://u@h/db"}, io.Discard); err != nil {
		t.Fatalf("the flag counts as explicit: %v", err)
	}
}

// A direct URL beside the database URL says the latter is pooled; LISTEN
// follows the direct URL unless given its own; a direct URL that is not
// PostgreSQL's, or beside SQLite, is refused.
func TestDirectDatabaseURL(t *testing.T) {
	const pooled, direct = "postgres://u@127.0.0.1:6432/db", "postgres://u@127.0.0.1:5432/db"
	c, err := Load(env(map[string]string{"MEALSYNC_DATABASE_URL": pooled}), nil, io.Discard)
	if err != nil || c.Pooled() || c.DirectURL() != pooled || c.ListenDatabaseURL != pooled {
		t.Fatalf("no direct URL: %v, pooled %v, direct %q, listen %q", err, c.Pooled(), c.DirectURL(), c.ListenDatabaseURL)
	}
	c, err = Load(env(map[string]string{"MEALSYNC_DATABASE_URL": pooled, "MEALSYNC_DIRECT_DATABASE_URL": direct}), nil, io.Discard)
	if err != nil || !c.Pooled() || c.DirectURL() != direct || c.ListenDatabaseURL != direct {
		t.Fatalf("direct URL: %v, pooled %v, direct %q, listen %q", err, c.Pooled(), c.DirectURL(), c.ListenDatabaseURL)
	}
	const listen = "postgres://u@10.0.0.9:5432/db"
	c, err = Load(env(map[string]string{"MEALSYNC_DATABASE_URL": pooled, "MEALSYNC_DIRECT_DATABASE_URL": direct,
		"MEALSYNC_LISTEN_DATABASE_URL": listen}), nil, io.Discard)
	if err != nil || c.ListenDatabaseURL != listen {
		t.Fatalf("a listen URL of its own: %v, listen %q", err, c.ListenDatabaseURL)
	}
	for _, bad := range []map[string]string{
		{"MEALSYNC_DATABASE_URL": pooled, "MEALSYNC_DIRECT_DATABASE_URL": "mysql://u@h/db"},
		{"MEALSYNC_DATABASE_URL": "sqlite:m.db", "MEALSYNC_DIRECT_DATABASE_URL": direct},
	} {
		if _, err := Load(env(bad), nil, io.Discard); err == nil || !strings.Contains(err.Error(), "MEALSYNC_DIRECT_DATABASE_URL") {
			t.Errorf("%v: %v, want the direct URL refused", bad, err)
		}
	}
}

// Replica URLs are a comma-separated list of PostgreSQL URLs beside a
// PostgreSQL primary; the lag limit defaults to 2 s.
func TestReplicaURLs(t *testing.T) {
	const primary = "postgres://u@db1:5432/db"
	c, err := Load(env(map[string]string{"MEALSYNC_DATABASE_URL": primary,
		"MEALSYNC_DATABASE_REPLICA_URLS": " postgres://u@db2:5432/db , postgres://u@db3:5432/db "}), nil, io.Discard)
	if err != nil || len(c.ReplicaURLs) != 2 || c.ReplicaURLs[1] != "postgres://u@db3:5432/db" || c.ReplicaMaxLag != 2*time.Second {
		t.Fatalf("%v: %q, max lag %s", err, c.ReplicaURLs, c.ReplicaMaxLag)
	}
	for _, bad := range []map[string]string{
		{"MEALSYNC_DATABASE_URL": primary, "MEALSYNC_DATABASE_REPLICA_URLS": "db2:5432"},
		{"MEALSYNC_DATABASE_URL": "sqlite:m.db", "MEALSYNC_DATABASE_REPLICA_URLS": "postgres://u@db2/db"},
		{"MEALSYNC_DATABASE_URL": primary, "MEALSYNC_REPLICA_MAX_LAG": "0s"},
	} {
		if _, err := Load(env(bad), nil, io.Discard); err == nil {
			t.Errorf("%v: accepted", bad)
		}
	}
}
