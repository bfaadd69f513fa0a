package backup_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/backup"
)

// TestBackupUnderLoad backs up while writers keep inserting through the
// real store, restores into an empty database, and compares every row of
// every table with the source. Writes go on during the backup, so the
// restored database must be one consistent snapshot of the source: every
// row in it is verbatim a source row (the load only inserts), everything
// committed before the backup began is there, nothing begun after it ended
// is, and every transaction is there whole or not at all.
func TestBackupUnderLoad(t *testing.T) {
	t.Parallel()
	forEachKind(t, func(t *testing.T, e kindEnv) {
		ctx := t.Context()
		l := startLoad(t, e.store, 4)
		l.waitFor(t, 40)
		began := time.Now()
		res, err := backup.Create(ctx, e.src, t.TempDir()+"/", options())
		if err != nil {
			t.Fatalf("Create: %v", err)
		}
		ended := time.Now()
		l.waitFor(t, 20) // writes go on after the backup too
		l.finish(t)
		before, after := l.committedBefore(began), l.begunAfter(ended)

		target := e.empty(t)
		m, err := backup.Restore(ctx, res.Path, target, options())
		if err != nil {
			t.Fatalf("Restore: %v", err)
		}
		if m.SHA256 != res.Meta.SHA256 || m.Kind != e.kind {
			t.Errorf("Restore returned metadata %+v, Create wrote %+v", m, res.Meta)
		}
		restoredDB := open(t, target)
		source, restored := dump(t, e.store), dump(t, restoredDB)

		// The same tables, each with the row count the metadata recorded.
		if len(restored) != len(source) {
			t.Errorf("restored %d tables, the source has %d", len(restored), len(source))
		}
		for table, want := range res.Meta.Tables {
			name := strings.TrimPrefix(table, "public.")
			if got := total(restored[name]); int64(got) != want {
				t.Errorf("%s: restored %d rows, the metadata says %d", table, got, want)
			}
		}
		// Every restored row is a source row, except the catalogue's
		// counter, which recipes update in place (checked below).
		for table, rs := range restored {
			if table == "catalogue_version" {
				continue
			}
			for row, n := range rs {
				if source[table][row] < n {
					t.Errorf("%s: restored row not in the source: %s", table, row)
				}
			}
		}
		// Everything committed before the backup began, nothing begun after.
		for _, id := range before {
			if count(t, restoredDB, "users", "id = $1", id) != 1 {
				t.Errorf("user %s committed before the backup began is missing", id)
			}
		}
		for _, id := range after {
			if count(t, restoredDB, "users", "id = $1", id) != 0 {
				t.Errorf("user %s, whose writes began after the backup ended, was restored", id)
			}
		}
		if len(before) == 0 || len(after) == 0 {
			t.Fatalf("the load wrote %d users before and %d after the backup; want some of both", len(before), len(after))
		}
		// Whole transactions: each recipe with all its search rows, each
		// plan with all its meals, and the catalogue counter bumped once per
		// recipe created, in the same transaction as the recipe.
		for _, c := range []struct{ child, parent, key string }{
			{"recipe_tags", "recipes", "recipe_id"},
			{"recipe_ingredient_names", "recipes", "recipe_id"},
			{"meal_plan_meals", "meal_plans", "plan_id"},
		} {
			for _, id := range queryStrings(t, restoredDB.SQL(), `SELECT CAST(id AS TEXT) FROM `+c.parent) {
				where := c.key + " = $1"
				if got, want := count(t, restoredDB, c.child, where, id), count(t, e.store, c.child, where, id); got != want {
					t.Errorf("%s of %s %s: restored %d rows, the source has %d", c.child, c.parent, id, got, want)
				}
			}
		}
		version := queryStrings(t, restoredDB.SQL(), `SELECT CAST(version AS TEXT) FROM catalogue_version`)
		if recipes := strconv.Itoa(count(t, restoredDB, "recipes", "1 = 1")); len(version) != 1 || version[0] != recipes {
			t.Errorf("restored catalogue version %v with %s recipes: not one snapshot", version, recipes)
		}
	})
}

// TestBackupExcludesUncommittedWrites takes a backup while a write
// transaction is open: the backup neither waits for it nor contains it.
func TestBackupExcludesUncommittedWrites(t *testing.T) {
	t.Parallel()
	forEachKind(t, func(t *testing.T, e kindEnv) {
		ctx := t.Context()
		kept := mustWrite(t, e.store)
		tx, err := e.store.SQL().BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		u := newUser()
		if _, err := tx.ExecContext(ctx, `INSERT INTO users (id, email, name, role, status, password_hash, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`, u.ID, u.Email, u.Name, u.Role, u.Status, u.PasswordHash, u.CreatedAt); err != nil {
			t.Fatal(err)
		}
		res := mustBackup(t, e)
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		target := e.empty(t)
		if _, err := backup.Restore(ctx, res.Path, target, options()); err != nil {
			t.Fatalf("Restore: %v", err)
		}
		db := open(t, target)
		if count(t, db, "users", "id = $1", kept) != 1 || count(t, db, "users", "id = $1", u.ID) != 0 {
			t.Errorf("restored users %v; want only the committed %s", queryStrings(t, db.SQL(), `SELECT CAST(id AS TEXT) FROM users`), kept)
		}
	})
}

