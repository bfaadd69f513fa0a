package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/mealsync/mealsync/internal/backup"
	"github.com/mealsync/mealsync/internal/buildinfo"
	"github.com/mealsync/mealsync/internal/config"
)

const backupUsage = `Usage: mealsync backup [-o FILE|DIR] [-database-url URL]

Writes a consistent backup of the configured database while the server keeps
running: SQLite through VACUUM INTO (FILE.db), PostgreSQL through pg_dump's
custom format (FILE.dump). Beside it, FILE.json records the checksum, schema
version and row counts that 'mealsync restore' checks. Existing files are
never overwritten.

`

const restoreUsage = `Usage: mealsync restore -i FILE [-database-url URL]

Restores a backup written by 'mealsync backup' into the configured database,
which must be EMPTY: a new SQLite file (stop the server first) or a new
PostgreSQL database. There is no --force: a restore never overwrites data; to
replace a database, move the SQLite file aside or create a new PostgreSQL
database and point MEALSYNC_DATABASE_URL at it.

Before anything changes it checks the metadata, size and checksum, that the
backup is for this kind of database and that its schema is not newer than
this build; afterwards, that every table has the backup's row count.

`

// takeBackup is `mealsync backup`.
func takeBackup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newCommandFlags("backup", backupUsage, stderr)
	out := fs.String("o", "", "backup `file`, or a directory to write mealsync-<UTC time>.db|.dump into (default ./"+backup.DefaultDir+"/)")
	cfg, err := parseCommand(fs, args, getenv, stderr)
	if err != nil {
		return ignoreHelp(err)
	}
	res, err := backup.Create(ctx, backupDatabase(cfg), *out, backupOptions(getenv))
	if err != nil {
		return err
	}
	m := res.Meta
	fmt.Fprintf(stdout, "backup written: %s\n", res.Path)
	fmt.Fprintf(stdout, "sha256: %s\n", m.SHA256)
	fmt.Fprintf(stdout, "%s, %d bytes, schema version %d, %d tables, %d rows\n", m.Kind, m.Size, m.SchemaVersion, len(m.Tables), m.Rows())
	fmt.Fprintf(stdout, "metadata: %s\n", res.MetaPath)
	return nil
}

// restoreBackup is `mealsync restore`.
func restoreBackup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newCommandFlags("restore", restoreUsage, stderr)
	in := fs.String("i", "", "the backup `file` to restore (its FILE.json must be beside it)")
	cfg, err := parseCommand(fs, args, getenv, stderr)
	if err != nil {
		return ignoreHelp(err)
	}
	if *in == "" {
		fs.Usage()
		return errors.New("restore: -i FILE is required")
	}
	db := backupDatabase(cfg)
	m, err := backup.Restore(ctx, *in, db, backupOptions(getenv))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored %s into %s\n", *in, db)
	fmt.Fprintf(stdout, "backup of %s, schema version %d, %d tables, %d rows; checksum and row counts verified\n",
		m.CreatedAt.Format(time.RFC3339), m.SchemaVersion, len(m.Tables), m.Rows())
	return nil
}

// newCommandFlags starts the flags of a command that also takes
// -database-url, like serve and migrate.
func newCommandFlags(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("mealsync "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.String("database-url", "", "postgres:// URL or sqlite:`path` (default MEALSYNC_DATABASE_URL)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	return fs
}

// parseCommand parses args and reads the configuration, -database-url
// overriding MEALSYNC_DATABASE_URL.
func parseCommand(fs *flag.FlagSet, args []string, getenv func(string) string, stderr io.Writer) (*config.Config, error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, errHelp
		}
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	var cargs []string
	if u := fs.Lookup("database-url").Value.String(); u != "" {
		cargs = []string{"-database-url", u}
	}
	return loadConfig(fs.Name(), cargs, getenv, stderr)
}

func backupDatabase(cfg *config.Config) backup.Database {
	if cfg.Postgres() {
		return backup.Database{Kind: backup.KindPostgres, URL: cfg.DirectURL()}
	}
	return backup.Database{Kind: backup.KindSQLite, Path: cfg.SQLitePath()}
}

func backupOptions(getenv func(string) string) backup.Options {
	return backup.Options{Version: buildinfo.Get().Version, Now: time.Now, Getenv: getenv}
}
