package autostart

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/windows/registry"
)

// runKey is the per-user list of programs Explorer starts at login;
// approvedKey is where Task Manager's Startup tab records that the user
// switched an entry off (binary value, odd first byte = disabled).
const (
	runKey      = `Software\Microsoft\Windows\CurrentVersion\Run`
	approvedKey = `Software\Microsoft\Windows\CurrentVersion\Explorer\StartupApproved\Run`
)

func (a App) location() (string, error) {
	return `HKCU\` + runKey + `\` + a.ID, nil
}

func (a App) enable(exe string, args []string) error {
	if strings.Contains(exe, `"`) {
		return fmt.Errorf("%w: quote in program path %q", ErrBadArgument, exe)
	}
	k, _, err := registry.CreateKey(registry.CURRENT_USER, runKey, registry.SET_VALUE)
	if err != nil {
		return fmt.Errorf("autostart: open Run key: %w", err)
	}
	defer k.Close()
	if err := k.SetStringValue(a.ID, WindowsCommandLine(exe, args)); err != nil {
		return fmt.Errorf("autostart: set Run value: %w", err)
	}
	// Ticking the box again must override an earlier "Disable" in Task
	// Manager: without an approval value the entry counts as enabled.
	if ak, err := registry.OpenKey(registry.CURRENT_USER, approvedKey, registry.SET_VALUE); err == nil {
		_ = ak.DeleteValue(a.ID)
		ak.Close()
	}
	return nil
}

func (a App) disable() error {
	k, err := registry.OpenKey(registry.CURRENT_USER, runKey, registry.SET_VALUE)
	if errors.Is(err, registry.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("autostart: open Run key: %w", err)
	}
	defer k.Close()
	if err := k.DeleteValue(a.ID); err != nil && !errors.Is(err, registry.ErrNotExist) {
		return fmt.Errorf("autostart: delete Run value: %w", err)
	}
	return nil
}

func (a App) isEnabled() (bool, error) {
	k, err := registry.OpenKey(registry.CURRENT_USER, runKey, registry.QUERY_VALUE)
	if errors.Is(err, registry.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("autostart: open Run key: %w", err)
	}
	defer k.Close()
	_, _, err = k.GetStringValue(a.ID)
	if errors.Is(err, registry.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("autostart: read Run value: %w", err)
	}
	return !disabledInTaskManager(a.ID), nil
}

func disabledInTaskManager(name string) bool {
	k, err := registry.OpenKey(registry.CURRENT_USER, approvedKey, registry.QUERY_VALUE)
	if err != nil {
		return false
	}
	defer k.Close()
	v, _, err := k.GetBinaryValue(name)
	return err == nil && approvalDisabled(v)
}
