// Package ui is Tidings' Fyne user interface: the login window, the tray
// icon and menu, the history window and the settings window, in English and
// Simplified Chinese.
//
// ui never imports fyne.io/fyne/v2/app: it receives a fyne.App (and a
// TrayHost for the tray) from cmd/tidings, and talks to the rest of the
// program only through the small interfaces in this file, so it is tested
// headless with fyne.io/fyne/v2/test and CGO_ENABLED=0. Every change that
// comes from another goroutine reaches widgets through Do (fyne.Do, after
// waking the UI loop if an Idler parked it), and bursts of changes are
// coalesced (see coalescer).
//
// On Linux the tray is a SysTray (fyne.io/systray driven directly) and an
// Idler parks Fyne's UI loop while no window is open, so an idle tray app
// neither ticks nor holds a GL context: see idle.go.
package ui

import (
	"context"
	"time"

	"github.com/tidings-app/tidings/conn"
	"github.com/tidings-app/tidings/secret"
)

// State is the connection state as the UI shows it. cmd/tidings maps the
// conn package's states onto it one to one.
type State int

const (
	StateConnecting State = iota
	StateConnected
	StateReconnecting
	StateOffline
	StateAuthFailed
	StateStopped
)

// String names the state for logs and test output; it is not shown to users.
func (s State) String() string {
	switch s {
	case StateConnecting:
		return "connecting"
	case StateConnected:
		return "connected"
	case StateReconnecting:
		return "reconnecting"
	case StateOffline:
		return "offline"
	case StateAuthFailed:
		return "auth-failed"
	case StateStopped:
		return "stopped"
	}
	return "unknown"
}

// Status is one connection status report.
type Status struct {
	State State
	// Server is the name shown in "Connected to …" (host of the server URL).
	Server string
	// Attempt and NextRetry are set while Reconnecting.
	Attempt   int
	NextRetry time.Time
	// Reason is why the server refused (AuthFailed): a sentence for the
	// login window; "" says the login has expired.
	Reason string
}

// Key identifies a stored message: conn.Message's Server and ID.
type Key struct{ Server, ID string }

// KeyOf returns the key of m.
func KeyOf(m conn.Message) Key { return Key{Server: m.Server, ID: m.ID} }

// Entry is a stored message with its read flag.
type Entry struct {
	conn.Message
	Read bool
}

// Key returns the entry's key.
func (e Entry) Key() Key { return KeyOf(e.Message) }

// History is what the UI needs from the message store. Methods are called
// from background goroutines, never from the UI goroutine, and may block.
type History interface {
	// Page returns up to limit entries, newest first, that match search
	// (full-text; "" matches all) and come after the cursor ("" = start). next
	// is the cursor of the following page, "" when there is none. Cursors are
	// opaque to the UI.
	Page(ctx context.Context, search, cursor string, limit int) (entries []Entry, next string, err error)
	// Unread counts unread entries.
	Unread(ctx context.Context) (int, error)
	MarkRead(ctx context.Context, keys ...Key) error
	MarkAllRead(ctx context.Context) error
	Delete(ctx context.Context, keys ...Key) error
	Clear(ctx context.Context) error
	// Sources lists the distinct sources seen, for the per-source mute list.
	Sources(ctx context.Context) ([]string, error)
	// Subscribe calls fn (from any goroutine; fn does not block) after every
	// change to the store until cancel is called.
	Subscribe(fn func()) (cancel func())
}

// Protocol is the server protocol chosen at login.
type Protocol string

const (
	ProtocolTidings Protocol = "tidings"
	ProtocolGotify  Protocol = "gotify"
	ProtocolNtfy    Protocol = "ntfy"
)

// Secret is a password or token typed into the login window (package
// secret): it prints as REDACTED everywhere; Reveal returns it.
type Secret = secret.Value

// NewSecret wraps s.
func NewSecret(s string) Secret { return secret.New(s) }

// LoginRequest is what the login window collects. Exactly one of Password
// and Token is set.
type LoginRequest struct {
	URL      string
	Protocol Protocol
	Topics   []string // ntfy only
	User     string
	Password Secret
	Token    Secret
	Remember bool // keep the token in the OS keyring
	UseToken bool // the user chose to paste a token
	// AllowInsecure is the user's explicit choice of unencrypted http://
	// to a host other than this computer.
	AllowInsecure bool
}

// Accounts logs in and out. cmd/tidings adapts the account package: Login
// exchanges the password for a token (or checks the token), stores it in
// the keyring when Remember is set, and (re)starts the connection.
type Accounts interface {
	Login(ctx context.Context, req LoginRequest) error
	// Explain turns a Login error into one sentence for the user
	// (account.Explain).
	Explain(err error) string
	// Logout stops the connection and forgets the stored token.
	Logout(ctx context.Context) error
}

// Connection is the running connection as the tray controls it.
type Connection interface {
	// Reconnect retries now (conn's Kick).
	Reconnect()
}

// Settings is everything the settings window and the tray change. Zero
// values are valid; a first start begins from DefaultSettings. cmd/tidings
// maps it onto the notifier policy, the history retention and the
// autostart entry.
type Settings struct {
	// MinPopupPriority: messages below it are stored but not popped up.
	MinPopupPriority conn.Priority
	// DoNotDisturb silences popups now (the tray's checked item).
	DoNotDisturb bool
	// DND is the daily quiet schedule.
	DND DNDSchedule
	// PausedUntil silences popups until then (tray: pause for 1 h).
	PausedUntil time.Time
	// MutedSources never pop up.
	MutedSources []string
	// ConnectionLostNotice pops up a notice when the link has been lost a
	// while (rate-limited; on by default: a user who is offline without
	// knowing it misses everything).
	ConnectionLostNotice bool
	// RetentionDays and RetentionMax bound the history; 0 means no bound.
	RetentionDays int
	RetentionMax  int
	// CAFile is a PEM file of extra trusted CAs; "" for the system pool.
	CAFile string
	// StartAtLogin installs the autostart entry.
	StartAtLogin bool
	// Language is "" (follow the system), LangEnglish or LangChinese.
	Language string
}

// DefaultSettings are the settings of a first start.
func DefaultSettings() Settings {
	return Settings{ConnectionLostNotice: true, RetentionDays: DefaultRetentionDays, RetentionMax: DefaultRetentionMax}
}

// The history kept by default: a year, at most 50 000 messages.
const (
	DefaultRetentionDays = 365
	DefaultRetentionMax  = 50_000
)

// DNDSchedule is a daily quiet window from From to To (offsets from
// midnight; To < From wraps midnight).
type DNDSchedule struct {
	Enabled     bool
	From, To    time.Duration
	AllowUrgent bool // urgent messages still pop up
}

// SettingsStore loads and saves settings. Save applies them at once (the
// adapter pushes them to the notifier and the autostart entry) and persists
// them (debounced, off the UI goroutine); it is called on the UI goroutine
// and must be quick.
type SettingsStore interface {
	Load() Settings
	Save(Settings) error
}
