package testenv

import (
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/testdb"
)

// ArchiveNewSegment closes db's current WAL segment (pg_switch_wal) and
// waits until db's archive_command has archived it, failing the test if an
// archiving attempt fails meanwhile. It returns the segment's name. Failures
// before the call (a repository not created yet) are not counted.
func ArchiveNewSegment(t testing.TB, db *testdb.Server) string {
	t.Helper()
	admin := db.DB(t, "postgres")
	var segment string
	var failedBefore int
	if err := admin.QueryRow("SELECT failed_count FROM pg_stat_archiver").Scan(&failedBefore); err != nil {
		t.Fatal(err)
	}
	if err := admin.QueryRow("SELECT pg_walfile_name(pg_switch_wal())").Scan(&segment); err != nil {
		t.Fatal(err)
	}
	WaitFor(t, time.Minute, "segment "+segment+" to be archived", func() bool {
		var last string
		var failed int
		err := admin.QueryRow("SELECT coalesce(last_archived_wal, ''), failed_count FROM pg_stat_archiver").Scan(&last, &failed)
		if err == nil && failed > failedBefore {
			t.Fatalf("archive_command failed %d times after the setup:\n%s", failed-failedBefore, db.Log())
		}
		return err == nil && last >= segment
	})
	return segment
}
