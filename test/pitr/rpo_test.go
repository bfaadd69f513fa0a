package pitr_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/testdb"
	"github.com/mealsync/mealsync/internal/testenv"
)

// TestLostMachineLosesOnlyTheUnarchivedWAL measures the recovery point of
// continuous archiving: a writer commits a row every 20 ms, the server dies
// as in a crash and its data directory is lost with the machine, and the
// database is restored from the pgBackRest repository alone. Every row whose
// WAL segment had been archived comes back; what is lost is the segment
// being written, at most archive_timeout seconds of commits (the FIGURE line
// says how many were lost here). MEALSYNC_PITR_ARCHIVE_TIMEOUT sets it (5 s
// here, to keep the test short; docs/BENCHMARKS.md has the run at the
// recommended 60 s).
func TestLostMachineLosesOnlyTheUnarchivedWAL(t *testing.T) {
	bin, err := exec.LookPath("pgbackrest")
	if err != nil {
		testdb.SkipOrFail(t, "pgbackrest is not installed (Debian's pgbackrest package)")
	}
	timeout := 5
	if s := os.Getenv("MEALSYNC_PITR_ARCHIVE_TIMEOUT"); s != "" {
		if timeout, err = strconv.Atoi(s); err != nil || timeout < 1 {
			t.Fatalf("MEALSYNC_PITR_ARCHIVE_TIMEOUT=%q: want whole seconds", s)
		}
	}
	repo := testdb.ServerDir(t)
	conf := filepath.Join(repo, "pgbackrest.conf")
	db := testdb.StartPrimary(t, "archive_mode = on", fmt.Sprintf("archive_timeout = %d", timeout),
		fmt.Sprintf("archive_command = '%s --config=%s --stanza=%s archive-push %%p'", bin, conf, stanza))
	writeConf(t, conf, repo, db)
	pgbackrest := func(args ...string) []byte {
		return db.Run(t, bin, append([]string{"--config=" + conf, "--stanza=" + stanza}, args...)...)
	}
	pgbackrest("stanza-create")
	pgbackrest("check")
	admin := db.DB(t, "postgres")
	if _, err := admin.Exec("CREATE TABLE ticks (n bigint PRIMARY KEY, at timestamptz NOT NULL, wal text NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	pgbackrest("backup", "--type=full")

	// The backup ends with a segment switch; archive_timeout forces the
	// next ones every timeout seconds while there are commits. Commit ticks
	// for 2.9 timeouts, so that the machine is lost late in a segment's life:
	// near the worst case, the loss is the commits of most of a timeout.
	type tick struct {
		n   int64
		at  time.Time
		wal string
	}
	var ticks []tick
	archivedAtStart := archived(t, admin)
	lose := time.Now().Add(time.Duration(timeout) * 2900 * time.Millisecond)
	pace := time.NewTicker(20 * time.Millisecond)
	defer pace.Stop()
	for n := int64(1); time.Now().Before(lose); n++ {
		var k tick
		err := admin.QueryRow(`INSERT INTO ticks VALUES ($1, clock_timestamp(), pg_walfile_name(pg_current_wal_insert_lsn()))
			RETURNING n, at, wal`, n).Scan(&k.n, &k.at, &k.wal)
		if err != nil {
			t.Fatal(err)
		}
		ticks = append(ticks, k)
		<-pace.C
	}
	// Two forced switches are due by now; on a busy machine the archiver may
	// trail them a little.
	testenv.WaitFor(t, time.Minute, "two WAL segments archived since the backup", func() bool {
		return archived(t, admin).count >= archivedAtStart.count+2
	})
	last := archived(t, admin)
	lostAt := time.Now()
	db.Stop(t, "immediate") // a crash: no shutdown checkpoint, nothing more archived
	emptyDir(t, db.DataDir())

	pgbackrest("restore") // to the end of the archived WAL, then promote
	db.Start(t)
	admin = db.DB(t, "postgres")
	testenv.WaitFor(t, 2*time.Minute, "recovery to reach the end of the archive and promote", func() bool {
		var recovering bool
		return admin.QueryRow("SELECT pg_is_in_recovery()").Scan(&recovering) == nil && !recovering
	})
	var kept int64
	if err := admin.QueryRow("SELECT count(*) FROM ticks").Scan(&kept); err != nil {
		t.Fatal(err)
	}
	// The restored rows are a prefix of what was committed: the archive is
	// WAL in order, so a hole would mean a lost segment.
	var maxN int64
	if err := admin.QueryRow("SELECT coalesce(max(n), 0) FROM ticks").Scan(&maxN); err != nil {
		t.Fatal(err)
	}
	if maxN != kept {
		t.Fatalf("restored %d ticks but the last is number %d: a segment in the middle is missing", kept, maxN)
	}
	for _, k := range ticks {
		if k.wal < last.wal && k.n > kept {
			t.Fatalf("tick %d was written to segment %s, archived before the loss (last archived %s), but was not restored (%d of %d back)",
				k.n, k.wal, last.wal, kept, len(ticks))
		}
	}
	lost := ticks[len(ticks)-1].at.Sub(ticks[0].at)
	if kept > 0 {
		lost = ticks[len(ticks)-1].at.Sub(ticks[kept-1].at)
	}
	t.Logf("FIGURE machine lost with archive_timeout = %ds: %d of %d committed rows restored, %d lost: the last %.1fs of commits before the loss (%s after the last archived segment %s)",
		timeout, kept, len(ticks), int64(len(ticks))-kept, lost.Seconds(), lostAt.Sub(last.at).Round(100*time.Millisecond), last.wal)
}

type archiveState struct {
	count int64
	wal   string
	at    time.Time
}

// archived reads pg_stat_archiver: how many segments went to the
// repository, the last one's name and when.
func archived(t *testing.T, db *sql.DB) archiveState {
	t.Helper()
	var s archiveState
	var wal sql.NullString
	var at sql.NullTime
	err := db.QueryRowContext(context.Background(), "SELECT archived_count, last_archived_wal, last_archived_time FROM pg_stat_archiver").
		Scan(&s.count, &wal, &at)
	if err != nil {
		t.Fatal(err)
	}
	s.wal, s.at = wal.String, at.Time
	return s
}
