//go:build !darwin && !windows

package autostart

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// dir is $XDG_CONFIG_HOME/autostart, or ~/.config/autostart.
func (a App) dir() (string, error) {
	if a.Dir != "" {
		return a.Dir, nil
	}
	if x := os.Getenv("XDG_CONFIG_HOME"); filepath.IsAbs(x) {
		return filepath.Join(x, "autostart"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("autostart: %w", err)
	}
	return filepath.Join(home, ".config", "autostart"), nil
}

func (a App) location() (string, error) {
	d, err := a.dir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, a.ID+".desktop"), nil
}

func (a App) enable(exe string, args []string) error {
	path, err := a.location()
	if err != nil {
		return err
	}
	return writeFileAtomic(path, []byte(a.DesktopEntry(exe, args)))
}

func (a App) disable() error {
	path, err := a.location()
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("autostart: %w", err)
	}
	return nil
}

func (a App) isEnabled() (bool, error) {
	path, err := a.location()
	if err != nil {
		return false, err
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("autostart: %w", err)
	}
	return entryActive(string(b)), nil
}
