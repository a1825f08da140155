//go:build !windows

package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// replace renames tmp over path and fsyncs the directory, so that the
// rename itself survives a power cut.
func replace(tmp, path string) error {
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("atomicfile: sync directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("atomicfile: sync directory: %w", err)
	}
	return nil
}
