// Package atomicfile writes a file so that a crash or power cut leaves
// either the old content or the new one, never a torn mix: a temp file in
// the same directory, fsync, rename over the target, then make the rename
// durable. On Unix that is an fsync of the directory; Windows refuses to
// sync a directory ("Access denied", microsoft/go#1907) and makes the
// rename durable itself when asked (MoveFileEx with MOVEFILE_WRITE_THROUGH).
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// Write replaces path with data, created with perm.
func Write(path string, data []byte, perm os.FileMode) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = f.Chmod(perm); err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	return replace(tmp, path)
}
