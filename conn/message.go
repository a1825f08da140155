// Package conn keeps one live WebSocket to a push server: it dials, keeps the
// link proven alive with pings and heartbeats, reconnects with capped and
// jittered backoff, catches up on what was missed, and hands every message to
// a sink exactly once. Protocol details live in adapters behind one small
// interface. conn never imports Fyne.
package conn

import "time"

// Priority is the client's priority scale, 1–5 (min, low, default, high,
// urgent), the same as the native protocol and ntfy. Adapters map their
// protocol's scale onto it.
type Priority int

const (
	PriorityMin     Priority = 1
	PriorityLow     Priority = 2
	PriorityDefault Priority = 3
	PriorityHigh    Priority = 4
	PriorityUrgent  Priority = 5
)

// Message is one pushed message, normalised from whatever protocol brought
// it. Every field but Server and ID is untrusted server content.
type Message struct {
	// Server identifies the account the message came from (the server URL
	// plus user); with ID it is the message's identity everywhere.
	Server string
	// ID is the protocol's message id as text (a number for the native
	// protocol and Gotify, 12 random characters for ntfy).
	ID       string
	Sent     time.Time // the server's timestamp
	Received time.Time // when this client decoded it
	Title    string
	Body     string
	Priority Priority
	URL      string // click URL as sent; the notifier decides if it is safe
	Source   string // topic, application or publisher name
	Markdown bool   // body is Markdown
	// CatchUp is true for a message replayed after a reconnect rather than
	// pushed live; the notifier may summarise a batch of them.
	CatchUp bool
	// Extra holds what only some protocols carry (ntfy tags, actions,
	// attachment, icon; a Gotify application icon). nil when there is
	// none. A pointer, so Message stays comparable.
	Extra *Extra
}

// Extra is optional protocol content. Every field is untrusted: URLs are
// passed as sent and the notifier decides what is safe to open or fetch.
type Extra struct {
	Tags       []string    // ntfy tags (emoji short codes or plain words)
	Actions    []Action    // ntfy action buttons
	Attachment *Attachment // ntfy attachment
	Icon       string      // icon URL (ntfy icon, Gotify application image); never fetched for popups by conn
	Image      string      // a big image URL (Gotify client::notification bigImageUrl); never fetched by conn
}

// Action is one action button.
type Action struct {
	Kind  string // "view", "http", "broadcast", …
	Label string
	URL   string // view/http actions
}

// Attachment is a file attached to a message (ntfy).
type Attachment struct {
	Name    string
	URL     string
	Type    string // MIME type, if the server knows it
	Size    int64  // bytes, 0 if unknown
	Expires time.Time
}
