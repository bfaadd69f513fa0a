package scripts_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/testdb"
	"github.com/mealsync/mealsync/internal/testenv"
)

// TestInitialSetupArchivesARealPostgreSQL runs --pgbackrest against a real
// PostgreSQL standing in for the host's fresh cluster (no archiving yet),
// with the real psql, runuser and pgbackrest: the script writes its conf.d
// drop-in (the server's postgresql.conf includes that folder) and restarts
// the server — pg_ctlcluster's stub hands the restart to the test, which owns
// the server and restarts it for real — then creates the stanza, checks
// archiving and takes the first full backup with the pgbackrest.conf it
// wrote; the server's own archive_command, as the drop-in sets it, then
// pushes a new WAL segment to the repository. A second run changes nothing.
//
// What the sandbox moves: the script writes its files under MEALSYNC_SYSROOT
// but pgbackrest reads real paths, so the environment points pgBackRest at the
// sandbox (PGBACKREST_CONFIG, _CONFIG_INCLUDE_PATH, _REPO1_PATH: the same file
// and folder the script wrote and made), at the test server's socket
// (_PG1_SOCKET_PATH, PGHOST for psql) and at a scratch log and lock folder.
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
	db := testdb.StartPrimary(t, fmt.Sprintf("include_dir = '%s'", filepath.Join(sb.Root, pgConfDir, "conf.d")))
	t.Setenv("PGBACKREST_PG1_SOCKET_PATH", db.Dir)
	pgbrEnv["PGBACKREST_PG1_SOCKET_PATH"] = db.Dir
	for k, v := range pgbrEnv {
		sb.Env[k] = v
	}
	sb.Env["PGHOST"] = db.Dir
	sb.WriteState("pg-clusters", fmt.Sprintf("15 main %d online postgres %s %s\n", db.Port, db.DataDir(), filepath.Join(db.Dir, "postgres.log")))

	args := []string{"--mode", "process", "--pgbackrest", "--pg-cluster", "15/main"}
	handoff := filepath.Join(sb.State, "pg-ctl-handoff")
	if err := os.Mkdir(handoff, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(handoff, "done"), 0o666); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	r := sb.runServingRestarts(db, runOpts{Apply: true}, initialSetup, args...)
	if r.Code != 0 {
		t.Fatalf("setup failed:\n%s\n%s", r, db.Log())
	}
	t.Logf("FIGURE initial-setup.sh --pgbackrest on a fresh cluster (restart, stanza-create, check, first full backup): %.1fs", time.Since(began).Seconds())
	mustContain(t, "stdout", r.Stdout, "change: restart PostgreSQL 15/main (pg_ctlcluster 15 main restart)",
		"change: create the stanza mealsync in /var/lib/pgbackrest", "change: check that PostgreSQL's WAL reaches the repository",
		"change: take the first full backup", "change: create /etc/cron.d/mealsync-pgbackrest")
	if got := readState(t, sb, "pg-ctl"); got != "15 main restart\n" {
		t.Errorf("PostgreSQL was told %q, want one restart", got)
	}

	admin := db.DB(t, "postgres")
	for name, want := range map[string]string{
		"archive_mode": "on", "archive_timeout": "1min", "wal_level": "replica",
		"archive_command": "pgbackrest --stanza=mealsync archive-push %p",
	} {
		var got string
		if err := admin.QueryRow("SHOW " + name).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("the server's %s after the run is %q, want the drop-in's %q", name, got, want)
		}
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
	segment := testenv.ArchiveNewSegment(t, db)
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
	mustContain(t, "second run", again.Stdout, "PostgreSQL 15/main already archives with pgBackRest", "a full backup is already in",
		"no failure since the last archived segment")
	sb.requireUnchanged(before, again)
	if got := readState(t, sb, "pg-ctl"); got != "15 main restart\n" {
		t.Errorf("PostgreSQL was told %q after the second run, want still the one restart", got)
	}
	if n := len(readInfo().Backup); n != 1 {
		t.Errorf("%d backups after the second run, want still 1", n)
	}
	if strings.Contains(again.Stdout, "pgbackrest check") && !strings.Contains(again.Stdout, "archiving already checked") {
		t.Errorf("the second run checked again:\n%s", again)
	}
}

// runServingRestarts runs scripts/NAME like RunWith while serving the
// restarts its pg_ctlcluster stub hands over (see testdata/bin/pg_ctlcluster):
// db stops and starts again, for real, and the stub gets the outcome.
func (sb *sandbox) runServingRestarts(db *testdb.Server, o runOpts, name string, args ...string) result {
	sb.t.Helper()
	t := sb.t
	argv, env := sb.command(o, name, args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir, cmd.Env = sb.Root, env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// Its own process group, killed with the test: a stub waiting on the
	// FIFO must not outlive a failed test.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	handoff := filepath.Join(sb.State, "pg-ctl-handoff")
	deadline := time.After(3 * time.Minute)
	tick := time.NewTicker(testenv.PollInterval)
	defer tick.Stop()
	for {
		select {
		case err := <-exited:
			r := result{Stdout: stdout.String(), Stderr: stderr.String()}
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				r.Code = ee.ExitCode()
			} else if err != nil {
				t.Fatalf("running %v: %v", argv, err)
			}
			return r
		case <-deadline:
			t.Fatalf("%v did not finish in 3 minutes\n%s\n%s", argv, stdout.String(), stderr.String())
		case <-tick.C: // the stub leaves a file: no event to wait on
		}
		req, err := os.ReadFile(filepath.Join(handoff, "request"))
		if err != nil {
			continue
		}
		if err := os.Remove(filepath.Join(handoff, "request")); err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(string(req)) != "15 main restart" {
			t.Fatalf("pg_ctlcluster was asked to %q; this test serves only a restart", req)
		}
		db.Stop(t, "fast")
		db.Start(t)
		if err := os.WriteFile(filepath.Join(handoff, "done"), []byte("0\n"), 0); err != nil {
			t.Fatal(err)
		}
	}
}
