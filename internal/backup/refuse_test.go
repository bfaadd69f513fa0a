package backup_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mealsync/mealsync/internal/backup"
	"github.com/mealsync/mealsync/internal/sqldb"
)

// TestRestoreRefusesABadBackup damages a good backup in one way at a time
// and restores it into an empty database: each stops with a clear error and
// leaves the target as it was.
func TestRestoreRefusesABadBackup(t *testing.T) {
	t.Parallel()
	forEachKind(t, func(t *testing.T, e kindEnv) {
		mustWrite(t, e.store)
		good := mustBackup(t, e)
		for _, c := range []struct {
			name   string
			damage func(t *testing.T, path string)
			want   error
			says   string
		}{
			{"a flipped byte", flipByte, backup.ErrCorrupt, "fails its checksum"},
			{"truncated", truncateHalf, backup.ErrCorrupt, "is truncated"},
			{"no metadata", removeMetadata, backup.ErrNoMetadata, ".json beside it"},
			{"unreadable metadata", writeMetadata("{\"format_version\": 1,"), backup.ErrCorrupt, "not valid metadata"},
			{"metadata of a newer format", editMetadata(func(m map[string]any) { m["format_version"] = 2 }), nil, "restore with a newer mealsync"},
			{"schema newer than this build", editMetadata(func(m map[string]any) { m["schema_version"] = 9999 }), backup.ErrSchemaTooNew, "schema version 9999"},
			{"row counts that do not match", editMetadata(func(m map[string]any) {
				for k := range m["tables"].(map[string]any) {
					if strings.HasSuffix(k, "users") {
						m["tables"].(map[string]any)[k] = 2
					}
				}
			}), backup.ErrRowCounts, "has 1 rows, the backup 2"},
		} {
			t.Run(c.name, func(t *testing.T) {
				path := copyBackup(t, good.Path)
				c.damage(t, path)
				target := e.empty(t)
				_, err := backup.Restore(t.Context(), path, target, options())
				if err == nil || (c.want != nil && !errors.Is(err, c.want)) || !strings.Contains(err.Error(), c.says) {
					t.Fatalf("Restore = %v; want %v saying %q", err, c.want, c.says)
				}
				requireUntouched(t, target)
			})
		}
	})
}

// TestRestoreRefusesANonEmptyDatabase restores into databases that hold
// something: each is refused, with a message saying what to do, and left
// exactly as it was. Only another application's empty PostgreSQL table is
// no obstacle (an SQLite restore would replace it with the file).
func TestRestoreRefusesANonEmptyDatabase(t *testing.T) {
	t.Parallel()
	forEachKind(t, func(t *testing.T, e kindEnv) {
		mustWrite(t, e.store)
		res := mustBackup(t, e)
		exec := func(q string) func(t *testing.T, db *sqldb.DB) {
			return func(t *testing.T, db *sqldb.DB) {
				if _, err := db.SQL().ExecContext(t.Context(), q); err != nil {
					t.Fatal(err)
				}
			}
		}
		migrate := func(t *testing.T, db *sqldb.DB) {
			if _, err := db.Migrate(t.Context(), time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range []struct {
			name    string
			prepare []func(t *testing.T, db *sqldb.DB)
			refused bool
		}{
			{"MealSync data", []func(*testing.T, *sqldb.DB){migrate, func(t *testing.T, db *sqldb.DB) { mustWrite(t, db) }}, true},
			{"MealSync schema without rows", []func(*testing.T, *sqldb.DB){migrate}, true},
			{"another application's rows", []func(*testing.T, *sqldb.DB){exec(`CREATE TABLE notes (body TEXT)`), exec(`INSERT INTO notes VALUES ('keep me')`)}, true},
			{"another application's empty table", []func(*testing.T, *sqldb.DB){exec(`CREATE TABLE notes (body TEXT)`)}, e.kind == backup.KindSQLite},
		} {
			t.Run(c.name, func(t *testing.T) {
				target := e.empty(t)
				db := open(t, target)
				for _, p := range c.prepare {
					p(t, db)
				}
				before := dump(t, db)
				db.Close() // an SQLite target has no server on it
				_, err := backup.Restore(t.Context(), res.Path, target, options())
				after := dump(t, open(t, target))
				if !c.refused {
					if err != nil {
						t.Fatalf("Restore: %v", err)
					}
					if total(after["users"]) != 1 || len(after["notes"]) != 0 {
						t.Errorf("restored %d users beside notes %v", total(after["users"]), after["notes"])
					}
					return
				}
				if !errors.Is(err, backup.ErrNotEmpty) || !strings.Contains(err.Error(), "restore into a new, empty database") {
					t.Fatalf("Restore = %v; want a refusal that says what to do", err)
				}
				if !reflect.DeepEqual(before, after) {
					t.Errorf("the refused restore changed the target:\nbefore %v\nafter  %v", before, after)
				}
			})
		}
	})
}

// TestRestoreRefusesAnotherKind restores each kind's backup into the other
// kind of database; the target is never touched (the PostgreSQL one here
// does not even exist).
func TestRestoreRefusesAnotherKind(t *testing.T) {
	t.Parallel()
	forEachKind(t, func(t *testing.T, e kindEnv) {
		mustWrite(t, e.store)
		res := mustBackup(t, e)
		other := backup.Database{Kind: backup.KindPostgres, URL: "postgres://nobody@127.0.0.1:1/none?sslmode=disable"}
		if e.kind == backup.KindPostgres {
			other = backup.Database{Kind: backup.KindSQLite, Path: filepath.Join(t.TempDir(), "restored.db")}
		}
		_, err := backup.Restore(t.Context(), res.Path, other, options())
		if !errors.Is(err, backup.ErrKindMismatch) || !strings.Contains(err.Error(), "is a "+e.kind+" backup") {
			t.Fatalf("Restore = %v; want a kind mismatch naming %s", err, e.kind)
		}
		if other.Kind == backup.KindSQLite {
			requireUntouched(t, other)
		}
	})
}

// copyBackup copies a backup and its metadata into a new directory.
func copyBackup(t *testing.T, path string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(path))
	for _, sfx := range []string{"", ".json"} {
		b, err := os.ReadFile(path + sfx)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst+sfx, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func flipByte(t *testing.T, path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x01
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func truncateHalf(t *testing.T, path string) {
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, fi.Size()/2); err != nil {
		t.Fatal(err)
	}
}

func removeMetadata(t *testing.T, path string) {
	if err := os.Remove(backup.MetaPath(path)); err != nil {
		t.Fatal(err)
	}
}

func writeMetadata(text string) func(t *testing.T, path string) {
	return func(t *testing.T, path string) {
		if err := os.WriteFile(backup.MetaPath(path), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func editMetadata(edit func(m map[string]any)) func(t *testing.T, path string) {
	return func(t *testing.T, path string) {
		b, err := os.ReadFile(backup.MetaPath(path))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		edit(m)
		if b, err = json.Marshal(m); err != nil {
			t.Fatal(err)
		}
		writeMetadata(string(b))(t, path)
	}
}
