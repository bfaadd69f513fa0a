package backup_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/mealsync/mealsync"
	"github.com/mealsync/mealsync/internal/backup"
	"github.com/mealsync/mealsync/internal/sqldb"
	"github.com/mealsync/mealsync/internal/sqldb/postgres"
	"github.com/mealsync/mealsync/internal/sqldb/sqlite"
	"github.com/mealsync/mealsync/internal/testdb"
)

// kindEnv is one kind of database under test: a migrated source database
// with the real store to write through, and fresh empty targets.
type kindEnv struct {
	kind  string
	store *sqldb.DB
	src   backup.Database
	// empty returns a new, empty database of this kind (nothing created yet
	// for SQLite; a new database for PostgreSQL).
	empty func(t *testing.T) backup.Database
}

// forEachKind runs test on SQLite and on PostgreSQL.
func forEachKind(t *testing.T, test func(t *testing.T, e kindEnv)) {
	t.Helper()
	t.Run(backup.KindSQLite, func(t *testing.T) { test(t, sqliteEnv(t)) })
	t.Run(backup.KindPostgres, func(t *testing.T) { test(t, postgresEnv(t)) })
}

func sqliteEnv(t *testing.T) kindEnv {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mealsync.db")
	db, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(t.Context(), time.Now()); err != nil {
		t.Fatal(err)
	}
	return kindEnv{
		kind: backup.KindSQLite, store: db,
		src: backup.Database{Kind: backup.KindSQLite, Path: path},
		empty: func(t *testing.T) backup.Database {
			return backup.Database{Kind: backup.KindSQLite, Path: filepath.Join(t.TempDir(), "restored.db")}
		},
	}
}

func postgresEnv(t *testing.T) kindEnv {
	t.Helper()
	url := testdb.PostgresURL(t) // skips (or fails in CI) without a server
	requirePGTools(t)
	db := openPostgres(t, url)
	if _, err := db.Migrate(t.Context(), time.Now()); err != nil {
		t.Fatal(err)
	}
	return kindEnv{
		kind: backup.KindPostgres, store: db,
		src: backup.Database{Kind: backup.KindPostgres, URL: url},
		empty: func(t *testing.T) backup.Database {
			return backup.Database{Kind: backup.KindPostgres, URL: testdb.PostgresURL(t)}
		},
	}
}

// requirePGTools skips, or fails in CI, without pg_dump and pg_restore.
func requirePGTools(t *testing.T) {
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

func openPostgres(t *testing.T, url string) *sqldb.DB {
	t.Helper()
	db, err := postgres.Open(url, postgres.Pool{MaxOpen: 10, MaxIdle: 10, MaxLifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() }) // runs before the database is dropped
	return db
}

// open opens a database a test restored into.
func open(t *testing.T, d backup.Database) *sqldb.DB {
	t.Helper()
	if d.Kind == backup.KindPostgres {
		return openPostgres(t, d.URL)
	}
	db, err := sqlite.Open(d.Path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func options() backup.Options {
	return backup.Options{Version: "test", Now: time.Now, Getenv: os.Getenv}
}

// mustBackup backs e's source up into a new directory.
func mustBackup(t *testing.T, e kindEnv) *backup.Result {
	t.Helper()
	res, err := backup.Create(t.Context(), e.src, t.TempDir()+"/", options())
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return res
}

// now is a time at the precision both databases keep.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

func newUser() *mealsync.User {
	id := uuid.NewString()
	return &mealsync.User{
		ID: id, Email: "user-" + id + "@example.com", Name: "Backup Tester",
		Role: mealsync.RoleUser, Status: mealsync.StatusActive, PasswordHash: "hash-of-" + id,
		Preferences: mealsync.Preferences{FavoriteCuisines: []string{"Italian"}},
		CreatedAt:   now(), UpdatedAt: now(),
	}
}

func newRecipe(n int) *mealsync.Recipe {
	return &mealsync.Recipe{
		ID: uuid.NewString(), Name: fmt.Sprintf("Soup %d", n), Description: "A test soup",
		Cuisine: "Italian", Difficulty: "EASY", IngredientKey: fmt.Sprintf("soup-%d", n),
		Ingredients: []mealsync.Ingredient{
			{Name: "Tomato", Quantity: "2", Unit: "pcs"},
			{Name: fmt.Sprintf("Herb %d", n), Quantity: "1", Unit: "tbsp"},
		},
		Instructions: []string{"Chop.", "Simmer."}, Tags: []string{"soup", fmt.Sprintf("batch-%d", n%7)},
		PreparationTime: 5, CookingTime: 20, TotalTime: 25, Servings: 2,
		Calories: 120.5, Protein: 3, Carbohydrates: 18, Fat: 4, Source: "catalog", Published: true, CreatedAt: now(),
	}
}

// mustWrite does one round of the load's writes and returns the user's id.
func mustWrite(t *testing.T, db *sqldb.DB) string {
	t.Helper()
	id, _, err := writeRound(t.Context(), db, 0)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// writeRound writes through the real store what a user's first minutes
// write: the account, a recipe with its search rows (one transaction that
// also bumps the catalogue version), the recipe saved, and a meal plan with
// its meals (one transaction). It returns the user's id and when the user
// was committed.
func writeRound(ctx context.Context, db *sqldb.DB, n int) (string, time.Time, error) {
	u := newUser()
	if err := db.CreateUser(ctx, u); err != nil {
		return "", time.Time{}, err
	}
	committed := time.Now()
	r := newRecipe(n)
	if err := db.CreateRecipes(ctx, r); err != nil {
		return "", committed, err
	}
	if _, err := db.SaveRecipe(ctx, &mealsync.SavedRecipe{
		ID: uuid.NewString(), UserID: u.ID, Recipe: r, Type: mealsync.RecipeSaved, SavedAt: now(),
	}); err != nil {
		return "", committed, err
	}
	plan := &mealsync.MealPlan{
		ID: uuid.NewString(), UserID: u.ID, StartDate: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC),
		Days: 2, MealsPerDay: 2, CreatedAt: now(),
		Meals: []mealsync.PlannedMeal{
			{Day: 0, MealType: mealsync.Breakfast, Recipe: r}, {Day: 0, MealType: mealsync.Dinner, Recipe: r},
			{Day: 1, MealType: mealsync.Breakfast, Recipe: r}, {Day: 1, MealType: mealsync.Dinner},
		},
	}
	return u.ID, committed, db.CreateMealPlan(ctx, plan)
}

// load writes rounds from several goroutines until finished, recording
// when each user's round began and when the user was committed.
type load struct {
	mu        sync.Mutex
	began     map[string]time.Time // user → when its round began
	committed map[string]time.Time // user → when it was committed
	err       error
	cancel    context.CancelFunc
	wg        sync.WaitGroup
}

func startLoad(t *testing.T, db *sqldb.DB, workers int) *load {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	l := &load{began: map[string]time.Time{}, committed: map[string]time.Time{}, cancel: cancel}
	for w := range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for n := w; ctx.Err() == nil; n += workers {
				began := time.Now()
				id, committed, err := writeRound(ctx, db, n)
				l.mu.Lock()
				if err != nil && ctx.Err() == nil && l.err == nil {
					l.err = err
				}
				if err == nil {
					l.began[id], l.committed[id] = began, committed
				}
				l.mu.Unlock()
			}
		}()
	}
	t.Cleanup(l.stop)
	return l
}

func (l *load) stop() { l.cancel(); l.wg.Wait() }

// committedBefore returns the users committed before the instant at.
func (l *load) committedBefore(at time.Time) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ids []string
	for id, c := range l.committed {
		if c.Before(at) {
			ids = append(ids, id)
		}
	}
	return ids
}

