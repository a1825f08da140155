package logging

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// RotatingWriter appends to a file and rotates it by size: when a write
// would take the file past MaxBytes, path becomes path.1, path.1 becomes
// path.2 and so on, and the oldest of Files files is dropped. A single
// write is never split across files, so each log record stays whole. It is
// safe for concurrent use.
type RotatingWriter struct {
	path     string
	maxBytes int64
	files    int

	mu     sync.Mutex
	f      *os.File
	size   int64
	closed bool
}

// NewRotatingWriter opens (creating, 0600) path for appending. files counts
// the current file too: 3 keeps path, path.1 and path.2.
func NewRotatingWriter(path string, maxBytes int64, files int) (*RotatingWriter, error) {
	if maxBytes <= 0 || files < 1 {
		return nil, fmt.Errorf("logging: rotation needs maxBytes > 0 and files >= 1 (got %d, %d)", maxBytes, files)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("logging: %w", err)
	}
	w := &RotatingWriter{path: path, maxBytes: maxBytes, files: files}
	if err := w.open(); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *RotatingWriter) open() error {
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("logging: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("logging: %w", err)
	}
	w.f, w.size = f, fi.Size()
	return nil
}

// Write appends p, rotating first if p would not fit in the current file
// (unless the file is empty: a record larger than MaxBytes gets a file of
// its own rather than being lost).
func (w *RotatingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return 0, os.ErrClosed
	}
	if w.f != nil && w.size > 0 && w.size+int64(len(p)) > w.maxBytes {
		if err := w.rotate(); err != nil {
			return 0, err
		}
	}
	if w.f == nil { // an earlier rotation could not reopen: try again
		if err := w.open(); err != nil {
			return 0, err
		}
	}
	n, err := w.f.Write(p)
	w.size += int64(n)
	return n, err
}

// rotate closes the current file (Windows cannot rename an open file),
// shifts the numbered files up and starts an empty one.
func (w *RotatingWriter) rotate() error {
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("logging: %w", err)
	}
	w.f = nil
	if w.files == 1 {
		if err := os.Truncate(w.path, 0); err != nil {
			return fmt.Errorf("logging: %w", err)
		}
		return w.open()
	}
	name := func(i int) string {
		if i == 0 {
			return w.path
		}
		return w.path + "." + strconv.Itoa(i)
	}
	if err := os.Remove(name(w.files - 1)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("logging: %w", err)
	}
	for i := w.files - 2; i >= 0; i-- {
		if err := os.Rename(name(i), name(i+1)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("logging: %w", err)
		}
	}
	return w.open()
}

// Close closes the current file.
func (w *RotatingWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}
