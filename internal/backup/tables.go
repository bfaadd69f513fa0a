package backup

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
)

// table is a table of the database being copied. SQLite tables have no
// schema.
type table struct{ schema, name string }

// key names the table in the metadata.
func (t table) key() string {
	if t.schema == "" {
		return t.name
	}
	return t.schema + "." + t.name
}

// ident is the table's quoted SQL name.
func (t table) ident() string {
	q := func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
	if t.schema == "" {
		return q(t.name)
	}
	return q(t.schema) + "." + q(t.name)
}

// migrationsTable is the table that marks a database as MealSync's.
const migrationsTable = "schema_migrations"

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// listTables lists the ordinary tables of a database of kind, in key order:
// SQLite's own and PostgreSQL's system schemas excluded.
func listTables(ctx context.Context, q querier, kind string) ([]table, error) {
	query := `SELECT '', name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'`
	if kind == KindPostgres {
		query = `SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
			AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp\_%'`
	}
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	defer rows.Close()
	var ts []table
	for rows.Next() {
		var t table
		if err := rows.Scan(&t.schema, &t.name); err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].key() < ts[j].key() })
	return ts, rows.Err()
}

// countRows counts the rows of every table.
func countRows(ctx context.Context, q querier, ts []table) (map[string]int64, error) {
	counts := make(map[string]int64, len(ts))
	for _, t := range ts {
		var n int64
		if err := q.QueryRowContext(ctx, `SELECT count(*) FROM `+t.ident()).Scan(&n); err != nil {
			return nil, fmt.Errorf("count rows of %s: %w", t.key(), err)
		}
		counts[t.key()] = n
	}
	return counts, nil
}

// schemaVersion is the highest applied migration, 0 when there is no
// schema_migrations table. On PostgreSQL the table is the one the search
// path finds, as it is for the server.
func schemaVersion(ctx context.Context, q querier, kind string, ts []table) (int, error) {
	found := false
	if kind == KindPostgres {
		if err := q.QueryRowContext(ctx, `SELECT to_regclass($1) IS NOT NULL`, migrationsTable).Scan(&found); err != nil {
			return 0, fmt.Errorf("find %s: %w", migrationsTable, err)
		}
	}
	for _, t := range ts {
		if kind == KindSQLite && t.name == migrationsTable {
			found = true
		}
	}
	if !found {
		return 0, nil
	}
	var v int
	if err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM `+migrationsTable).Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

// inspect reads the tables, row counts and schema version through q, which
// should see one consistent snapshot (a transaction, or a file nobody
// writes).
func inspect(ctx context.Context, q querier, kind string) (snapshot, error) {
	ts, err := listTables(ctx, q, kind)
	if err != nil {
		return snapshot{}, err
	}
	s := snapshot{}
	if s.rows, err = countRows(ctx, q, ts); err != nil {
		return s, err
	}
	s.schemaVersion, err = schemaVersion(ctx, q, kind, ts)
	return s, err
}

// checkEmpty returns ErrNotEmpty, saying why, unless the database behind q
// is empty. On PostgreSQL that means no MealSync table (schema_migrations or
// any table of the backup m) and no table with rows: another application's
// empty tables are let be, beside the restored ones. An SQLite restore
// replaces the whole file, so there any table at all makes it non-empty.
func checkEmpty(ctx context.Context, q querier, kind string, m Metadata) error {
	ts, err := listTables(ctx, q, kind)
	if err != nil {
		return err
	}
	var ours, others, withRows []string
	for _, t := range ts {
		if _, in := m.Tables[t.key()]; in || t.name == migrationsTable {
			ours = append(ours, t.key())
			continue
		}
		if kind == KindSQLite {
			others = append(others, t.key())
			continue
		}
		var hasRows bool
		if err := q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM `+t.ident()+`)`).Scan(&hasRows); err != nil {
			return fmt.Errorf("look into %s: %w", t.key(), err)
		}
		if hasRows {
			withRows = append(withRows, t.key())
		}
	}
	var why []string
	if len(ours) > 0 {
		why = append(why, "it has MealSync's tables: "+shortList(ours))
	}
	if len(others) > 0 {
		why = append(why, "it has tables, which restoring the file would drop: "+shortList(others))
	}
	if len(withRows) > 0 {
		why = append(why, "these tables have rows: "+shortList(withRows))
	}
	if len(why) == 0 {
		return nil
	}
	return fmt.Errorf("%w (%s). A restore never overwrites data: restore into a new, empty database, or move this one aside first",
		ErrNotEmpty, strings.Join(why, "; "))
}

// dropRestored drops the tables a restore of m created (and any
// schema_migrations), in one statement: the way back to the empty database
// the restore began with.
func dropRestored(ctx context.Context, db *sql.DB, kind string, m Metadata) error {
	ts, err := listTables(ctx, db, kind)
	if err != nil {
		return err
	}
	var idents []string
	for _, t := range ts {
		if _, in := m.Tables[t.key()]; in || t.name == migrationsTable {
			idents = append(idents, t.ident())
		}
	}
	if len(idents) == 0 {
		return nil
	}
	_, err = db.ExecContext(ctx, `DROP TABLE IF EXISTS `+strings.Join(idents, ", ")+` CASCADE`)
	return err
}

// shortList names the first few of names.
func shortList(names []string) string {
	if len(names) > 4 {
		return fmt.Sprintf("%s and %d more", strings.Join(names[:4], ", "), len(names)-4)
	}
	return strings.Join(names, ", ")
}

// checkCounts compares the row counts seen through q with the backup's.
func checkCounts(ctx context.Context, q querier, kind string, m Metadata) error {
	ts, err := listTables(ctx, q, kind)
	if err != nil {
		return err
	}
	got, err := countRows(ctx, q, ts)
	if err != nil {
		return err
	}
	var diffs []string
	for _, k := range sortedKeys(m.Tables) {
		n, ok := got[k]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("table %s is missing", k))
		case n != m.Tables[k]:
			diffs = append(diffs, fmt.Sprintf("%s has %d rows, the backup %d", k, n, m.Tables[k]))
		}
	}
	if len(diffs) > 0 {
		return fmt.Errorf("%w: %s", ErrRowCounts, strings.Join(diffs, "; "))
	}
	return nil
}

func sortedKeys(m map[string]int64) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
