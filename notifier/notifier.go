// Package notifier decides which messages become native desktop popups and
// shows them. It never touches history: the caller stores every message
// first, then hands it to a Dispatcher, which applies the user's Policy
// (minimum priority, do-not-disturb, pause, mutes), folds bursts, duplicates
// and catch-up batches into summaries, and shows what is left through a
// Notifier (D-Bus on Linux, beeep elsewhere) from one worker goroutine that
// never blocks the connection. All text is cleaned by package sanitize.
// notifier never imports Fyne.
package notifier

import (
	"context"
	"errors"

	"github.com/tidings-app/tidings/conn"
)

// AppName is the name the notification server shows.
const AppName = "Tidings"

// DesktopEntry is the application id the freedesktop "desktop-entry" hint
// carries (FyneApp.toml Details.ID).
const DesktopEntry = "io.github.tidings_app.tidings"

// ErrNoServer says no notification backend accepted a popup.
var ErrNoServer = errors.New("notifier: no notification server accepted the popup")

// Urgency is the freedesktop urgency level a popup is shown with.
type Urgency int

const (
	UrgencyLow      Urgency = 0
	UrgencyNormal   Urgency = 1
	UrgencyCritical Urgency = 2
)

func (u Urgency) String() string {
	switch u {
	case UrgencyLow:
		return "low"
	case UrgencyCritical:
		return "critical"
	}
	return "normal"
}

// UrgencyFor maps a message priority to an urgency: min and low → low,
// default (and unset) and high → normal, urgent → critical. Only urgent is
// critical because notification servers never expire critical popups: a
// minute of ordinary high-priority messages would stack up on the screen.
func UrgencyFor(p conn.Priority) Urgency {
	switch {
	case p <= 0:
		return UrgencyNormal
	case p <= conn.PriorityLow:
		return UrgencyLow
	case p >= conn.PriorityUrgent:
		return UrgencyCritical
	}
	return UrgencyNormal
}

// Ref names one stored message: its identity in history.
type Ref struct {
	Server string
	ID     string
}

// Popup is one notification to show. Title and Body are already cleaned
// plain text (sanitize.Summary / sanitize.Body); each backend escapes them as
// its platform requires. URL is empty or a safe http(s) URL.
type Popup struct {
	Title   string
	Body    string
	Urgency Urgency
	URL     string
	// Group, when set, names a popup a later one with the same Group
	// replaces where the platform can (freedesktop replaces_id), so a
	// "(×3)" update does not stack on top of the first copy.
	Group string
	// Refs are the stored messages this popup covers (none for connection
	// notices); the Dispatcher reports them as notified once it is shown.
	Refs []Ref
	// Merged is true for a summary that stands for several messages.
	Merged bool
}

// Notifier shows a popup. Show must return once the popup was handed to the
// platform (or failed), honouring ctx; it is called from one goroutine.
type Notifier interface {
	Show(ctx context.Context, p Popup) error
}

// NotifierFunc adapts a function to Notifier.
type NotifierFunc func(ctx context.Context, p Popup) error

func (f NotifierFunc) Show(ctx context.Context, p Popup) error { return f(ctx, p) }
