package history

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// fullChecks counts quick_check runs (for tests of the clean-close marker).
var fullChecks atomic.Int64

// ErrCorrupt means SQLite's quick_check found the database damaged.
var ErrCorrupt = errors.New("history: database is corrupt")

// check runs PRAGMA quick_check, which reads every page and verifies the
// b-tree structure (it skips only the index-versus-table comparison of the
// full integrity_check). It also surfaces "file is not a database".
func check(ctx context.Context, db *sql.DB) error {
	fullChecks.Add(1)
	rows, err := db.QueryContext(ctx, `PRAGMA quick_check`)
	if err != nil {
		return fmt.Errorf("history: check database: %w", err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return fmt.Errorf("history: check database: %w", err)
		}
		if line != "ok" && len(problems) < 5 {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("history: check database: %w", err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrCorrupt, strings.Join(problems, "; "))
	}
	return nil
}

// isBadDatabase reports whether err from openFile means the file itself is
// unusable (so moving it aside and starting afresh is right), as opposed to
// a passing or environmental failure (locked by another process, disk full,
// permissions, I/O errors, a cancelled context) where the file must be left
// alone.
func isBadDatabase(err error) bool {
	if errors.Is(err, ErrCorrupt) || errors.Is(err, ErrFutureSchema) {
		return true
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false // not from SQLite: directory creation and the like
	}
	switch se.Code() & 0xff { // the primary result code
	case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_FORMAT:
		return true
	case sqlite3.SQLITE_ERROR, sqlite3.SQLITE_SCHEMA, sqlite3.SQLITE_CONSTRAINT, sqlite3.SQLITE_MISMATCH:
		// A schema that is not ours (a missing or conflicting table at a
		// given user_version): the file is readable but not usable.
		return true
	default: // BUSY, LOCKED, FULL, IOERR, CANTOPEN, PERM, READONLY, NOMEM, …
		return false
	}
}

// moveAside renames path and its -wal and -shm companions to
// path.corrupt-<UTC timestamp>[-wal|-shm], so the set stays openable
// together for inspection. It returns the new main file name.
func moveAside(path string, now time.Time) (string, error) {
	stamp := now.UTC().Format("20060102T150405Z")
	base := path + ".corrupt-" + stamp
	for n := 2; exists(base) || exists(base+"-wal") || exists(base+"-shm"); n++ {
		base = fmt.Sprintf("%s.corrupt-%s-%d", path, stamp, n)
	}
	// Companions first: a -wal left next to a fresh main file would be
	// replayed into it.
	for _, suffix := range []string{"-wal", "-shm", ""} {
		err := os.Rename(path+suffix, base+suffix)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("history: move aside %s: %w", path+suffix, err)
		}
	}
	return base, nil
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
