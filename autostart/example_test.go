package autostart_test

import (
	"log/slog"

	"github.com/tidings-app/tidings/autostart"
)

// The tray's "Start at login" checkbox.
func Example() {
	login := autostart.App{ID: "io.github.tidings_app.tidings", Name: "Tidings",
		Comment: "Desktop notifications from your push server"}

	checked, err := login.IsEnabled() // the checkbox's initial state
	if err != nil {
		slog.Warn("autostart state unknown", "err", err)
	}
	_ = checked

	onToggle := func(on bool) error {
		if !on {
			return login.Disable()
		}
		exe, err := autostart.Executable() // the installed binary, symlinks resolved
		if err != nil {
			return err
		}
		return login.Enable(exe, "--hidden")
	}
	_ = onToggle
}
