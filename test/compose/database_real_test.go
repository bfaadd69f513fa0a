package compose_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/testdb"
	"github.com/mealsync/mealsync/internal/testenv"
)

// TestProdDatabaseArchivesAndBacksUp runs what the database profile's two
// containers run, without containers (no Docker engine here): a real
// PostgreSQL with the postgres service's command-line settings, pgBackRest
// reading deploy/postgres/pgbackrest.conf unmodified, and the pgbackrest
// service's deploy/postgres/backup-schedule.sh. The schedule's start creates
// the stanza, checks archiving and takes a full backup, and starting again
// adds nothing; --once takes a differential backup; --healthy says whether
// the newest backup is recent; and the server's own archive_command pushes
// a new WAL segment to the repository.
//
// What moves: the containers' paths (pg1-path, pg1-socket-path, pg1-port,
// repo1-path: the mounts TestProdDatabaseProfileWiring checks) become the
// test server's, through pgBackRest's environment (PGBACKREST_PG1_PATH, ...),
// which overrides the file; so do the lock folder and the include folder
// (a copy of deploy/postgres/conf.d). The sleep until 01:30 is not run.
func TestProdDatabaseArchivesAndBacksUp(t *testing.T) {
	for _, cmd := range []string{"pgbackrest", "jq"} {
		if _, err := exec.LookPath(cmd); err != nil {
			testdb.SkipOrFail(t, "%s is not installed (Debian's %s package)", cmd, cmd)
		}
	}
	p := loadProjectProfiles(t, prodFile, databaseProfileEnv(t), databaseProfile)
	settings := postgresSettings(t, service(t, p, "postgres"))

	// The files as the containers see them, where the server's user can read them.
	files := testdb.ServerDir(t)
	conf := filepath.Join(files, "pgbackrest.conf")
	schedule := filepath.Join(files, "mealsync-backup-schedule")
	copyRepoFile(t, "deploy/postgres/pgbackrest.conf", conf, 0o644)
	copyRepoFile(t, "deploy/postgres/backup-schedule.sh", schedule, 0o755)
	includeDir := filepath.Join(files, "conf.d")
	examples, _ := filepath.Glob(filepath.Join(repoRoot(t), "deploy", "postgres", "conf.d", "*"))
	for _, f := range examples {
		copyRepoFile(t, filepath.Join("deploy", "postgres", "conf.d", filepath.Base(f)), filepath.Join(includeDir, filepath.Base(f)), 0o644)
	}
	repo := testdb.ServerDir(t)
	for k, v := range map[string]string{
		"PGBACKREST_CONFIG":              conf,
		"PGBACKREST_CONFIG_INCLUDE_PATH": includeDir,
		"PGBACKREST_REPO1_PATH":          repo,
		"PGBACKREST_LOCK_PATH":           filepath.Join(files, "lock"),
	} {
		t.Setenv(k, v) // the server's archive_command and the schedule inherit them
	}
	var lines []string
	for k, v := range settings {
		lines = append(lines, fmt.Sprintf("%s = '%s'", k, strings.ReplaceAll(v, "'", "''")))
	}
	db := testdb.StartPrimary(t, lines...)
	t.Setenv("PGBACKREST_PG1_PATH", db.DataDir())
	t.Setenv("PGBACKREST_PG1_SOCKET_PATH", db.Dir)
	t.Setenv("PGBACKREST_PG1_PORT", strconv.Itoa(db.Port))
	// archive-push finds the WAL relative to pg1-path, known only now: the
	// server starts again to inherit it.
	db.Stop(t, "fast")
	db.Start(t)

	began := time.Now()
	db.Run(t, schedule, "--init")
	t.Logf("FIGURE the backup service's start on a fresh database (stanza-create, check, first full backup): %.1fs", time.Since(began).Seconds())
	backups := func() []string {
		t.Helper()
		var info []struct {
			Status struct{ Code int }
			Backup []struct{ Type string }
		}
		out := db.Run(t, "pgbackrest", "--stanza=mealsync", "--output=json", "info")
		if err := json.Unmarshal(out, &info); err != nil || len(info) != 1 || info[0].Status.Code != 0 {
			t.Fatalf("pgbackrest info: %v\n%s", err, out)
		}
		var types []string
		for _, b := range info[0].Backup {
			types = append(types, b.Type)
		}
		return types
	}
	if got := backups(); strings.Join(got, ",") != "full" {
		t.Fatalf("backups after the start: %v, want one full", got)
	}
	db.Run(t, schedule, "--init") // a restarted container: the stanza is there, so is a backup
	if got := backups(); strings.Join(got, ",") != "full" {
		t.Fatalf("backups after starting again: %v, want still one full", got)
	}
	db.Run(t, schedule, "--once", "diff")
	if got := backups(); strings.Join(got, ",") != "full,diff" {
		t.Fatalf("backups after --once diff: %v, want full,diff", got)
	}

	db.Run(t, schedule, "--healthy")
	if out, err := runAsServer(schedule, "--healthy", "MEALSYNC_BACKUP_MAX_AGE=0"); !isExit(err, 1) || !strings.Contains(out, "more than 0 s ago") {
		t.Errorf("--healthy with MEALSYNC_BACKUP_MAX_AGE=0: %v\n%s\nwant exit 1: the newest backup is too old", err, out)
	}
	if out, err := runAsServer(schedule, "--once", "weekly"); !isExit(err, 2) {
		t.Errorf("--once weekly: %v\n%s\nwant a usage error", err, out)
	}

	// The server archives by itself, with the command-line archive_command.
	// Failures before the stanza existed are expected (the server archives
	// from its start; the archiver retries): none may come after.
	segment := testenv.ArchiveNewSegment(t, db)
	if found, _ := filepath.Glob(filepath.Join(repo, "archive", "mealsync", "*", "*", segment+"-*")); len(found) != 1 {
		t.Errorf("segment %s is not in the repository: %v", segment, found)
	}
}

// runAsServer runs the schedule as the server's user (runuser when the test
// runs as root, as CI does) with extra environment, for outcomes db.Run
// would fail the test on.
func runAsServer(schedule, arg, env string) (string, error) {
	argv := []string{schedule}
	if arg != "" {
		argv = append(argv, strings.Fields(arg)...)
	}
	if os.Geteuid() == 0 {
		argv = append([]string{"runuser", "-u", "postgres", "--"}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env)
	cmd.Dir = os.TempDir()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func isExit(err error, code int) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee) && ee.ExitCode() == code
}

func copyRepoFile(t *testing.T, rel, to string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, []byte(readRepoFile(t, rel)), mode); err != nil {
		t.Fatal(err)
	}
}
