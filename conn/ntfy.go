package conn

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrBadTopic: an ntfy topic name outside [-_A-Za-z0-9]{1,64}, or none.
var ErrBadTopic = errors.New("conn: bad ntfy topic name (use 1–64 letters, digits, - or _)")

// ntfyName is the charset of ntfy topic names and message ids.
var ntfyName = regexp.MustCompile(`^[-_A-Za-z0-9]{1,64}$`)

// NtfyAdapter speaks ntfy (server v2.13, PROTOCOLS.md §3):
//
//   - GET /<topic>[,<topic>…]/ws?since=<last id> with Authorization: Bearer.
//     No client frames; liveness is protocol pings (the server sends no
//     JSON keepalive on /ws).
//   - Frames: "open" first, then cached messages matching since (the server
//     sorts them by time), then live ones. Only "message" events are shown;
//     "open", "keepalive", "poll_request" and unknown events are ignored.
//   - Ids are 12 random characters, not ordered (OrderedIDs false): the
//     engine drops repeats by id. An id the server's cache forgot replays
//     the whole cache; every message of it that was delivered before is in
//     the engine's dedup window (seed it across runs with Config.RecentIDs),
//     so the replay shows nothing twice.
//   - A refused upgrade has an empty body, so the status is all there is:
//     401 login again, 403 no read access to a topic (ErrNoTopicAccess), 429
//     back off (Retry-After honoured by the engine), 400 a bad since=
//     (ErrBadRequest; not retried until a Kick).
//
// Build it with NewNtfyAdapter, which validates the topics.
type NtfyAdapter struct {
	topics []string
	start  *ntfyStart // shared by copies; nil in a zero NtfyAdapter
}

// ntfyStart is the time of the first dial made with nothing delivered yet.
// Until a message arrives, later dials ask for since=<that time> instead of
// nothing: a message published while the first connection was down must
// not be lost, and a fresh login must not replay the server's whole cache.
//
// It also keeps the time of the latest message decoded: a reconnect asks
// since=<that time>, not since=<its id>. A message published with
// "Cache: no" is delivered live but never stored, and ntfy answers a
// since= naming an id it does not know with its whole cache, so an id is
// not always a point ntfy can resume from; a time always is. The
// messages of that same second come again and are dropped as repeats.
type ntfyStart struct {
	mu     sync.Mutex
	unix   int64
	latest int64 // time of the latest message decoded
}

var (
	_ Adapter            = NtfyAdapter{}
	_ UpgradeErrorMapper = NtfyAdapter{}
)

// NewNtfyAdapter checks every topic against [-_A-Za-z0-9]{1,64}; blanks
// around names and duplicates are dropped. At least one topic is needed.
func NewNtfyAdapter(topics []string) (NtfyAdapter, error) {
	var out []string
	seen := map[string]bool{}
	for _, t := range topics {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		if !ntfyName.MatchString(t) {
			return NtfyAdapter{}, fmt.Errorf("%w: %q", ErrBadTopic, truncate(t, 70))
		}
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return NtfyAdapter{}, fmt.Errorf("%w: no topic given", ErrBadTopic)
	}
	return NtfyAdapter{topics: out, start: &ntfyStart{}}, nil
}

// ParseNtfyTopics splits a user's "alerts, backups" (commas or spaces) and
// validates it like NewNtfyAdapter.
func ParseNtfyTopics(s string) ([]string, error) {
	a, err := NewNtfyAdapter(strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }))
	if err != nil {
		return nil, err
	}
	return a.Topics(), nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Topics returns the validated topics.
func (a NtfyAdapter) Topics() []string { return append([]string(nil), a.topics...) }

// Endpoint: /<topics>/ws?since=<last>. A last that is not an ntfy id is
// not sent (it cannot be one of this server's). With nothing delivered yet
// every dial, the first included, asks for everything since the first dial
// (unix seconds, which ntfy accepts as since=): ntfy registers a
// subscription after the upgrade, and a message published in between would
// otherwise reach neither the live stream nor a replay. At most the
// messages of the dial's own second before it are replayed.
func (a NtfyAdapter) Endpoint(server *url.URL, token Secret, last string) (*url.URL, http.Header) {
	if !ntfyName.MatchString(last) {
		last = ""
	}
	if a.start != nil {
		a.start.mu.Lock()
		switch {
		case a.start.latest > 0:
			last = strconv.FormatInt(a.start.latest, 10)
		case last == "":
			if a.start.unix == 0 {
				a.start.unix = time.Now().Unix()
			}
			last = strconv.FormatInt(a.start.unix, 10)
		}
		a.start.mu.Unlock()
	}
	return endpoint(server, "/"+strings.Join(a.topics, ",")+"/ws", "since", last, "Authorization", "Bearer ", token)
}

