package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/mealsync/mealsync/internal/testdb"
)

// runCommand runs `mealsync args…` with only vars (and PATH and HOME, for
// the PostgreSQL client tools) in the environment.
func runCommand(t *testing.T, vars map[string]string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	env := map[string]string{"PATH": os.Getenv("PATH"), "HOME": os.Getenv("HOME")}
	for k, v := range vars {
		env[k] = v
	}
	var out, errOut bytes.Buffer
	err = run(t.Context(), append([]string{"mealsync"}, args...), envFunc(env), &out, &errOut)
	return out.String(), errOut.String(), err
}

// requirePGClient skips, or fails in CI, without pg_dump and pg_restore.
func requirePGClient(t *testing.T) {
	t.Helper()
	for _, name := range []string{"pg_dump", "pg_restore"} {
		if _, err := exec.LookPath(name); err == nil {
			continue
		}
		if m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/" + name); len(m) > 0 {
			continue
		}
		testdb.SkipOrFail(t, "%s is not installed (Debian: postgresql-client)", name)
	}
}

var (
	backupPathRE = regexp.MustCompile(`(?m)^backup written: (.+)$`)
	backupSumRE  = regexp.MustCompile(`(?m)^sha256: ([0-9a-f]{64})$`)
)

// TestBackupAndRestoreCommands takes a backup of a seeded database with
// `mealsync backup`, restores it into an empty one with `mealsync restore`,
// and checks the restored database is the whole catalogue; a second restore
// into it is refused.
func TestBackupAndRestoreCommands(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			src, dst := "sqlite:"+filepath.Join(dir, "src.db"), "sqlite:"+filepath.Join(dir, "restored", "mealsync.db")
			if kind == "postgres" {
				src = testdb.PostgresURL(t)
				requirePGClient(t)
				dst = testdb.PostgresURL(t)
			}
			vars := map[string]string{"MEALSYNC_DATABASE_URL": src}
			for _, cmd := range []string{"migrate", "seed"} {
				if _, stderr, err := runCommand(t, vars, cmd); err != nil {
					t.Fatalf("%s: %v\n%s", cmd, err, stderr)
				}
			}

			out, stderr, err := runCommand(t, vars, "backup", "-o", filepath.Join(dir, "backups")+"/")
			if err != nil {
				t.Fatalf("backup: %v\n%s", err, stderr)
			}
			path, sum := backupPathRE.FindStringSubmatch(out), backupSumRE.FindStringSubmatch(out)
			if path == nil || sum == nil || !strings.Contains(out, "metadata: "+path[1]+".json") {
				t.Fatalf("backup printed:\n%s\nwant where it went, its checksum and its metadata", out)
			}
			b, err := os.ReadFile(path[1])
			if err != nil {
				t.Fatal(err)
			}
			if got := sha256.Sum256(b); hex.EncodeToString(got[:]) != sum[1] {
				t.Errorf("printed sha256 %s, the file's is %x", sum[1], got)
			}

			out, stderr, err = runCommand(t, vars, "restore", "-i", path[1], "-database-url", dst)
			if err != nil {
				t.Fatalf("restore: %v\n%s", err, stderr)
			}
			if !strings.Contains(out, "checksum and row counts verified") {
				t.Errorf("restore printed:\n%s", out)
			}
			// Seeding adds the catalogue's missing recipes: none are.
			out, stderr, err = runCommand(t, map[string]string{"MEALSYNC_DATABASE_URL": dst}, "seed")
			if err != nil || !strings.Contains(out, "added 0 recipes") {
				t.Errorf("seed on the restored database: %v\n%s%s", err, out, stderr)
			}

			_, _, err = runCommand(t, vars, "restore", "-i", path[1], "-database-url", dst)
			if err == nil || !strings.Contains(err.Error(), "not empty") {
				t.Errorf("a second restore into the same database: %v; want a refusal", err)
			}
		})
	}
}

func TestBackupCommandMistakes(t *testing.T) {
	dir := t.TempDir()
	vars := map[string]string{"MEALSYNC_DATABASE_URL": "sqlite:" + filepath.Join(dir, "m.db")}
	for _, args := range [][]string{{"backup", "-h"}, {"restore", "--help"}} {
		_, stderr, err := runCommand(t, vars, args...)
		if err != nil || !strings.Contains(stderr, "Usage: mealsync "+args[0]) {
			t.Errorf("%v: %v\n%s", args, err, stderr)
		}
	}
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"restore"}, "-i FILE is required"},
		{[]string{"restore", "-i", filepath.Join(dir, "nothing.db")}, "no backup at"},
		{[]string{"restore", "-force", "-i", "x"}, "flag provided but not defined: -force"},
		{[]string{"backup", "extra"}, `unexpected argument "extra"`},
		{[]string{"backup", "-o", filepath.Join(dir, "out") + "/"}, "no SQLite database"},
	} {
		_, _, err := runCommand(t, vars, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%v: %v; want an error saying %q", c.args, err, c.says)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "m.db")); err == nil {
		t.Error("a failed command created the database")
	}
}
