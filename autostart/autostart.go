// Package autostart starts the app when the user logs in, written directly
// for each OS: an XDG autostart .desktop file on Linux and the BSDs, a
// LaunchAgent plist on macOS and a value under HKCU\…\Run on Windows.
//
// It needs neither cgo nor Fyne. The pieces that build the entries (Exec
// quoting, the plist, the Windows command line) are plain functions in
// files without build tags, so they are unit-tested on every OS.
package autostart

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode"
)

// App describes the entry written for one application.
type App struct {
	// ID is the reverse-DNS application ID; it names the entry
	// (<ID>.desktop, <ID>.plist, the Run value).
	ID string
	// Name is the human name shown by session managers.
	Name string
	// Comment is an optional one-line description (Linux only).
	Comment string
	// Dir overrides the directory the entry is written to (Linux and
	// macOS); empty means the OS's per-user autostart directory.
	Dir string
}

// Errors callers can test for with errors.Is.
var (
	ErrBadID       = errors.New("autostart: application ID must be a non-empty reverse-DNS name")
	ErrBadArgument = errors.New("autostart: argument cannot be represented in an autostart entry")
	ErrNotAbsolute = errors.New("autostart: executable path must be absolute")
)

// Executable returns the real path of the running binary, with symbolic
// links resolved, so the entry keeps pointing at the installed file (not at
// a /usr/local/bin link or a launcher that may move).
func Executable() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("autostart: locate executable: %w", err)
	}
	real, err := filepath.EvalSymlinks(exe)
	if err != nil {
		return "", fmt.Errorf("autostart: resolve executable: %w", err)
	}
	return filepath.Abs(real)
}

// Enable writes (or rewrites) the login entry that runs exe with args.
// exe must be absolute; use Executable.
func (a App) Enable(exe string, args ...string) error {
	if err := a.check(); err != nil {
		return err
	}
	if err := checkArgs(exe, args); err != nil {
		return err
	}
	return a.enable(exe, args)
}

// Disable removes the login entry; removing an absent entry is not an error.
func (a App) Disable() error {
	if err := a.check(); err != nil {
		return err
	}
	return a.disable()
}

// IsEnabled reports whether a login entry for the app is present and active.
func (a App) IsEnabled() (bool, error) {
	if err := a.check(); err != nil {
		return false, err
	}
	return a.isEnabled()
}

// Location tells where the entry lives: a file path, or the registry
// key and value name on Windows. For messages and tests.
func (a App) Location() (string, error) {
	if err := a.check(); err != nil {
		return "", err
	}
	return a.location()
}

func (a App) check() error {
	if a.ID == "" || strings.ContainsAny(a.ID, `/\`) || strings.HasPrefix(a.ID, ".") {
		return ErrBadID
	}
	for _, r := range a.ID {
		if !(r == '.' || r == '_' || r == '-' || r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r))) {
			return ErrBadID
		}
	}
	return nil
}

func (a App) name() string {
	if a.Name != "" {
		return a.Name
	}
	return a.ID
}

// checkArgs refuses what no entry format can carry: an empty or relative
// program, NUL and other control characters (a newline would end the
// Exec= line; XML 1.0 cannot hold most control characters at all).
func checkArgs(exe string, args []string) error {
	if !filepath.IsAbs(exe) && !isWindowsAbs(exe) {
		return fmt.Errorf("%w: %q", ErrNotAbsolute, exe)
	}
	for _, s := range append([]string{exe}, args...) {
		for _, r := range s {
			if r < 0x20 || r == 0x7f || r == unicode.ReplacementChar {
				return fmt.Errorf("%w: control character %U in %q", ErrBadArgument, r, s)
			}
		}
	}
	return nil
}

// isWindowsAbs accepts C:\… and \\server\share\… whatever the host OS, so
// the pure builders can be tested on Linux.
func isWindowsAbs(p string) bool {
	if len(p) >= 3 && p[1] == ':' && (p[2] == '\\' || p[2] == '/') {
		c := p[0] | 0x20
		return c >= 'a' && c <= 'z'
	}
	return strings.HasPrefix(p, `\\`)
}
