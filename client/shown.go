package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/tidings-app/tidings/conn"
	"github.com/tidings-app/tidings/history"
	"github.com/tidings-app/tidings/internal/atomicfile"
)

// shownFileName is the ledger's file in its directory.
const shownFileName = "shown-unsaved.json"

// maxShownFile bounds the ledger a start reads (maxUnsaved keys of a few
// hundred bytes each fit).
const maxShownFile = 64 << 20

// shownLedger remembers, across a restart, the messages that popped up but
// could not be stored: Tidings quit while the disk was full. The resume
// point did not move past them, so the next start fetches them again; the
// ledger lets it store them without popping them up a second time. It lives
// apart from the data directory, in the per-user runtime directory (a RAM
// disk on Linux, writable when the data disk is full), or the per-user temp
// directory on Windows and macOS.
type shownLedger struct {
	path string
	log  *slog.Logger

	mu      sync.Mutex
	keys    map[history.Key]bool // shown by the last run, not stored or not marked
	pending map[history.Key]bool // shown by this run, not durably marked notified
}

// DefaultShownPath is where the ledger lives: $XDG_RUNTIME_DIR/tidings on
// Linux and the BSDs (without it, the user cache directory), the per-user
// temp directory on Windows and macOS. "" when there is none.
func DefaultShownPath() string {
	switch runtime.GOOS {
	case "windows", "darwin":
		return filepath.Join(os.TempDir(), "tidings", shownFileName)
	}
	if x := os.Getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(x) {
		return filepath.Join(x, "tidings", shownFileName)
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "tidings", shownFileName)
	}
	return ""
}

// shownFile is the ledger on disk.
type shownFile struct {
	Version int           `json:"version"`
	Shown   []history.Key `json:"shown"`
}

// decodeShown parses a ledger file; keys without a server or id are
// dropped.
func decodeShown(b []byte) (map[history.Key]bool, error) {
	var f shownFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("client: shown ledger: %w", err)
	}
	if f.Version != 1 {
		return nil, fmt.Errorf("client: shown ledger: version %d", f.Version)
	}
	keys := make(map[history.Key]bool, len(f.Shown))
	for _, k := range f.Shown {
		if k.Server != "" && k.ID != "" {
			keys[k] = true
		}
	}
	return keys, nil
}

// loadShown reads the ledger a previous run left; a missing, unreadable or
// damaged one is an empty ledger (at worst a message pops up twice).
func loadShown(path string, log *slog.Logger) *shownLedger {
	l := &shownLedger{path: path, log: log, keys: map[history.Key]bool{}, pending: map[history.Key]bool{}}
	if path == "" {
		return l
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return l
	}
	if err != nil {
		log.Warn("cannot read the list of messages shown but not saved; they may pop up again", "path", path, "err", err)
		return l
	}
	b, err := io.ReadAll(io.LimitReader(f, maxShownFile+1))
	f.Close() // before any Remove: Windows does not delete an open file
	var keys map[history.Key]bool
	if err == nil {
		keys, err = decodeShown(b)
	}
	if err != nil || len(b) > maxShownFile {
		log.Warn("ignoring a damaged list of messages shown but not saved", "path", path, "err", err)
		_ = os.Remove(path)
		return l
	}
	l.keys = keys
	log.Info("messages shown before the last quit but not saved will be stored without popups", "count", len(keys))
	return l
}

// note remembers keys as shown but not durably marked notified: their
// rows could not be written, or their notified mark could not.
func (l *shownLedger) note(keys ...history.Key) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		l.pending[k] = true
	}
}

// pendingKeys lists what note collected.
func (l *shownLedger) pendingKeys() []history.Key {
	l.mu.Lock()
	defer l.mu.Unlock()
	keys := make([]history.Key, 0, len(l.pending))
	for k := range l.pending {
		keys = append(keys, k)
	}
	return keys
}

// settled forgets keys whose rows and notified marks are now written.
func (l *shownLedger) settled(keys ...history.Key) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		delete(l.pending, k)
	}
}

// flush writes, at quit, what the next start must not pop up again: the
// last run's keys not yet taken and this run's pending ones. It returns
// how many it wrote.
func (l *shownLedger) flush() (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.path == "" {
		return 0, nil
	}
	f := shownFile{Version: 1, Shown: make([]history.Key, 0, len(l.keys)+len(l.pending))}
	for k := range l.keys {
		f.Shown = append(f.Shown, k)
	}
	for k := range l.pending {
		if !l.keys[k] {
			f.Shown = append(f.Shown, k)
		}
	}
	if len(f.Shown) == 0 {
		return 0, nil
	}
	b, err := json.Marshal(f)
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(filepath.Dir(l.path), 0o700); err != nil {
		return 0, fmt.Errorf("client: shown ledger: %w", err)
	}
	return len(f.Shown), atomicfile.Write(l.path, b, 0o600)
}

// take reports whether m was shown by an earlier run, and forgets it: it
// is being stored now. The file goes with the last key.
func (l *shownLedger) take(m conn.Message) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := history.Key{Server: m.Server, ID: m.ID}
	if !l.keys[k] {
		return false
	}
	delete(l.keys, k)
	if len(l.keys) == 0 && l.path != "" {
		if err := os.Remove(l.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			l.log.Warn("cannot remove the list of messages shown but not saved", "path", l.path, "err", err)
		}
	}
	return true
}
