package backup

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"
)

// FormatVersion is the version of the metadata file this build writes and
// reads. A change a reader of version 1 would misunderstand increments it.
const FormatVersion = 1

const metaSuffix = ".json"

// MetaPath is where the metadata of the backup at path is kept.
func MetaPath(path string) string { return path + metaSuffix }

// Metadata describes a backup file. It is written beside the backup as
// FILE.json, after the backup itself is complete.
type Metadata struct {
	FormatVersion   int       `json:"format_version"`
	Kind            string    `json:"kind"` // sqlite or postgres
	CreatedAt       time.Time `json:"created_at"`
	MealSyncVersion string    `json:"mealsync_version"`
	// SchemaVersion is the highest applied migration (schema_migrations).
	SchemaVersion int    `json:"schema_version"`
	File          string `json:"file"` // the backup's name when written
	Size          int64  `json:"size"`
	SHA256        string `json:"sha256"`
	// Tables holds the row count of every table, as of the backup's
	// snapshot: SQLite tables by name, PostgreSQL ones as schema.name.
	Tables map[string]int64 `json:"tables"`
	// PostgreSQL only: the pg_dump that wrote the archive (a pg_restore at
	// least as new is needed) and the server it was taken from.
	PGDumpVersion string `json:"pg_dump_version,omitempty"`
	ServerVersion string `json:"server_version,omitempty"`
}

// Rows is the total row count of the backup.
func (m Metadata) Rows() int64 {
	var n int64
	for _, c := range m.Tables {
		n += c
	}
	return n
}

// checkSchema refuses a backup taken at a schema newer than latest, the
// newest this build knows: its data may not fit the older tables.
func (m Metadata) checkSchema(latest int) error {
	if m.SchemaVersion > latest {
		return fmt.Errorf("%w: the backup is at schema version %d, this build knows up to %d: restore it with the mealsync release that wrote it (%s) or a newer one",
			ErrSchemaTooNew, m.SchemaVersion, latest, m.MealSyncVersion)
	}
	return nil
}

// magic is how each kind of backup file starts.
var magic = map[string][]byte{
	KindSQLite:   []byte("SQLite format 3\x00"),
	KindPostgres: []byte("PGDMP"), // pg_dump's custom format
}

// Verify reads the metadata of the backup at path and checks the file
// against it: size, SHA-256 and the kind's file header. It reads the whole
// file and changes nothing.
func Verify(path string) (Metadata, error) {
	m, err := readMetadata(path)
	if err != nil {
		return m, err
	}
	f, err := os.Open(path)
	if err != nil {
		return m, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return m, err
	}
	switch {
	case fi.Size() < m.Size:
		return m, fmt.Errorf("%w: %s is truncated: %d bytes, its metadata says %d", ErrCorrupt, path, fi.Size(), m.Size)
	case fi.Size() > m.Size:
		return m, fmt.Errorf("%w: %s has %d bytes, its metadata says %d", ErrCorrupt, path, fi.Size(), m.Size)
	}
	head := make([]byte, len(magic[m.Kind]))
	if _, err := io.ReadFull(f, head); err != nil || !bytes.Equal(head, magic[m.Kind]) {
		return m, fmt.Errorf("%w: %s does not start like a %s backup", ErrCorrupt, path, m.Kind)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return m, err
	}
	_, sum, err := hashReader(f)
	if err != nil {
		return m, fmt.Errorf("read %s: %w", path, err)
	}
	if sum != m.SHA256 {
		return m, fmt.Errorf("%w: %s fails its checksum (sha256 %s, metadata says %s)", ErrCorrupt, path, sum, m.SHA256)
	}
	return m, nil
}

func readMetadata(path string) (Metadata, error) {
	var m Metadata
	raw, err := os.ReadFile(MetaPath(path))
	if errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Stat(path); err != nil {
			return m, fmt.Errorf("no backup at %s: %w", path, err)
		}
		return m, fmt.Errorf("%w: %s has no %s beside it; without it the backup cannot be checked, so it is not restored",
			ErrNoMetadata, path, MetaPath(path))
	}
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return m, fmt.Errorf("%w: %s is not valid metadata: %v", ErrCorrupt, MetaPath(path), err)
	}
	sum, _ := hex.DecodeString(m.SHA256)
	switch {
	case m.FormatVersion > FormatVersion:
		return m, fmt.Errorf("%s has format version %d; this build reads %d: restore with a newer mealsync",
			MetaPath(path), m.FormatVersion, FormatVersion)
	case m.FormatVersion < 1:
		return m, fmt.Errorf("%w: %s has no format_version", ErrCorrupt, MetaPath(path))
	case magic[m.Kind] == nil:
		return m, fmt.Errorf("%w: %s: unknown kind %q", ErrCorrupt, MetaPath(path), m.Kind)
	case len(sum) != 32 || m.Size <= 0 || m.Tables == nil:
		return m, fmt.Errorf("%w: %s lacks the checksum, size or row counts", ErrCorrupt, MetaPath(path))
	}
	return m, nil
}

func writeMetadata(path string, m Metadata) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := tempFile(path, ".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	if _, _, err := syncAndHash(tmp); err != nil {
		return err
	}
	return renameInto(tmp, path)
}
