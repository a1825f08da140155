package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"

	"github.com/tidings-app/tidings/account"
	"github.com/tidings-app/tidings/autostart"
	"github.com/tidings-app/tidings/instance"
	"github.com/tidings-app/tidings/logging"
	"github.com/tidings-app/tidings/notifier"
	"github.com/tidings-app/tidings/ui"
)

// openLog logs to the rotated file in the user's state dir, and to stderr.
// Without a writable state dir it logs to stderr only.
func openLog(levelName string) (*slog.Logger, func(), error) {
	level, err := logging.ParseLevel(levelName)
	if err != nil {
		return nil, nil, err
	}
	lg, err := logging.Open(logging.Config{App: "tidings", Level: level, Also: os.Stderr})
	if err != nil {
		fmt.Fprintln(os.Stderr, "tidings: no log file:", err)
		log := slog.New(logging.Redact(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
		return log, func() {}, nil
	}
	account.LogFile = lg.Path // named by the sentence of an unexplained error
	return lg.Logger, func() { lg.Close() }, nil
}

// errAlreadyRunning: another Tidings of this user took the command.
var errAlreadyRunning = errors.New("tidings is already running")

// singleInstance makes this the user's only Tidings. A later launch hands
// "show-history" to it and gets errAlreadyRunning (an autostart launch
// hands nothing: the running one is already in the tray).
func singleInstance(hidden bool, log *slog.Logger, onShow func()) (release func(), err error) {
	inst, err := instance.Config{AppID: AppID, Logger: log, Handler: func(cmd string) {
		if cmd == "show-history" {
			onShow()
		}
	}}.Acquire()
	switch {
	case errors.Is(err, instance.ErrRunning):
		if !hidden {
			if err := instance.Send(AppID, "show-history"); err != nil {
				return nil, fmt.Errorf("tidings is running but did not answer: %w", err)
			}
		}
		return nil, errAlreadyRunning
	case err != nil:
		log.Warn("single-instance check unavailable; running anyway", "err", err)
		return func() {}, nil
	}
	return func() { inst.Close() }, nil
}

// tellAlreadyRunning pops up, in the user's language, that another Tidings
// runs but took no command: a GUI app's stderr is seen by nobody.
func tellAlreadyRunning(language string, log *slog.Logger) {
	if err := ui.SetLanguage(language); err != nil {
		log.Warn("no translations", "err", err)
	}
	desk := notifier.NewDesktop(log)
	defer desk.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := desk.Show(ctx, notifier.Popup{Title: ui.T("notice.running.title"), Body: ui.T("notice.running.body")}); err != nil {
		log.Warn("could not say that Tidings is already running", "err", err)
	}
}

// loginItem is the autostart entry behind the "Start at login" checkbox.
var loginItem = autostart.App{ID: AppID, Name: "Tidings", Comment: "Desktop notifications from your push server"}

// applyStartAtLogin makes the autostart entry match the setting; the entry
// points at this binary's real path and starts it with --hidden.
func applyStartAtLogin(s ui.Settings, log *slog.Logger) {
	on, err := loginItem.IsEnabled()
	if err == nil && on == s.StartAtLogin {
		return
	}
	if !s.StartAtLogin {
		err = loginItem.Disable()
	} else if exe, xerr := autostart.Executable(); xerr != nil {
		err = xerr
	} else {
		err = loginItem.Enable(exe, "--hidden")
	}
	if err != nil {
		log.Warn("start at login not changed", "err", err)
	}
}

// trayHost picks who shows the tray. Where the tray is a D-Bus service
// (Linux, the BSDs) the app drives it itself (ui.SysTray) and an ui.Idler
// parks Fyne's UI loop while no window is open, so an idle tray costs
// nearly nothing; elsewhere Fyne's own tray, which lives in that loop.
// stop undoes what it started; call it before the app's loop ends.
func trayHost(a fyne.App, log *slog.Logger) (host ui.TrayHost, stop func()) {
	desk, ok := a.(desktop.App)
	if !ok {
		return nil, func() {}
	}
	switch runtime.GOOS {
	case "linux", "freebsd", "openbsd", "netbsd":
	default:
		return desk, func() {}
	}
	st := ui.StartSysTray("Tidings", ui.TrayIcon(ui.StateStopped, 0))
	idler := ui.StartIdler(ui.IdlerConfig{Log: log})
	// Fyne quits on these signals through its UI loop: wake it for good.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		if _, ok := <-sig; ok {
			idler.Stop()
		}
	}()
	return st, func() {
		signal.Stop(sig)
		close(sig)
		idler.Stop()
		st.Close()
	}
}
