package atomicfile

import (
	"fmt"
	"os"

	"golang.org/x/sys/windows"
)

// replace renames tmp over path; MOVEFILE_WRITE_THROUGH returns only once
// the rename is on disk. Windows has no directory fsync to add.
func replace(tmp, path string) error {
	from, err := windows.UTF16PtrFromString(tmp)
	if err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	to, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	if err := windows.MoveFileEx(from, to, windows.MOVEFILE_REPLACE_EXISTING|windows.MOVEFILE_WRITE_THROUGH); err != nil {
		return fmt.Errorf("atomicfile: %w", &os.LinkError{Op: "rename", Old: tmp, New: path, Err: err})
	}
	return nil
}
