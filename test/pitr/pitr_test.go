// Package pitr_test is the point-in-time recovery drill of
// docs/INFRASTRUCTURE.md, run for real: PostgreSQL archiving its WAL with
// pgBackRest (a repository on local disk), a base backup, MealSync writing
// accounts and recipes, a destructive mistake, and a restore to the moment
// before it — after which every row is back and the app serves again.
package pitr_test

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/testdb"
	"github.com/mealsync/mealsync/internal/testenv"
)

const stanza = "mealsync"

func TestRestoreToTheMomentBeforeAMistake(t *testing.T) {
	bin, err := exec.LookPath("pgbackrest")
	if err != nil {
		testdb.SkipOrFail(t, "pgbackrest is not installed (Debian's pgbackrest package)")
	}
	repo := testdb.ServerDir(t)
	conf := filepath.Join(repo, "pgbackrest.conf")
	db := testdb.StartPrimary(t, "archive_mode = on", "archive_timeout = 60",
		fmt.Sprintf("archive_command = '%s --config=%s --stanza=%s archive-push %%p'", bin, conf, stanza))
	writeConf(t, conf, repo, db)
	pgbackrest := func(args ...string) []byte {
		return db.Run(t, bin, append([]string{"--config=" + conf, "--stanza=" + stanza}, args...)...)
	}
	pgbackrest("stanza-create")
	pgbackrest("check") // WAL reaches the repository
	if _, err := db.DB(t, "postgres").Exec("CREATE DATABASE mealsync"); err != nil {
		t.Fatal(err)
	}
	// MEALSYNC_PITR_PAD_MB grows the database before the backup, for the
	// restore time of docs/BENCHMARKS.md (rows of ~1 KB in a table of
	// their own).
	if mb, _ := strconv.Atoi(os.Getenv("MEALSYNC_PITR_PAD_MB")); mb > 0 {
		q := fmt.Sprintf("CREATE TABLE pad AS SELECT g, repeat(md5(g::text), 30) AS filler FROM generate_series(1, %d) g", mb*1000)
		if _, err := db.DB(t, "mealsync").Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	pgbackrest("backup", "--type=full")

	// Writes after the backup: only the archived WAL holds them.
	url := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/mealsync?sslmode=disable", db.Port)
	bin2 := testenv.BuildMealsync(t)
	inst := testenv.StartMealsync(t, testenv.Options{Binary: bin2, DatabaseURL: url, Env: map[string]string{
		"MEALSYNC_MIGRATE_ON_START": "true", "MEALSYNC_REGISTER_MAX_PER_ADDRESS": "0"}})
	for i := range 25 {
		register(t, inst.URL, fmt.Sprintf("cook%d@example.com", i))
	}
	app := db.DB(t, "mealsync")
	before := rows(t, app)
	var target string
	if err := app.QueryRow("SELECT to_char(clock_timestamp(), 'YYYY-MM-DD HH24:MI:SS.USOF')").Scan(&target); err != nil {
		t.Fatal(err)
	}

	// The mistake, and the work that follows it.
	if _, err := app.Exec("DELETE FROM users WHERE email LIKE 'cook1%'"); err != nil {
		t.Fatal(err)
	}
	register(t, inst.URL, "after-the-mistake@example.com")
	pgbackrest("check") // what was written up to now reaches the repository, as the runbook says
	if err := inst.Stop(); err != nil {
		t.Logf("stopping mealsync: %v", err)
	}
	app.Close()

	began := time.Now()
	db.Stop(t, "fast")
	// As if the disk were lost too: everything comes from the repository.
	emptyDir(t, db.DataDir())
	pgbackrest("restore", "--type=time", "--target="+target, "--target-action=promote")
	db.Start(t)
	admin := db.DB(t, "postgres")
	testenv.WaitFor(t, 2*time.Minute, "recovery to reach the target and promote", func() bool {
		var recovering bool
		return admin.QueryRow("SELECT pg_is_in_recovery()").Scan(&recovering) == nil && !recovering
	})
	inst = testenv.StartMealsync(t, testenv.Options{Binary: bin2, DatabaseURL: url})
	rto := time.Since(began)

	after := rows(t, db.DB(t, "mealsync"))
	if !slices.Equal(after, before) {
		t.Fatalf("after the restore %d accounts, want the %d there were at %s:\n got %v\nwant %v", len(after), len(before), target, after, before)
	}
	login(t, inst.URL, "cook12@example.com") // one the mistake had deleted
	t.Logf("FIGURE point-in-time restore of a %s database into an empty data directory: stopped, restored to %s and serving again in %.1fs; %d accounts back, the later write undone",
		size(t, db), target, rto.Seconds(), len(after))
}

func writeConf(t *testing.T, path, repo string, db *testdb.Server) {
	t.Helper()
	conf := fmt.Sprintf(`[global]
repo1-path=%[1]s/repo
repo1-retention-full=2
log-path=%[1]s/log
lock-path=%[1]s/lock
spool-path=%[1]s/spool
start-fast=y
log-level-console=warn

[%[2]s]
pg1-path=%[3]s
pg1-port=%[4]d
pg1-socket-path=%[5]s
`, repo, stanza, db.DataDir(), db.Port, db.Dir)
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
}

// emptyDir removes everything in dir, keeping dir (its owner and mode).
func emptyDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
}

// rows lists the accounts, in a fixed order.
func rows(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rs, err := db.Query("SELECT id || ' ' || email || ' ' || name FROM users ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var out []string
	for rs.Next() {
		var r string
		if err := rs.Scan(&r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func size(t *testing.T, s *testdb.Server) string {
	t.Helper()
	var n string
	if err := s.DB(t, "postgres").QueryRow("SELECT pg_size_pretty(pg_database_size('mealsync'))").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

const password = "restore drill 7"

func register(t *testing.T, base, email string) {
	t.Helper()
	post(t, base+"/api/v1/users/register", map[string]string{"email": email, "password": password, "name": "Cook"})
}

func login(t *testing.T, base, email string) {
	t.Helper()
	post(t, base+"/api/v1/users/login", map[string]string{"email": email, "password": password})
}

func post(t *testing.T, url string, body any) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var msg bytes.Buffer
		msg.ReadFrom(resp.Body)
		t.Fatalf("POST %s: %d %s", url, resp.StatusCode, msg.String())
	}
}
