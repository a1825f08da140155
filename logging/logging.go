// Package logging sets up the app's log: log/slog text records to a file in
// the user's state directory, rotated by size, at a level from settings or
// --log-level, behind a handler that redacts secret-looking attributes and
// keeps message bodies out of anything above debug.
package logging

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// ErrBadLevel: ParseLevel accepts debug, info, warn (warning) and error.
var ErrBadLevel = errors.New("logging: unknown level (want debug, info, warn or error)")

// ParseLevel reads a level name, case-insensitively; "" is info.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		return slog.LevelDebug, nil
	case "", "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return slog.LevelInfo, fmt.Errorf("%w: %q", ErrBadLevel, s)
}

// DefaultDir is where app's logs go: $XDG_STATE_HOME/<app> (default
// ~/.local/state/<app>) on Linux and the BSDs, ~/Library/Logs/<app> on
// macOS, %LOCALAPPDATA%\<app>\logs on Windows.
func DefaultDir(app string) (string, error) {
	switch runtime.GOOS {
	case "windows":
		base, err := os.UserCacheDir() // %LOCALAPPDATA%
		if err != nil {
			return "", fmt.Errorf("logging: %w", err)
		}
		return filepath.Join(base, app, "logs"), nil
	case "darwin":
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("logging: %w", err)
		}
		return filepath.Join(home, "Library", "Logs", app), nil
	}
	if x := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(x) {
		return filepath.Join(x, app), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		base, cerr := os.UserCacheDir()
		if cerr != nil {
			return "", fmt.Errorf("logging: %w", err)
		}
		return filepath.Join(base, app), nil
	}
	return filepath.Join(home, ".local", "state", app), nil
}

// Config says where and how much to log. Zero values take the defaults.
type Config struct {
	App      string     // names the directory and file; default "tidings"
	Dir      string     // default DefaultDir(App)
	Level    slog.Level // the starting level; change it later with SetLevel
	MaxBytes int64      // per file; default 5 MiB
	Files    int        // kept files, the current one included; default 3
	// Also, when set, receives every record too (a terminal while developing).
	Also io.Writer
}

func (c Config) withDefaults() Config {
	if c.App == "" {
		c.App = "tidings"
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = 5 << 20
	}
	if c.Files <= 0 {
		c.Files = 3
	}
	return c
}

// Log is an open log file and the logger writing to it.
type Log struct {
	*slog.Logger
	Path  string // the current file
	level *slog.LevelVar
	w     *RotatingWriter
}

// Open creates the directory (0700) and the file (0600) and returns a
// logger whose records go through Redact into a rotating text log.
func Open(cfg Config) (*Log, error) {
	cfg = cfg.withDefaults()
	if cfg.Dir == "" {
		d, err := DefaultDir(cfg.App)
		if err != nil {
			return nil, err
		}
		cfg.Dir = d
	}
	path := filepath.Join(cfg.Dir, cfg.App+".log")
	w, err := NewRotatingWriter(path, cfg.MaxBytes, cfg.Files)
	if err != nil {
		return nil, err
	}
	level := new(slog.LevelVar)
	level.Set(cfg.Level)
	var out io.Writer = w
	if cfg.Also != nil {
		out = io.MultiWriter(w, cfg.Also)
	}
	h := Redact(slog.NewTextHandler(out, &slog.HandlerOptions{Level: level}))
	return &Log{Logger: slog.New(h), Path: path, level: level, w: w}, nil
}

// SetLevel changes the level at run time (from the settings window).
func (l *Log) SetLevel(level slog.Level) { l.level.Set(level) }

// Close closes the file; records logged afterwards are lost.
func (l *Log) Close() error { return l.w.Close() }
