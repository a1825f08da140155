package main

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tidings-app/tidings/internal/desktoptest"
	"github.com/tidings-app/tidings/internal/testkit"
)

// parkedLine is what the app logs (debug) when its UI loop parks.
const parkedLine = "UI loop parked"

// startHiddenIdle starts the app in the tray with no account and no
// window, and waits until its UI loop has parked.
func startHiddenIdle(t *testing.T) (*appProcess, *desktoptest.TrayItem) {
	t.Helper()
	env := desktoptest.Require(t)
	tray := desktoptest.StartTrayWatcher(t)
	dir := t.TempDir()
	app := startApp(t, env, "--config", filepath.Join(dir, "config.json"), "--data", dir, "--log-level", "debug", "--hidden")
	item := tray.WaitItem(t, 30*time.Second)
	testkit.Eventually(t, "the idle app to park its UI loop", func() bool {
		return strings.Contains(app.output(), parkedLine)
	})
	return app, item
}

// clickTray clicks the tray menu item labelled label, as a panel does.
func clickTray(t *testing.T, item *desktoptest.TrayItem, label string) {
	t.Helper()
	menu, err := item.Menu()
	if err != nil {
		t.Fatal(err)
	}
	mi, ok := desktoptest.Find(menu, label)
	if !ok {
		t.Fatalf("no %q in the tray menu: %s", label, describeMenu(menu))
	}
	if err := item.Click(mi.ID); err != nil {
		t.Fatal(err)
	}
}

func waitExit(t *testing.T, app *appProcess, after string) {
	t.Helper()
	select {
	case <-app.exited:
		if app.err != nil {
			t.Fatalf("the app exited with %v after %s", app.err, after)
		}
	case <-time.After(testkit.Patience()):
		t.Fatalf("the app is still running 20 s after %s", after)
	}
}

func TestAParkedAppStillOpensTheHistoryFromTheTrayMenuAndQuitsFromIt(t *testing.T) {
	app, item := startHiddenIdle(t)
	clickTray(t, item, "Open history")
	waitForWindow(t, desktoptest.Require(t))
	// With the window on screen the loop stays awake; the menu still works.
	clickTray(t, item, "Quit")
	waitExit(t, app, "Quit")
}

func TestAParkedAppQuitsOnSIGTERM(t *testing.T) {
	app, _ := startHiddenIdle(t)
	if err := app.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitExit(t, app, "SIGTERM")
}

// Logging out of the desktop session sends SIGTERM; with the history
// window open the app must still quit cleanly (it panicked in
// HistoryWindow.Close: "The GLFW library is not initialized").
func TestSIGTERMWithTheHistoryWindowOpenQuitsCleanly(t *testing.T) {
	app, item := startHiddenIdle(t)
	clickTray(t, item, "Open history")
	waitForWindow(t, desktoptest.Require(t))
	if err := app.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitExit(t, app, "SIGTERM with the history window open")
	if out := app.output(); strings.Contains(out, "panic") || strings.Contains(out, "not initialized") {
		t.Fatalf("the app did not quit cleanly:\n%s", out)
	}
}