// begunAfter returns the users whose round began after the instant at.
func (l *load) begunAfter(at time.Time) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ids []string
	for id, b := range l.began {
		if b.After(at) {
			ids = append(ids, id)
		}
	}
	return ids
}

// waitFor waits until n users more than now have committed.
func (l *load) waitFor(t *testing.T, n int) {
	t.Helper()
	l.mu.Lock()
	want := len(l.began) + n
	l.mu.Unlock()
	deadline := time.Now().Add(30 * time.Second)
	for {
		l.mu.Lock()
		got, err := len(l.began), l.err
		l.mu.Unlock()
		if err != nil {
			t.Fatalf("writer: %v", err)
		}
		if got >= want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("writers committed %d users in 30s, want %d", got, want)
		}
		time.Sleep(5 * time.Millisecond) // polling a condition, with a deadline
	}
}

// finish stops the writers and fails on any error they met.
func (l *load) finish(t *testing.T) {
	t.Helper()
	l.stop()
	if l.err != nil {
		t.Fatalf("writer: %v", l.err)
	}
}

// rows is every row of every table, each row as text, counted (a table
// without a key may hold the same row twice).
type rows map[string]map[string]int

// dump reads every table of db in full.
func dump(t *testing.T, db *sqldb.DB) rows {
	t.Helper()
	ctx := t.Context()
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`
	if db.Dialect() == backup.KindPostgres {
		q = `SELECT tablename FROM pg_tables WHERE schemaname = 'public'`
	}
	names := queryStrings(t, db.SQL(), q)
	out := rows{}
	for _, name := range names {
		rs, err := db.SQL().QueryContext(ctx, `SELECT * FROM "`+name+`"`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rs.Columns()
		out[name] = map[string]int{}
		for rs.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rs.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			out[name][rowText(cols, vals)]++
		}
		if err := rs.Err(); err != nil {
			t.Fatal(err)
		}
		rs.Close()
	}
	return out
}

func rowText(cols []string, vals []any) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		switch v := v.(type) {
		case nil:
			parts[i] = cols[i] + "=NULL"
		case []byte:
			parts[i] = fmt.Sprintf("%s=%q", cols[i], v)
		case time.Time:
			parts[i] = cols[i] + "=" + v.UTC().Format(time.RFC3339Nano)
		default:
			parts[i] = fmt.Sprintf("%s=%#v", cols[i], v)
		}
	}
	return strings.Join(parts, " ")
}

func queryStrings(t *testing.T, db *sql.DB, q string, args ...any) []string {
	t.Helper()
	rs, err := db.QueryContext(t.Context(), q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var out []string
	for rs.Next() {
		var s string
		if err := rs.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// count counts the rows matching where in table.
func count(t *testing.T, db *sqldb.DB, table, where string, args ...any) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRowContext(t.Context(), `SELECT count(*) FROM `+table+` WHERE `+where, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// requireUntouched fails unless d is still empty: no SQLite file (and no
// leftover temporary file beside it), or no PostgreSQL table.
func requireUntouched(t *testing.T, d backup.Database) {
	t.Helper()
	if d.Kind == backup.KindSQLite {
		entries, err := os.ReadDir(filepath.Dir(d.Path))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			t.Errorf("the failed restore left %s behind", e.Name())
		}
		return
	}
	db := open(t, d)
	if n := count(t, db, "pg_tables", "schemaname = 'public'"); n != 0 {
		t.Errorf("the failed restore left %d tables in the target", n)
	}
}
