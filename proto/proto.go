// Package proto is the wire format of the native Tidings protocol, spoken by
// tidings-server and by the client's native adapter. docs/protocol.md is its
// prose description; both ends import this package, so the two cannot drift.
//
// The shape follows the design Tidings grew from: log in over HTTP and get a
// token, open one WebSocket, the client sends the text "HeartBeat" every N
// seconds and the server answers it with the same text, and every other text
// frame is one JSON message to show.
package proto

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// HTTP and WebSocket paths served by tidings-server.
const (
	PathLogin   = "/api/login"   // POST LoginRequest → LoginResponse
	PathLogout  = "/api/logout"  // POST, Bearer token; revokes it
	PathMe      = "/api/me"      // GET, Bearer token → MeResponse
	PathPublish = "/api/publish" // POST PublishRequest, Bearer publisher token
	PathWS      = "/ws"          // GET upgrade, Bearer token, ?since=<id>
	PathHealth  = "/healthz"     // GET, 200 "ok" when ready
	PathMetrics = "/metrics"     // GET, Prometheus text format
	QuerySince  = "since"        // last message id the client has seen
)

// HeartBeat is the application-level heartbeat text. The client sends it
// every interval; the server answers each one with the same text. It is proof
// of life and is never shown as a message.
const HeartBeat = "HeartBeat"

// Priorities, 1–5 as in ntfy. Zero on the wire means Default.
const (
	PriorityMin     = 1
	PriorityLow     = 2
	PriorityDefault = 3
	PriorityHigh    = 4
	PriorityUrgent  = 5
)

// ContentMarkdown is the ContentType of a message whose body is Markdown.
const ContentMarkdown = "text/markdown"

// WebSocket close codes the server uses beyond the standard ones.
// 1001 (going away) means "reconnect with backoff".
const (
	// CloseServiceRestart (RFC 6455's registry: service restart) is sent on
	// a graceful shutdown; its reason text is a RestartHint, the schedule
	// this client should reconnect on.
	CloseServiceRestart = 1012
	// CloseTokenRevoked: the token was revoked (logout, user deleted).
	// Do not reconnect until the user logs in again.
	CloseTokenRevoked = 4001
	// CloseSlowConsumer: the client did not drain its queue. Reconnect and
	// catch up with since=.
	CloseSlowConsumer = 4002
	// CloseRetryElsewhere: this instance is unhealthy. Reconnect at once,
	// through the load balancer, to another instance.
	CloseRetryElsewhere = 4003
)

// Message is one message frame, server → client.
type Message struct {
	// ID is monotonic per user, starting at 1. since=<ID> resumes after it.
	ID       uint64    `json:"id"`
	Time     time.Time `json:"time"` // when the server stored it, RFC 3339
	Title    string    `json:"title,omitempty"`
	Message  string    `json:"message"`
	Priority int       `json:"priority"`
	URL      string    `json:"url,omitempty"`   // click URL
	Topic    string    `json:"topic,omitempty"` // source shown to the user
	// ContentType is empty (plain text) or ContentMarkdown.
	ContentType string `json:"content_type,omitempty"`
}

// LoginRequest is the body of POST /api/login.
type LoginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// LoginResponse is the 200 answer to POST /api/login.
type LoginResponse struct {
	Token string `json:"token"`
}

// MeResponse is the answer to GET /api/me: who a session token belongs to.
type MeResponse struct {
	Username string `json:"username"`
}

// PublishRequest is the body of POST /api/publish. Exactly one of To, Group
// and All selects the recipients.
type PublishRequest struct {
	To          string `json:"to,omitempty"`    // a user name
	Group       string `json:"group,omitempty"` // a group name
	All         bool   `json:"all,omitempty"`   // every user
	Title       string `json:"title,omitempty"`
	Message     string `json:"message"`
	Priority    int    `json:"priority,omitempty"` // 1–5, 0 = 3
	URL         string `json:"url,omitempty"`
	Topic       string `json:"topic,omitempty"`
	ContentType string `json:"content_type,omitempty"`
}

// PublishResponse is the 200 answer to POST /api/publish.
type PublishResponse struct {
	Recipients int `json:"recipients"` // users the message was stored for
}

// ErrorResponse is the body of every 4xx/5xx answer.
type ErrorResponse struct {
	Error string `json:"error"`
}

// Decoding errors.
var (
	ErrEmptyFrame = errors.New("proto: empty frame")
	ErrBadFrame   = errors.New("proto: malformed message frame")
)

// FrameKind says what a text frame is.
type FrameKind int

const (
	FrameMessage FrameKind = iota + 1
	FrameHeartbeat
)

// DecodeFrame classifies and decodes one text frame. A trailing newline is
// ignored. The error never contains frame content (it is untrusted and may be
// private), only what was wrong with it.
func DecodeFrame(b []byte) (FrameKind, Message, error) {
	b = bytes.TrimRight(b, "\r\n")
	if len(b) == 0 {
		return 0, Message{}, ErrEmptyFrame
	}
	if string(b) == HeartBeat {
		return FrameHeartbeat, Message{}, nil
	}
	var m Message
	if err := json.Unmarshal(b, &m); err != nil {
		return 0, Message{}, fmt.Errorf("%w: %s", ErrBadFrame, describeJSONError(err))
	}
	if m.ID == 0 {
		return 0, Message{}, fmt.Errorf("%w: missing id", ErrBadFrame)
	}
	if m.Priority == 0 {
		m.Priority = PriorityDefault
	}
	if m.Priority < PriorityMin || m.Priority > PriorityUrgent {
		return 0, Message{}, fmt.Errorf("%w: priority %d out of range 1-5", ErrBadFrame, m.Priority)
	}
	return FrameMessage, m, nil
}

// describeJSONError names the kind of JSON error without echoing content.
func describeJSONError(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q has the wrong type", typ.Field)
	default:
		return "invalid JSON"
	}
}

// ValidPriority reports whether p is 0 (default) or in 1–5.
func ValidPriority(p int) bool { return p == 0 || (p >= PriorityMin && p <= PriorityUrgent) }
