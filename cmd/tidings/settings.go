package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/tidings-app/tidings/conn"
	"github.com/tidings-app/tidings/internal/atomicfile"
	"github.com/tidings-app/tidings/notifier"
	"github.com/tidings-app/tidings/ui"
)

// settingsVersion is the schema version of settings.json. Version 1 wrote
// 0 retention for "the history's default"; since 2, 0 means no limit, as
// the settings window says.
const settingsVersion = 2

// saveDelay is how long a change waits for the next one before the file
// is written: typing "365" in a field writes once, not three times.
const saveDelay = 500 * time.Millisecond

// settingsFile is what settings.json holds: the user's choices from the
// settings window and the tray. Never a secret.
type settingsFile struct {
	Version  int         `json:"version"`
	Settings ui.Settings `json:"settings"`
}

// settingsStore keeps ui.Settings in settings.json next to the account
// config and applies every change at once through apply.
type settingsStore struct {
	path  string
	log   *slog.Logger
	apply func(ui.Settings)

	mu      sync.Mutex
	cur     ui.Settings
	delay   time.Duration
	pending *time.Timer // a write is due; nil when the file is current
	writing sync.Mutex  // one write at a time, in order
}

// loadSettings reads path; a missing file gives ui.DefaultSettings, a bad
// one is moved aside (so nothing is lost) and gives the defaults. A file's
// own choices are kept, including those it made before a default changed.
func loadSettings(path string, log *slog.Logger) *settingsStore {
	s := &settingsStore{path: path, log: log, apply: func(ui.Settings) {}, cur: ui.DefaultSettings(), delay: saveDelay}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return s
	case err != nil:
		log.Warn("cannot read settings; using defaults", "path", path, "err", err)
		return s
	}
	f := settingsFile{Settings: ui.DefaultSettings()}
	if err := json.Unmarshal(data, &f); err != nil || f.Version < 1 || f.Version > settingsVersion {
		bad := path + ".bad"
		_ = os.Rename(path, bad)
		log.Warn("settings file unreadable; moved aside, using defaults", "moved_to", bad)
		return s
	}
	if f.Version == 1 { // 0 meant "the default" then
		if f.Settings.RetentionDays == 0 {
			f.Settings.RetentionDays = ui.DefaultRetentionDays
		}
		if f.Settings.RetentionMax == 0 {
			f.Settings.RetentionMax = ui.DefaultRetentionMax
		}
	}
	s.cur = f.Settings
	return s
}

// retentionFrom maps the settings' bounds onto the history's: 0 (no
// limit) is the history's negative.
func retentionFrom(s ui.Settings) (time.Duration, int) {
	age, count := time.Duration(s.RetentionDays)*24*time.Hour, s.RetentionMax
	if s.RetentionDays <= 0 {
		age = -1
	}
	if count <= 0 {
		count = -1
	}
	return age, count
}

// Load returns the current settings (any goroutine).
func (s *settingsStore) Load() ui.Settings {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

// Save applies the settings at once and writes the file after saveDelay
// without a further change, on a background goroutine: the UI goroutine
// never waits for the disk. A failed write is logged and retried with the
// next change; Flush writes what is pending.
func (s *settingsStore) Save(v ui.Settings) error {
	s.mu.Lock()
	s.cur = v
	if s.pending == nil {
		s.pending = time.AfterFunc(s.delay, func() { _ = s.Flush() })
	} else {
		s.pending.Reset(s.delay)
	}
	s.mu.Unlock()
	s.apply(v)
	return nil
}

// Flush writes the current settings now if a write is pending (at exit,
// and when the delay ends).
func (s *settingsStore) Flush() error {
	s.writing.Lock()
	defer s.writing.Unlock()
	s.mu.Lock()
	if s.pending == nil {
		s.mu.Unlock()
		return nil
	}
	s.pending.Stop()
	s.pending = nil
	v := s.cur
	s.mu.Unlock()
	err := s.write(v)
	if err != nil {
		s.log.Warn("cannot write the settings file; the change is kept for this run", "path", s.path, "err", err)
	}
	return err
}

func (s *settingsStore) write(v ui.Settings) error {
	data, err := json.MarshalIndent(settingsFile{Version: settingsVersion, Settings: v}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	if err := atomicfile.Write(s.path, data, 0o600); err != nil {
		return fmt.Errorf("settings: %w", err)
	}
	return nil
}

// forever stands for "until the user turns do-not-disturb off".
var forever = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// policyFrom maps the user's settings onto the notifier's popup policy.
// The tray's manual do-not-disturb switch is a pause with no end.
func policyFrom(s ui.Settings) notifier.Policy {
	p := notifier.Policy{
		MinPriority: s.MinPopupPriority,
		DND: notifier.DND{
			Enabled:     s.DND.Enabled,
			Start:       notifier.TimeOfDay(s.DND.From / time.Minute),
			End:         notifier.TimeOfDay(s.DND.To / time.Minute),
			AllowUrgent: s.DND.AllowUrgent,
		},
		PausedUntil: s.PausedUntil,
	}
	if s.DoNotDisturb {
		p.PausedUntil = forever
	}
	if p.MinPriority == 0 {
		p.MinPriority = conn.PriorityMin
	}
	for _, src := range s.MutedSources {
		p.Muted = append(p.Muted, notifier.Mute{Source: src})
	}
	return p
}
