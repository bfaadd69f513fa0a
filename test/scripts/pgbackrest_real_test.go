package scripts_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/testdb"
	"github.com/mealsync/mealsync/internal/testenv"
)

// TestInitialSetupArchivesARealPostgreSQL runs --pgbackrest against a real
// PostgreSQL standing in for the host's cluster, with the real psql, runuser
// and pgbackrest: the server reads the script's conf.d drop-in (its
// postgresql.conf includes that folder), the script reloads it, creates the
// stanza, checks archiving and takes the first full backup with the
// pgbackrest.conf it wrote; then the server's own archive_command, as the
// drop-in sets it, pushes a new WAL segment to the repository. A second run
// changes nothing.
//
// What the sandbox moves: the script writes its files under MEALSYNC_SYSROOT
// but pgbackrest reads real paths, so the environment points pgBackRest at the
// sandbox (PGBACKREST_CONFIG, _CONFIG_INCLUDE_PATH, _REPO1_PATH: the same file
// and folder the script wrote and made), at the test server's socket
// (_PG1_SOCKET_PATH, PGHOST for psql) and at a scratch log and lock folder.
// The server already runs with archive_mode on, so the script reloads and does
// not restart it (the restart is pg_ctlcluster's, stubbed; the stub tests
// cover when it happens).
func TestInitialSetupArchivesARealPostgreSQL(t *testing.T) {
	requireRoot(t)
	for _, cmd := range []string{"pgbackrest", "psql", "runuser"} {
		if _, err := exec.LookPath(cmd); err != nil {
			testdb.SkipOrFail(t, "%s is not installed (Debian's pgbackrest, postgresql-client and util-linux packages)", cmd)
		}
	}
	sb := newSandbox(t)
	sb.withPostgres(false)
	// The real postgres user runs the server, and the script must find it.
	for _, rel := range []string{"users/postgres", "bin/psql", "bin/runuser", "bin/pgbackrest"} {
		if err := os.Remove(filepath.Join(sb.State, rel)); err != nil {
			t.Fatal(err)
		}
	}
	scratch := testdb.ServerDir(t)
	pgbrEnv := map[string]string{
		"PGBACKREST_CONFIG":              filepath.Join(sb.Root, pgbackrestRC),
		"PGBACKREST_CONFIG_INCLUDE_PATH": filepath.Join(sb.Root, "etc", "pgbackrest", "conf.d"),
		"PGBACKREST_REPO1_PATH":          filepath.Join(sb.Root, "var", "lib", "pgbackrest"),
		"PGBACKREST_LOG_PATH":            scratch,
		"PGBACKREST_LOCK_PATH":           filepath.Join(scratch, "lock"),
	}
	// The server's archive_command runs pgbackrest with the server's environment.
	for k, v := range pgbrEnv {
		t.Setenv(k, v)
	}
	db := testdb.StartPrimary(t, "archive_mode = on",
		fmt.Sprintf("include_dir = '%s'", filepath.Join(sb.Root, pgConfDir, "conf.d")))
	t.Setenv("PGBACKREST_PG1_SOCKET_PATH", db.Dir)
	pgbrEnv["PGBACKREST_PG1_SOCKET_PATH"] = db.Dir
	for k, v := range pgbrEnv {
		sb.Env[k] = v
	}
	sb.Env["PGHOST"] = db.Dir
	sb.WriteState("pg-clusters", fmt.Sprintf("15 main %d online postgres %s %s\n", db.Port, db.DataDir(), filepath.Join(db.Dir, "postgres.log")))

	args := []string{"--mode", "process", "--pgbackrest", "--pg-cluster", "15/main"}
	began := time.Now()
	r := sb.RunWith(runOpts{Apply: true}, initialSetup, args...)
	if r.Code != 0 {
		t.Fatalf("setup failed:\n%s\n%s", r, db.Log())
	}
	t.Logf("FIGURE initial-setup.sh --pgbackrest on a fresh cluster (reload, stanza-create, check, first full backup): %.1fs", time.Since(began).Seconds())
	mustContain(t, "stdout", r.Stdout, "change: reload PostgreSQL 15/main's configuration",
		"change: create the stanza mealsync in /var/lib/pgbackrest", "change: check that PostgreSQL's WAL reaches the repository",
		"change: take the first full backup", "change: create /etc/cron.d/mealsync-pgbackrest")
	if _, err := os.Stat(filepath.Join(sb.State, "pg-ctl")); err == nil {
		t.Errorf("the script restarted or reloaded through pg_ctlcluster although archive_mode was on: %s", readState(t, sb, "pg-ctl"))
	}

	admin := db.DB(t, "postgres")
	var command string
	if err := admin.QueryRow("SHOW archive_command").Scan(&command); err != nil {
		t.Fatal(err)
	}
	if command != "pgbackrest --stanza=mealsync archive-push %p" {
		t.Fatalf("the server's archive_command after the run is %q, not the drop-in's", command)
	}

	// The repository holds the full backup the script took.
	type info struct {
		Name   string
		Status struct{ Code int }
		Backup []struct{ Type, Label string }
	}
	readInfo := func() info {
		t.Helper()
		var infos []info
		out := db.Run(t, "pgbackrest", "--stanza=mealsync", "--output=json", "info")
		if err := json.Unmarshal(out, &infos); err != nil || len(infos) != 1 {
			t.Fatalf("pgbackrest info: %v\n%s", err, out)
		}
		return infos[0]
	}
	got := readInfo()
	if got.Name != "mealsync" || got.Status.Code != 0 || len(got.Backup) != 1 || got.Backup[0].Type != "full" {
		t.Fatalf("pgbackrest info after the run: %+v, want stanza mealsync, status ok, one full backup", got)
	}

	// The server archives by itself: a new segment reaches the repository
	// through the drop-in's archive_command, and none fails.
	if _, err := admin.Exec("CREATE TABLE after_setup AS SELECT g FROM generate_series(1, 1000) g"); err != nil {
		t.Fatal(err)
	}
	// Failures before the stanza existed are expected (the server archives
	// from its start; the archiver retries): none may come after.
	var segment string
	var failedBefore int
	if err := admin.QueryRow("SELECT failed_count FROM pg_stat_archiver").Scan(&failedBefore); err != nil {
		t.Fatal(err)
	}
	if err := admin.QueryRow("SELECT pg_walfile_name(pg_switch_wal())").Scan(&segment); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, time.Minute, "segment "+segment+" to be archived", func() bool {
		var last string
		var failed int
		err := admin.QueryRow("SELECT coalesce(last_archived_wal, ''), failed_count FROM pg_stat_archiver").Scan(&last, &failed)
		if err == nil && failed > failedBefore {
			t.Fatalf("archive_command failed %d times after the setup:\n%s", failed-failedBefore, db.Log())
		}
		return err == nil && last >= segment
	})
	repoSegments, _ := filepath.Glob(filepath.Join(pgbrEnv["PGBACKREST_REPO1_PATH"], "archive", "mealsync", "*", "*", segment+"-*"))
	if len(repoSegments) != 1 {
		t.Errorf("segment %s is not in the repository: %v", segment, repoSegments)
	}

	// Again: everything is in place, nothing runs.
	sb.ResetMutations()
	before := sb.Snapshot()
	again := sb.RunWith(runOpts{Apply: true}, initialSetup, args...)
	if again.Code != 0 {
		t.Fatalf("second run failed:\n%s", again)
	}
	if c := again.Lines("change: "); len(c) > 0 {
		t.Errorf("the second run changed things: %v", c)
	}
	mustContain(t, "second run", again.Stdout, "PostgreSQL 15/main already archives with pgBackRest", "a full backup is already in")
	sb.requireUnchanged(before, again)
	if n := len(readInfo().Backup); n != 1 {
		t.Errorf("%d backups after the second run, want still 1", n)
	}
	if strings.Contains(again.Stdout, "pgbackrest check") && !strings.Contains(again.Stdout, "archiving already checked") {
		t.Errorf("the second run checked again:\n%s", again)
	}
}
