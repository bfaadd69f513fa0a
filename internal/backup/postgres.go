package backup

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mealsync/mealsync/internal/sqldb"
	"github.com/mealsync/mealsync/internal/sqldb/postgres"
)

// dumpPostgres writes a custom-format pg_dump archive of the database at
// rawURL to tmp.
//
// One read-only transaction exports its snapshot and pg_dump imports it
// (--snapshot): the row counts and schema version recorded here and the
// archive then describe exactly the same data, however busy the server.
func dumpPostgres(ctx context.Context, rawURL, tmp string, opt Options) (snapshot, error) {
	conn, err := parseConn(rawURL)
	if err != nil {
		return snapshot{}, err
	}
	found, err := findTools(ctx, "pg_dump", opt)
	if err != nil {
		return snapshot{}, err
	}
	db, err := openPostgres(ctx, rawURL)
	if err != nil {
		return snapshot{}, err
	}
	defer db.Close()
	server, err := serverVersion(ctx, db.SQL())
	if err != nil {
		return snapshot{}, err
	}
	pgDump, ok := newest(found, server.major)
	if !ok {
		return snapshot{}, fmt.Errorf("%w: the server runs PostgreSQL %s but the newest pg_dump found is %s (%s), and pg_dump cannot dump a newer server: install the PostgreSQL %d client tools (Debian: postgresql-client-%d) and run again",
			ErrToolVersion, server.text, pgDump.text, pgDump.path, server.major, server.major)
	}

	c, err := db.SQL().Conn(ctx)
	if err != nil {
		return snapshot{}, err
	}
	defer c.Close()
	tx, err := c.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return snapshot{}, err
	}
	defer tx.Rollback() // read-only: nothing to commit
	var snapID string
	if err := tx.QueryRowContext(ctx, `SELECT pg_export_snapshot()`).Scan(&snapID); err != nil {
		return snapshot{}, fmt.Errorf("export snapshot: %w", err)
	}
	snap, err := inspect(ctx, tx, KindPostgres)
	if err != nil {
		return snapshot{}, err
	}
	if opt.afterSnapshot != nil {
		if err := opt.afterSnapshot(ctx); err != nil {
			return snapshot{}, err
		}
	}
	err = runTool(ctx, pgDump, conn, opt,
		"--format=custom", "--no-owner", "--no-privileges",
		"--snapshot="+snapID, "--file="+tmp, "--dbname="+conn.dsn)
	if err != nil {
		return snapshot{}, err
	}
	snap.toolVersion, snap.serverVersion = pgDump.text, server.text
	return snap, nil
}

// restorePostgres restores the archive in into the empty database at
// rawURL with pg_restore in a single transaction: it either restores all of
// it or nothing. Should the row counts then differ from the metadata, the
// restored tables are dropped again, which takes the database back to the
// empty state it was found in. Ownership and grants are left to the
// restoring user (--no-owner, --no-privileges); object comments are skipped
// because MealSync sets none and an extension's need its owner, who may be
// another user when the extension already exists.
func restorePostgres(ctx context.Context, in string, m Metadata, rawURL string, opt Options) error {
	conn, err := parseConn(rawURL)
	if err != nil {
		return err
	}
	found, err := findTools(ctx, "pg_restore", opt)
	if err != nil {
		return err
	}
	pgRestore, ok := newest(found, leadingInt(m.PGDumpVersion))
	if !ok {
		return fmt.Errorf("%w: the backup was written by pg_dump %s and the newest pg_restore found is %s (%s), which cannot read a newer pg_dump's archive: install the PostgreSQL %d client tools (Debian: postgresql-client-%d) and run again",
			ErrToolVersion, m.PGDumpVersion, pgRestore.text, pgRestore.path, leadingInt(m.PGDumpVersion), leadingInt(m.PGDumpVersion))
	}
	db, err := openPostgres(ctx, rawURL)
	if err != nil {
		return err
	}
	defer db.Close()
	st, err := db.Schema(ctx)
	if err != nil {
		return err
	}
	if err := m.checkSchema(st.Latest); err != nil {
		return err
	}
	if err := checkEmpty(ctx, db.SQL(), KindPostgres, m); err != nil {
		return err
	}
	err = runTool(ctx, pgRestore, conn, opt,
		"--no-owner", "--no-privileges", "--no-comments",
		"--exit-on-error", "--single-transaction", "--dbname="+conn.dsn, in)
	if err != nil {
		return fmt.Errorf("%w; its transaction was rolled back, the database is as it was", err)
	}
	if err := checkCounts(ctx, db.SQL(), KindPostgres, m); err != nil {
		// The database was empty before: dropping what was restored takes
		// it back there.
		if derr := dropRestored(ctx, db.SQL(), KindPostgres, m); derr != nil {
			return fmt.Errorf("pg_restore finished, but %w; dropping the restored tables again failed too (%v): drop them, or the database, by hand", err, derr)
		}
		return fmt.Errorf("pg_restore finished, but %w; the restored tables were dropped again, the database is empty as before", err)
	}
	return nil
}

// openPostgres opens a small pool and checks that the server answers.
func openPostgres(ctx context.Context, rawURL string) (*sqldb.DB, error) {
	db, err := postgres.Open(rawURL, postgres.Pool{MaxOpen: 2, MaxIdle: 2, MaxLifetime: time.Hour})
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// The server answering is enough: a backup may be taken from a standby.
	if err := db.SQL().PingContext(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("cannot connect: %w", err)
	}
	return db, nil
}

type version struct {
	text  string // e.g. "15.18"
	major int
}

func serverVersion(ctx context.Context, db *sql.DB) (version, error) {
	var num, full string
	if err := db.QueryRowContext(ctx, `SELECT current_setting('server_version_num'), current_setting('server_version')`).Scan(&num, &full); err != nil {
		return version{}, fmt.Errorf("server version: %w", err)
	}
	n, err := strconv.Atoi(num)
	if err != nil {
		return version{}, fmt.Errorf("server version %q: %w", num, err)
	}
	v := version{text: full, major: n / 10000}
	if f := strings.Fields(full); len(f) > 0 {
		v.text = f[0]
	}
	return v, nil
}

// leadingInt reads the major version off "15.18"; 0 when there is none.
func leadingInt(s string) int {
	end := 0
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	n, _ := strconv.Atoi(s[:end])
	return n
}