// TestPostgresBackupIsOneSnapshot commits a user after the snapshot is
// taken but before pg_dump starts: the counts and the archive agree on the
// data as of the snapshot, so the user is in neither.
func TestPostgresBackupIsOneSnapshot(t *testing.T) {
	t.Parallel()
	e := postgresEnv(t)
	ctx := t.Context()
	mustWrite(t, e.store)
	late := newUser()
	opt := backup.WithAfterSnapshot(options(), func(ctx context.Context) error {
		return e.store.CreateUser(ctx, late)
	})
	res, err := backup.Create(ctx, e.src, t.TempDir()+"/", opt)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if n := res.Meta.Tables["public.users"]; n != 1 {
		t.Errorf("metadata counts %d users, want the 1 of the snapshot", n)
	}
	target := e.empty(t)
	if _, err := backup.Restore(ctx, res.Path, target, options()); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	if n := count(t, open(t, target), "users", "id = $1", late.ID); n != 0 {
		t.Error("the user committed after the snapshot was restored")
	}
}

// TestBackupFiles checks what Create writes: the file, where, and metadata
// that describes it.
func TestBackupFiles(t *testing.T) {
	t.Parallel()
	forEachKind(t, func(t *testing.T, e kindEnv) {
		mustWrite(t, e.store)
		dir := t.TempDir()
		at := time.Date(2025, 7, 1, 2, 30, 0, 0, time.FixedZone("CEST", 2*3600))
		opt := options()
		opt.Now = func() time.Time { return at }
		res, err := backup.Create(t.Context(), e.src, dir, opt)
		if err != nil {
			t.Fatalf("Create: %v", err)
		}
		ext := map[string]string{backup.KindSQLite: ".db", backup.KindPostgres: ".dump"}[e.kind]
		if want := filepath.Join(dir, "mealsync-20250701T003000Z"+ext); res.Path != want || res.MetaPath != want+".json" {
			t.Errorf("wrote %s and %s, want %s and its .json", res.Path, res.MetaPath, want)
		}
		b, err := os.ReadFile(res.Path)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		m := res.Meta
		if m.SHA256 != hex.EncodeToString(sum[:]) || m.Size != int64(len(b)) {
			t.Errorf("metadata says %d bytes, sha256 %s; the file has %d, %x", m.Size, m.SHA256, len(b), sum)
		}
		st, err := e.store.Schema(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		users := map[string]string{backup.KindSQLite: "users", backup.KindPostgres: "public.users"}[e.kind]
		if m.FormatVersion != backup.FormatVersion || m.Kind != e.kind || !m.CreatedAt.Equal(at) ||
			m.MealSyncVersion != "test" || m.SchemaVersion != st.Current || m.Tables[users] != 1 {
			t.Errorf("metadata %+v", m)
		}
		if e.kind == backup.KindPostgres && (m.PGDumpVersion == "" || m.ServerVersion == "") {
			t.Errorf("metadata lacks the pg_dump or server version: %+v", m)
		}
		onDisk, err := backup.Verify(res.Path)
		if err != nil || onDisk.SHA256 != m.SHA256 {
			t.Errorf("Verify = %+v, %v", onDisk, err)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 2 {
			t.Errorf("the backup directory holds %d files, want the backup and its metadata", len(entries))
		}
		// A second backup in the same second must not replace the first.
		if _, err := backup.Create(t.Context(), e.src, dir, opt); err == nil || !strings.Contains(err.Error(), "already exists") {
			t.Errorf("a second backup to the same name: %v, want a refusal", err)
		}
	})
}

func TestBackupOfAMissingSQLiteFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := backup.Database{Kind: backup.KindSQLite, Path: filepath.Join(dir, "nothing.db")}
	if _, err := backup.Create(t.Context(), src, filepath.Join(dir, "out")+"/", options()); err == nil {
		t.Fatal("a backup of a missing database succeeded")
	}
	if _, err := os.Stat(src.Path); err == nil {
		t.Error("the backup created the database it was to copy")
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "out")); len(entries) != 0 {
		t.Errorf("the failed backup left %d files", len(entries))
	}
}

func total(rs map[string]int) int {
	n := 0
	for _, c := range rs {
		n += c
	}
	return n
}
