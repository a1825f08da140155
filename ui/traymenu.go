package ui

import (
	"math"
	"time"
	"unicode/utf8"

	"fyne.io/fyne/v2"
)

// RecentCount is how many recent messages the tray menu lists.
const RecentCount = 5

// TraySnapshot is everything the tray menu shows, gathered in one go.
type TraySnapshot struct {
	Status       Status
	Warnings     []Warning // said under the status line, in this order
	Recent       []Entry   // newest first; only the first RecentCount are shown
	Unread       int
	PausedUntil  time.Time
	DND          bool
	StartAtLogin bool
	Now          time.Time
}

// Warning is a lasting problem the tray menu states under its status line
// until it is over.
type Warning int

const (
	// WarnNotSaving: history cannot be written (a full disk, a read-only
	// folder); messages pop up but are not kept.
	WarnNotSaving Warning = iota
	// WarnNoKeyring: no system keyring answers; the login lasts until
	// Tidings quits.
	WarnNoKeyring
	// WarnSettingsNotSaved: the settings file could not be written at
	// login; the next start will not know the account.
	WarnSettingsNotSaved
	warnings // the number of warnings
)

func (w Warning) key() string {
	switch w {
	case WarnNoKeyring:
		return "tray.status.nokeyring"
	case WarnSettingsNotSaved:
		return "tray.status.settingsnotsaved"
	default:
		return "tray.status.notsaving"
	}
}

// TrayActions are the tray menu's callbacks. They run on the UI goroutine;
// nil ones are skipped (their items still show).
type TrayActions struct {
	OpenMessage        func(Entry) // a recent message was clicked
	OpenHistory        func()
	Pause              func(d time.Duration)
	Resume             func()
	ToggleDND          func()
	Reconnect          func()
	OpenSettings       func()
	ToggleStartAtLogin func()
	ShowLogin          func()
	Logout             func()
	Quit               func() // the app's Quit
}

// PauseDuration is the tray's "Pause notifications" length.
const PauseDuration = time.Hour

// needsLogin reports whether the state asks for credentials.
func needsLogin(s State) bool { return s == StateAuthFailed || s == StateStopped }

// StatusLine is the first line of the tray menu (also the tray tooltip).
func StatusLine(s Status, now time.Time) string {
	switch s.State {
	case StateConnected:
		return T("tray.status.connected", map[string]any{"Server": oneLine(s.Server)})
	case StateConnecting:
		return T("tray.status.connecting", map[string]any{"Server": oneLine(s.Server)})
	case StateReconnecting:
		secs := int(math.Ceil(s.NextRetry.Sub(now).Seconds()))
		if secs < 0 {
			secs = 0
		}
		return T("tray.status.reconnecting", map[string]any{"Seconds": secs, "Attempt": s.Attempt})
	case StateOffline:
		return T("tray.status.offline")
	default:
		return T("tray.status.login")
	}
}

// BuildTrayMenu builds the tray menu for snap. Fyne appends Quit itself.
func BuildTrayMenu(snap TraySnapshot, a TrayActions) *fyne.Menu {
	call := func(f func()) func() {
		return func() {
			if f != nil {
				f()
			}
		}
	}
	var items []*fyne.MenuItem

	status := fyne.NewMenuItem(StatusLine(snap.Status, snap.Now), nil)
	switch {
	case snap.Status.State == StateOffline:
		status.Action = call(a.Reconnect)
	case needsLogin(snap.Status.State):
		status.Action = call(a.ShowLogin)
	default:
		status.Disabled = true
	}
	items = append(items, status)
	for _, w := range snap.Warnings {
		warn := fyne.NewMenuItem(T(w.key()), nil)
		warn.Disabled = true
		items = append(items, warn)
	}
	items = append(items, fyne.NewMenuItemSeparator())

	recent := snap.Recent
	if len(recent) > RecentCount {
		recent = recent[:RecentCount]
	}
	if len(recent) == 0 {
		none := fyne.NewMenuItem(T("tray.recent.none"), nil)
		none.Disabled = true
		items = append(items, none)
	}
	for _, e := range recent {
		e := e
		items = append(items, fyne.NewMenuItem(recentLabel(e), func() {
			if a.OpenMessage != nil {
				a.OpenMessage(e)
			}
		}))
	}
	items = append(items, fyne.NewMenuItemSeparator())

	items = append(items, fyne.NewMenuItem(T("tray.history"), call(a.OpenHistory)))
	if snap.PausedUntil.After(snap.Now) {
		items = append(items, fyne.NewMenuItem(T("tray.resume", map[string]any{
			"Until": snap.PausedUntil.Local().Format("15:04"),
		}), call(a.Resume)))
	} else {
		items = append(items, fyne.NewMenuItem(T("tray.pause"), func() {
			if a.Pause != nil {
				a.Pause(PauseDuration)
			}
		}))
	}
	dnd := fyne.NewMenuItem(T("tray.dnd"), call(a.ToggleDND))
	dnd.Checked = snap.DND
	items = append(items, dnd)
	reconnect := fyne.NewMenuItem(T("tray.reconnect"), call(a.Reconnect))
	reconnect.Disabled = needsLogin(snap.Status.State)
	items = append(items, reconnect, fyne.NewMenuItemSeparator())

	items = append(items, fyne.NewMenuItem(T("tray.settings"), call(a.OpenSettings)))
	autostart := fyne.NewMenuItem(T("tray.autostart"), call(a.ToggleStartAtLogin))
	autostart.Checked = snap.StartAtLogin
	items = append(items, autostart)
	if needsLogin(snap.Status.State) {
		items = append(items, fyne.NewMenuItem(T("tray.login"), call(a.ShowLogin)))
	} else {
		items = append(items, fyne.NewMenuItem(T("tray.logout"), call(a.Logout)))
	}
	// Quit is ours: Fyne adds one to a tray menu that lacks it, but only
	// after the menu was exported (and with its action bound too late), so
	// a menu rebuilt on every refresh would never show a working one.
	quit := fyne.NewMenuItem(T("tray.quit"), call(a.Quit))
	quit.IsQuit = true
	items = append(items, fyne.NewMenuItemSeparator(), quit)
	return fyne.NewMenu(T("app.name"), items...)
}

// recentLabel is one line for a recent message: an unread mark, the title
// (or the body's first line) cut to a menu-friendly length.
func recentLabel(e Entry) string {
	text := e.Title
	if text == "" {
		text = e.Body
	}
	text = oneLine(text)
	text = truncate(text, 48)
	if text == "" {
		text = T("history.untitled")
	}
	if !e.Read {
		return "● " + text
	}
	return "   " + text
}

// truncate cuts s to at most n runes, adding an ellipsis when it cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