// Heartbeat is "": ntfy needs no client frames.
func (NtfyAdapter) Heartbeat() string { return "" }

// OrderedIDs: ntfy ids are random.
func (NtfyAdapter) OrderedIDs() bool { return false }

// UpgradeError maps ntfy's empty-body statuses.
func (NtfyAdapter) UpgradeError(he *HTTPError) error {
	switch he.Status {
	case http.StatusForbidden:
		return fmt.Errorf("%w: %w", ErrNoTopicAccess, he)
	case http.StatusBadRequest:
		return fmt.Errorf("%w (probably a bad since=): %w", ErrBadRequest, he)
	}
	return he
}

// ntfyMessage is one ntfy event as it travels.
type ntfyMessage struct {
	ID          string          `json:"id"`
	Time        int64           `json:"time"`
	Event       string          `json:"event"`
	Topic       string          `json:"topic"`
	Title       string          `json:"title"`
	Message     string          `json:"message"`
	Priority    *float64        `json:"priority"`
	Tags        []string        `json:"tags"`
	Click       string          `json:"click"`
	Icon        string          `json:"icon"`
	Actions     []ntfyAction    `json:"actions"`
	Attachment  *ntfyAttachment `json:"attachment"`
	ContentType string          `json:"content_type"`
}

type ntfyAction struct {
	Action string `json:"action"`
	Label  string `json:"label"`
	URL    string `json:"url"`
}

type ntfyAttachment struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	Size    int64  `json:"size"`
	Expires int64  `json:"expires"`
	URL     string `json:"url"`
}

// Decode reads one ntfy event.
func (a NtfyAdapter) Decode(b []byte) (Frame, error) {
	b = trimFrame(b)
	var head struct {
		Event string `json:"event"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return Frame{}, fmt.Errorf("%w: not an ntfy event object", ErrBadFrame)
	}
	if head.Event != "message" {
		return Frame{Kind: FrameIgnore}, nil // open, keepalive, poll_request, anything newer
	}
	var n ntfyMessage
	if err := json.Unmarshal(b, &n); err != nil {
		return Frame{}, fmt.Errorf("%w: an ntfy message field has the wrong type", ErrBadFrame)
	}
	if !ntfyName.MatchString(n.ID) {
		return Frame{}, fmt.Errorf("%w: field \"id\" is missing or not an ntfy id", ErrBadFrame)
	}
	m := Message{
		ID:       n.ID,
		Title:    n.Title,
		Body:     n.Message,
		Priority: ntfyPriority(n.Priority),
		URL:      n.Click,
		Source:   n.Topic,
		Markdown: n.ContentType == "text/markdown",
	}
	if n.Time > 0 && n.Time < 1e11 {
		m.Sent = time.Unix(n.Time, 0).UTC()
		if a.start != nil {
			a.start.mu.Lock()
			a.start.latest = max(a.start.latest, n.Time)
			a.start.mu.Unlock()
		}
	}
	if len(n.Tags) > 0 || len(n.Actions) > 0 || n.Attachment != nil || n.Icon != "" {
		x := &Extra{Tags: n.Tags, Icon: n.Icon}
		for _, act := range n.Actions {
			x.Actions = append(x.Actions, Action{Kind: act.Action, Label: act.Label, URL: act.URL})
		}
		if at := n.Attachment; at != nil {
			x.Attachment = &Attachment{Name: at.Name, URL: at.URL, Type: at.Type, Size: at.Size}
			if at.Expires > 0 && at.Expires < 1e11 {
				x.Attachment.Expires = time.Unix(at.Expires, 0).UTC()
			}
		}
		m.Extra = x
	}
	return Frame{Kind: FrameMessage, Message: m}, nil
}

// ntfyPriority: 1–5 as is; absent or 0 is 3 (ntfy's default); clamped.
func ntfyPriority(p *float64) Priority {
	switch {
	case p == nil || *p == 0:
		return PriorityDefault
	case *p < 1:
		return PriorityMin
	case *p > 5:
		return PriorityUrgent
	default:
		return Priority(int(*p))
	}
}
