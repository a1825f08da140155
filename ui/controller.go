package ui

import (
	"context"
	"log/slog"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// Config is everything the UI needs; cmd/tidings fills it with adapters of
// the real packages.
type Config struct {
	App fyne.App
	// Desk shows the tray: Fyne's desktop.App or a SysTray; nil when
	// there is no tray (tests, mobile).
	Desk       TrayHost
	Accounts   Accounts
	Connection Connection
	History    History
	Settings   SettingsStore
	// LoginDefaults pre-fills the login window (never a secret).
	LoginDefaults LoginRequest
	// Now is the clock (default time.Now).
	Now func() time.Time
	Log *slog.Logger
	// TrayInterval and HistoryInterval bound refresh rates (defaults in
	// TrayConfig and HistoryConfig).
	TrayInterval, HistoryInterval time.Duration
	// Timeout bounds one store or account call made for the user
	// (default 10 s).
	Timeout time.Duration
	// SetTrayTapped, when set, is given what a click on the tray icon
	// should run (cmd/tidings passes fyne.io/systray's SetOnTapped): show
	// the history window, built the first time. (Fyne's
	// SetSystemTrayWindow would show the bare window without building it,
	// and would close it its own way, unseen by the Idler.)
	SetTrayTapped func(func())
	// WarmFontsAfter is when, after the start, the theme's fonts are
	// loaded, so that the first window opens without parsing them (about
	// 60 ms on the benchmark machine, for ~17 MiB of font tables kept);
	// default 1 s, negative: never ahead of the first window.
	WarmFontsAfter time.Duration
}

func (c Config) withDefaults() Config {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.WarmFontsAfter == 0 {
		c.WarmFontsAfter = time.Second
	}
	return c
}

// Controller owns the windows and the tray and wires the tray's actions.
// Build it on the UI goroutine (for example before App.Run or inside
// fyne.Do); SetStatus may then be called from any goroutine.
type Controller struct {
	cfg      Config
	Login    *LoginWindow
	History  *HistoryWindow
	Settings *SettingsWindow
	Tray     *Tray // nil without Desk
	closers  []func()
	closed   bool
}

// NewController makes every window (hidden; each is built when first shown)
// and the tray, and selects the language from the settings.
func NewController(cfg Config) *Controller {
	cfg = cfg.withDefaults()
	if err := SetLanguage(cfg.Settings.Load().Language); err != nil {
		cfg.Log.Error("ui: translations", "err", err)
	}
	c := &Controller{cfg: cfg}
	c.Login = NewLoginWindow(LoginConfig{
		App: cfg.App, Accounts: cfg.Accounts, Initial: cfg.LoginDefaults,
	})
	c.History = NewHistoryWindow(HistoryConfig{App: cfg.App, History: cfg.History, Interval: cfg.HistoryInterval, Timeout: cfg.Timeout, Now: cfg.Now, Log: cfg.Log})
	c.Settings = NewSettingsWindow(SettingsConfig{
		App: cfg.App, Store: cfg.Settings, History: cfg.History, Timeout: cfg.Timeout, Log: cfg.Log,
		OnChange:   func(Settings) { c.trayChanged() },
		OnLanguage: c.SetLanguage,
	})
	if cfg.Desk != nil {
		c.Tray = NewTray(TrayConfig{
			Desk: cfg.Desk, History: cfg.History, Settings: cfg.Settings,
			Actions: c.trayActions(), Interval: cfg.TrayInterval, Timeout: cfg.Timeout, Now: cfg.Now, Log: cfg.Log,
		})
		cancel := cfg.History.Subscribe(c.Tray.Changed)
		c.closers = append(c.closers, cancel)
		if cfg.SetTrayTapped != nil {
			cfg.SetTrayTapped(func() { runOnUI(c.History.Show) })
		}
	}
	if cfg.WarmFontsAfter > 0 {
		t := time.AfterFunc(cfg.WarmFontsAfter, func() { runOnUI(warmFonts) })
		c.closers = append(c.closers, func() { t.Stop() })
	}
	return c
}

// warmFonts makes Fyne load and parse the theme's text fonts (regular and
// bold: what the windows show first), UI goroutine.
func warmFonts() {
	size := theme.TextSize()
	for _, style := range []fyne.TextStyle{{}, {Bold: true}} {
		fyne.MeasureText("Tidings", size, style)
	}
}

// SetStatus reports a connection status (any goroutine). AuthFailed shows
// the login window with the explanation.
func (c *Controller) SetStatus(s Status) {
	if c.Tray != nil {
		c.Tray.SetStatus(s)
	}
	if s.State == StateAuthFailed {
		reason := s.Reason
		if reason == "" {
			reason = T("login.err.expired")
		}
		runOnUI(func() { c.Login.ShowError(reason) })
	}
}

// SetWarning says whether problem w holds (any goroutine); the tray
// states it.
func (c *Controller) SetWarning(w Warning, on bool) {
	if c.Tray != nil {
		c.Tray.SetWarning(w, on)
	}
}

// SetLanguage switches language and rebuilds every window and the menu.
func (c *Controller) SetLanguage(choice string) {
	if err := SetLanguage(choice); err != nil {
		c.cfg.Log.Error("ui: language", "err", err)
		return
	}
	c.Login.Relocalise()
	c.History.Relocalise()
	c.Settings.Relocalise()
	c.trayChanged()
}

// Close stops background work; calling it again does nothing.
func (c *Controller) Close() {
	if c.closed {
		return
	}
	c.closed = true
	for _, f := range c.closers {
		f()
	}
	if c.Tray != nil {
		c.Tray.Close()
	}
	c.History.Close()
}

func (c *Controller) trayChanged() {
	if c.Tray != nil {
		c.Tray.Changed()
	}
}

// updateSettings applies f to the stored settings and saves them.
func (c *Controller) updateSettings(f func(*Settings)) {
	s := c.cfg.Settings.Load()
	f(&s)
	if err := c.cfg.Settings.Save(s); err != nil {
		c.cfg.Log.Warn("ui: save settings", "err", err)
	}
	c.trayChanged()
}

func (c *Controller) trayActions() TrayActions {
	return TrayActions{
		OpenMessage: func(e Entry) {
			if u, ok := SafeURL(e.URL); ok {
				if err := c.cfg.App.OpenURL(u); err != nil {
					c.cfg.Log.Warn("ui: open URL", "err", err)
				}
				go func() {
					ctx, cancel := context.WithTimeout(context.Background(), c.cfg.Timeout)
					defer cancel()
					_ = c.cfg.History.MarkRead(ctx, e.Key())
				}()
				return
			}
			c.History.ShowMessage(e.Key())
		},
		OpenHistory: c.History.Show,
		Pause: func(d time.Duration) {
			c.updateSettings(func(s *Settings) { s.PausedUntil = c.cfg.Now().Add(d) })
		},
		Resume:    func() { c.updateSettings(func(s *Settings) { s.PausedUntil = time.Time{} }) },
		ToggleDND: func() { c.updateSettings(func(s *Settings) { s.DoNotDisturb = !s.DoNotDisturb }) },
		Reconnect: func() {
			if c.cfg.Connection != nil {
				c.cfg.Connection.Reconnect()
			}
		},
		OpenSettings:       c.Settings.Show,
		ToggleStartAtLogin: func() { c.updateSettings(func(s *Settings) { s.StartAtLogin = !s.StartAtLogin }) },
		ShowLogin:          c.Login.Show,
		Quit: func() {
			// A park queued after the quit would hold the loop forever.
			if i := current.Load(); i != nil {
				i.Stop()
			}
			c.cfg.App.Quit()
		},
		Logout: func() {
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), c.cfg.Timeout)
				defer cancel()
				if err := c.cfg.Accounts.Logout(ctx); err != nil {
					// logged out here; the window says what the server did not do
					c.cfg.Log.Warn("ui: logout", "err", err)
					sentence := c.cfg.Accounts.Explain(err)
					runOnUI(func() { c.Login.ShowError(sentence) })
					return
				}
				runOnUI(c.Login.Show)
			}()
		},
	}
}
