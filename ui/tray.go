package ui

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"fyne.io/fyne/v2"

	"github.com/tidings-app/tidings/assets"
)

// Tray icons as Fyne resources, one per state the icon shows.
var (
	iconConnected  = fyne.NewStaticResource("tray-connected.png", assets.TrayConnected)
	iconUnread     = fyne.NewStaticResource("tray-unread.png", assets.TrayUnread)
	iconOffline    = fyne.NewStaticResource("tray-offline.png", assets.TrayOffline)
	iconNeedsLogin = fyne.NewStaticResource("tray-login.png", assets.TrayNeedsLogin)
)

// TrayIcon picks the icon for a state and unread count: connected, unread
// (connected with unread messages), offline (also connecting and
// reconnecting) or needs login.
func TrayIcon(s State, unread int) fyne.Resource {
	switch {
	case needsLogin(s):
		return iconNeedsLogin
	case s == StateConnected && unread > 0:
		return iconUnread
	case s == StateConnected:
		return iconConnected
	default:
		return iconOffline
	}
}

// TrayConfig configures a Tray. Desk and Actions are required.
type TrayConfig struct {
	Desk     TrayHost
	History  History       // recent messages and unread count; may be nil
	Settings SettingsStore // paused, DND and start-at-login flags; may be nil
	Actions  TrayActions
	// Interval is the least time between two refreshes (default 1 s: the
	// menu is rebuilt whole, which costs the app more than anything else
	// when messages stream in).
	Interval time.Duration
	// Timeout bounds the store queries of one refresh (default 5 s).
	Timeout time.Duration
	// Tick is how often the menu refreshes while a reconnect countdown
	// shows (default 1 s).
	Tick time.Duration
	Now  func() time.Time
	Log  *slog.Logger
}

func (c TrayConfig) withDefaults() TrayConfig {
	if c.Interval <= 0 {
		c.Interval = time.Second
	}
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Second
	}
	if c.Tick <= 0 {
		c.Tick = time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return c
}

// Tray keeps the tray icon and menu in step with the connection and the
// store. SetStatus and Changed may be called from any goroutine at any rate;
// refreshes are coalesced to at most one per Interval, each applied with
// one fyne.Do.
type Tray struct {
	cfg TrayConfig
	co  *coalescer

	mu       sync.Mutex
	status   Status
	warn     [warnings]bool // lasting problems the menu states
	tick     *time.Timer    // countdown refresh while reconnecting
	closed   bool
	icon     fyne.Resource // last icon set (UI goroutine only)
	refreshN int
}

// NewTray starts the controller and shows the first menu soon after. Call
// it on the UI goroutine, before the tray starts.
func NewTray(cfg TrayConfig) *Tray {
	t := &Tray{cfg: cfg.withDefaults(), status: Status{State: StateStopped}}
	// Set the first icon now, before the tray starts: Fyne's tray start-up
	// sets whatever icon it has at that moment from another goroutine, and
	// would race with a first icon set later.
	t.icon = TrayIcon(StateStopped, 0)
	t.cfg.Desk.SetSystemTrayIcon(t.icon)
	t.co = newCoalescer(t.cfg.Interval, t.refresh)
	t.co.Poke()
	return t
}

// SetStatus reports a new connection status.
func (t *Tray) SetStatus(s Status) {
	t.mu.Lock()
	t.status = s
	t.mu.Unlock()
	t.co.Poke()
}

// SetWarning says whether problem w holds: the menu states it under the
// status line until it is over.
func (t *Tray) SetWarning(w Warning, on bool) {
	if w < 0 || w >= warnings {
		return
	}
	t.mu.Lock()
	t.warn[w] = on
	t.mu.Unlock()
	t.co.Poke()
}

// Changed says the store or the settings changed.
func (t *Tray) Changed() { t.co.Poke() }

// refreshes counts the menu updates applied so far.
func (t *Tray) refreshes() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.refreshN
}

// Close stops the controller; no refresh runs after it returns.
func (t *Tray) Close() {
	t.mu.Lock()
	t.closed = true
	if t.tick != nil {
		t.tick.Stop()
	}
	t.mu.Unlock()
	t.co.Close()
}

// Snapshot gathers what the menu shows. It queries the store, so it runs
// off the UI goroutine.
func (t *Tray) Snapshot() TraySnapshot {
	t.mu.Lock()
	snap := TraySnapshot{Status: t.status, Now: t.cfg.Now()}
	for w, on := range t.warn {
		if on {
			snap.Warnings = append(snap.Warnings, Warning(w))
		}
	}
	t.mu.Unlock()
	if h := t.cfg.History; h != nil {
		ctx, cancel := context.WithTimeout(context.Background(), t.cfg.Timeout)
		defer cancel()
		recent, _, err := h.Page(ctx, "", "", RecentCount)
		if err != nil {
			t.cfg.Log.Warn("tray: recent messages", "err", err)
		}
		snap.Recent = recent
		n, err := h.Unread(ctx)
		if err != nil {
			t.cfg.Log.Warn("tray: unread count", "err", err)
		}
		snap.Unread = n
	}
	if st := t.cfg.Settings; st != nil {
		s := st.Load()
		snap.PausedUntil, snap.DND, snap.StartAtLogin = s.PausedUntil, s.DoNotDisturb, s.StartAtLogin
	}
	return snap
}

func (t *Tray) refresh() {
	snap := t.Snapshot()
	icon := TrayIcon(snap.Status.State, snap.Unread)
	// The menu is built on the UI goroutine: translations are switched
	// there, and Fyne's lang package is not safe across goroutines.
	runOnUI(func() {
		t.cfg.Desk.SetSystemTrayMenu(BuildTrayMenu(snap, t.cfg.Actions))
		if icon != t.icon {
			t.cfg.Desk.SetSystemTrayIcon(icon)
			t.icon = icon
		}
	})
	t.mu.Lock()
	defer t.mu.Unlock()
	t.refreshN++
	// While reconnecting, refresh every Tick so the countdown moves.
	if !t.closed && snap.Status.State == StateReconnecting && snap.Status.NextRetry.After(snap.Now) {
		if t.tick != nil {
			t.tick.Stop()
		}
		t.tick = time.AfterFunc(t.cfg.Tick, t.co.Poke)
	}
}
