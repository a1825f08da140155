package history

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
)

// FileName is the name of the history database inside the data directory.
const FileName = "history.db"

// ErrNoDataDir means no per-user data directory could be worked out (no
// home directory and none of the usual environment variables).
var ErrNoDataDir = errors.New("history: no user data directory")

// DefaultPath returns where the history database lives for this user:
//
//	Linux, BSD: $XDG_DATA_HOME/tidings/history.db (default ~/.local/share/tidings)
//	macOS:      ~/Library/Application Support/Tidings/history.db
//	Windows:    %AppData%\Tidings\history.db
//
// It does not create the directory; Open does.
func DefaultPath() (string, error) {
	home, _ := os.UserHomeDir()
	return defaultPath(runtime.GOOS, os.Getenv, home)
}

// defaultPath is DefaultPath with the operating system, the environment and
// the home directory passed in, so every branch can be tested on any OS.
func defaultPath(goos string, getenv func(string) string, home string) (string, error) {
	var dir string
	switch goos {
	case "windows":
		dir = getenv("AppData")
		if dir == "" && home != "" {
			dir = filepath.Join(home, "AppData", "Roaming")
		}
		if dir != "" {
			dir = filepath.Join(dir, "Tidings")
		}
	case "darwin", "ios":
		if home != "" {
			dir = filepath.Join(home, "Library", "Application Support", "Tidings")
		}
	default: // Linux and the other Unixes follow the XDG base directory spec.
		dir = getenv("XDG_DATA_HOME")
		if !filepath.IsAbs(dir) { // the spec says relative values are ignored
			dir = ""
			if home != "" {
				dir = filepath.Join(home, ".local", "share")
			}
		}
		if dir != "" {
			dir = filepath.Join(dir, "tidings")
		}
	}
	if dir == "" {
		return "", ErrNoDataDir
	}
	return filepath.Join(dir, FileName), nil
}
