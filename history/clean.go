package history

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// A clean close leaves a marker next to the database recording the file's
// size and modification time. At the next Open, if the marker matches the
// file and no -wal file is left, nothing has touched the database since it
// was closed cleanly, and the full page scan (PRAGMA quick_check, about a
// second with 100 000 messages) is skipped; a crash (no marker), a left-over
// WAL or any later write to the file (another size or time) means a full
// check. The marker is removed at every Open, so a crash during this session
// leaves none.

func markerPath(db string) string { return db + ".clean" }

// fileStamp identifies a file's content without reading it.
func fileStamp(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d %d", fi.Size(), fi.ModTime().UnixNano()), nil
}

// cleanSinceClose reports whether path is as a clean Close left it, and
// removes the marker either way.
func cleanSinceClose(path string) bool {
	mark, err := os.ReadFile(markerPath(path))
	_ = os.Remove(markerPath(path))
	if err != nil {
		return false
	}
	if _, err := os.Stat(path + "-wal"); !errors.Is(err, fs.ErrNotExist) {
		return false
	}
	stamp, err := fileStamp(path)
	return err == nil && strings.TrimSpace(string(mark)) == stamp
}

// markClean records that path was closed cleanly.
func markClean(path string) error {
	stamp, err := fileStamp(path)
	if err != nil {
		return err
	}
	return os.WriteFile(markerPath(path), []byte(stamp+"\n"), 0o600)
}
