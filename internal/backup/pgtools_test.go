package backup_test

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/mealsync/mealsync/internal/backup"
)

// fakeTool writes an executable shell script named name into a new
// directory and returns options whose PATH is only that directory. The
// script answers --version with version and otherwise runs body.
func fakeTool(t *testing.T, name, version, body string) (backup.Options, string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the fake client tools are shell scripts")
	}
	dir := t.TempDir()
	script := fmt.Sprintf("#!/bin/sh\nif [ \"$1\" = --version ]; then echo '%s (PostgreSQL) %s'; exit 0; fi\n%s\n", name, version, body)
	if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	opt := options()
	opt.Getenv = func(k string) string {
		if k == "PATH" {
			return dir
		}
		return ""
	}
	return backup.WithToolGlobs(opt), dir
}

// requireEmptyDir fails unless dir holds no file: a failed backup leaves
// nothing behind, not even its temporary file.
func requireEmptyDir(t *testing.T, dir string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		t.Errorf("the failed backup left %s behind", e.Name())
	}
}

func TestBackupWithoutPgDump(t *testing.T) {
	t.Parallel()
	opt := backup.WithToolGlobs(options())
	opt.Getenv = func(k string) string { return map[string]string{"PATH": t.TempDir()}[k] }
	out := t.TempDir()
	src := backup.Database{Kind: backup.KindPostgres, URL: "postgres://nobody@127.0.0.1:1/none?sslmode=disable"}
	_, err := backup.Create(t.Context(), src, out+"/", opt)
	if !errors.Is(err, backup.ErrToolMissing) || !strings.Contains(err.Error(), "postgresql-client") {
		t.Fatalf("Create = %v; want pg_dump missing, with what to install", err)
	}
	requireEmptyDir(t, out)
}

// TestBackupRefusesAnOldPgDump: pg_dump refuses a server newer than
// itself; the backup says so, and which client to install, before trying.
func TestBackupRefusesAnOldPgDump(t *testing.T) {
	t.Parallel()
	e := postgresEnv(t)
	opt, _ := fakeTool(t, "pg_dump", "9.6.24", "echo should not run >&2; exit 1")
	out := t.TempDir()
	_, err := backup.Create(t.Context(), e.src, out+"/", opt)
	if !errors.Is(err, backup.ErrToolVersion) || !strings.Contains(err.Error(), "pg_dump found is 9.6.24") ||
		!strings.Contains(err.Error(), "postgresql-client-") {
		t.Fatalf("Create = %v; want a version mismatch naming both versions and the package", err)
	}
	requireEmptyDir(t, out)
}

// TestRestoreRefusesAnOldPgRestore: an archive of a newer pg_dump cannot be
// read by an older pg_restore.
func TestRestoreRefusesAnOldPgRestore(t *testing.T) {
	t.Parallel()
	e := postgresEnv(t)
	mustWrite(t, e.store)
	path := copyBackup(t, mustBackup(t, e).Path)
	editMetadata(func(m map[string]any) { m["pg_dump_version"] = "99.1" })(t, path)
	target := e.empty(t)
	_, err := backup.Restore(t.Context(), path, target, options())
	if !errors.Is(err, backup.ErrToolVersion) || !strings.Contains(err.Error(), "written by pg_dump 99.1") {
		t.Fatalf("Restore = %v; want a version mismatch", err)
	}
	requireUntouched(t, target)
}

// TestPasswordStaysOffTheCommandLine runs a fake pg_dump that records its
// arguments and environment: the password is in PGPASSWORD only, and in no
// error message.
func TestPasswordStaysOffTheCommandLine(t *testing.T) {
	t.Parallel()
	e := postgresEnv(t)
	const secret = "s3cret-Pa55"
	u, err := url.Parse(e.src.URL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), secret) // the test server trusts local users
	src := backup.Database{Kind: backup.KindPostgres, URL: u.String()}
	opt, dir := fakeTool(t, "pg_dump", "99.0", `d=${0%/*}
printf '%s\n' "$@" > "$d/args"
printf '%s' "$PGPASSWORD" > "$d/password"
echo "pg_dump: error: this is a fake" >&2
exit 1`)
	out := t.TempDir()
	_, err = backup.Create(t.Context(), src, out+"/", opt)
	if err == nil || !strings.Contains(err.Error(), "this is a fake") {
		t.Fatalf("Create = %v; want the fake pg_dump's failure", err)
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("the error shows the password: %v", err)
	}
	args, _ := os.ReadFile(filepath.Join(dir, "args"))
	password, _ := os.ReadFile(filepath.Join(dir, "password"))
	if strings.Contains(string(args), secret) {
		t.Errorf("pg_dump's arguments hold the password:\n%s", args)
	}
	for _, want := range []string{"--format=custom", "--no-owner", "--no-privileges", "--snapshot=", "--dbname=postgres://"} {
		if !strings.Contains(string(args), want) {
			t.Errorf("pg_dump's arguments lack %s:\n%s", want, args)
		}
	}
	if string(password) != secret {
		t.Errorf("PGPASSWORD = %q, want the URL's password", password)
	}
	requireEmptyDir(t, out)
}

// TestPostgresRestoreIsOneTransaction makes pg_restore fail late, after the
// tables and their rows are in: a sequence in the target takes the name of
// one of the backup's indexes. The single transaction rolls everything back.
func TestPostgresRestoreIsOneTransaction(t *testing.T) {
	t.Parallel()
	e := postgresEnv(t)
	mustWrite(t, e.store)
	res := mustBackup(t, e)
	index := queryStrings(t, e.store.SQL(), `SELECT indexname FROM pg_indexes
		WHERE schemaname = 'public' AND indexname NOT LIKE '%pkey' ORDER BY indexname LIMIT 1`)
	target := e.empty(t)
	db := open(t, target)
	if _, err := db.SQL().ExecContext(t.Context(), `CREATE SEQUENCE "`+index[0]+`"`); err != nil {
		t.Fatal(err)
	}
	_, err := backup.Restore(t.Context(), res.Path, target, options())
	if err == nil || !strings.Contains(err.Error(), "rolled back") || !strings.Contains(err.Error(), index[0]) {
		t.Fatalf("Restore = %v; want pg_restore's failure on %s, rolled back", err, index[0])
	}
	requireUntouched(t, target)
}
