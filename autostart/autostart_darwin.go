package autostart

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// location is ~/Library/LaunchAgents/<ID>.plist. launchd reads the
// directory at login; the agent is not loaded now (the app is running).
func (a App) location() (string, error) {
	dir := a.Dir
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("autostart: %w", err)
		}
		dir = filepath.Join(home, "Library", "LaunchAgents")
	}
	return filepath.Join(dir, a.ID+".plist"), nil
}

func (a App) enable(exe string, args []string) error {
	path, err := a.location()
	if err != nil {
		return err
	}
	return writeFileAtomic(path, a.LaunchAgentPlist(exe, args))
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
	_, err = os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("autostart: %w", err)
	}
	return true, nil
}
