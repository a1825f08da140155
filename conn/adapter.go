package conn

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tidings-app/tidings/proto"
)

// FrameKind says what a decoded text frame is.
type FrameKind int

const (
	// FrameIgnore: a control or unknown frame (ntfy "open"/"keepalive", an
	// unknown event type). Proof of life, nothing to show.
	FrameIgnore FrameKind = iota
	// FrameMessage: Frame.Message is one message to deliver.
	FrameMessage
	// FrameHeartbeat: the app-level heartbeat answer. Never shown.
	FrameHeartbeat
)

// Frame is one decoded text frame.
type Frame struct {
	Kind    FrameKind
	Message Message // FrameMessage only; Server, Received and CatchUp are set by the engine
}

// Adapter speaks one push protocol. It is small on purpose: the engine owns
// the socket, timing, backoff, dedup and catch-up bookkeeping; the adapter
// only knows URLs, headers and frame formats.
//
// How the planned adapters fit:
//   - Tidings native: /ws?since=<last>, Bearer header, "HeartBeat" both ways,
//     ordered numeric ids.
//   - Gotify: /stream, X-Gotify-Key header, Heartbeat() == "" (the server
//     caps client frames at 64 bytes), ordered ids, CatchUpper walking
//     GET /message?since= pages.
//   - ntfy: /<topics>/ws?since=<id>, Bearer header, Heartbeat() == "",
//     "open"/"keepalive" → FrameIgnore, OrderedIDs() == false (random ids;
//     an id the cache forgot replays everything, the engine drops repeats).
type Adapter interface {
	// Endpoint returns the WebSocket URL and request headers of one dial.
	// server is the ws:// or wss:// base URL from Config.Server (without
	// query); last is the id of the last delivered message, "" if none.
	// The token goes in a header, never in the URL.
	Endpoint(server *url.URL, token Secret, last string) (*url.URL, http.Header)
	// Decode classifies one text frame. Its error must not contain frame
	// content (it is logged).
	Decode(frame []byte) (Frame, error)
	// Heartbeat is the app-level heartbeat text the client sends every
	// Config.HeartbeatInterval, or "" to send none (servers that reject
	// client frames).
	Heartbeat() string
	// OrderedIDs reports that ids are unsigned integers that grow with
	// time, so any id at or below the last delivered one is a repeat.
	OrderedIDs() bool
}

// CatchUpper is an optional Adapter method set for servers that do not
// replay on the socket (Gotify). The engine calls CatchUp right after the
// upgrade and holds live frames until it returns, then delivers the
// caught-up messages (oldest first) before the held live ones, dropping
// repeats. last is "" when nothing was delivered yet.
//
// On an error the engine still delivers the messages returned with it, if
// the adapter guarantees they are a contiguous run right after last, oldest
// first (so the resume point never jumps over a gap); then the session
// ends and the next one catches up the rest. Return nil with the error
// otherwise.
type CatchUpper interface {
	CatchUp(ctx context.Context, get Fetcher, last string) ([]Message, error)
}

// Fetcher does a GET on the server with the dial's headers and TLS policy
// and returns the body, bounded by Config.ReadLimit: a longer body is an
// error wrapping ErrPageTooLarge, returned with the first ReadLimit bytes. pathAndQuery is
// relative to Config.Server, e.g. "/message?limit=100&since=42".
type Fetcher func(ctx context.Context, pathAndQuery string) ([]byte, error)

// FetchDecoder is an optional Adapter method set for protocols whose frames
// refer to things the server describes elsewhere (Gotify's application ids,
// whose names come from GET /application). When an adapter has it, the
// engine calls DecodeWith instead of Decode on the reader goroutine, with
// the session's context and Fetcher. It may do a bounded lookup (the
// Fetcher's timeout is Config.HandshakeTimeout); it must rate-limit its own
// lookups and never fail a frame because a lookup failed.
type FetchDecoder interface {
	DecodeWith(ctx context.Context, get Fetcher, frame []byte) (Frame, error)
}

// UpgradeErrorMapper is an optional Adapter method set that explains a
// refused upgrade in the protocol's terms (ntfy: 403 means "no read access
// to that topic", 400 a bad since=). The returned error must wrap he, so
// the engine still sees the status and Retry-After.
type UpgradeErrorMapper interface {
	UpgradeError(he *HTTPError) error
}

// ErrBadFrame wraps every decoding error.
var ErrBadFrame = errors.New("conn: undecodable frame")

// NativeAdapter speaks the Tidings protocol (docs/protocol.md) through the
// proto package.
type NativeAdapter struct{}

var _ Adapter = NativeAdapter{}

// Endpoint: GET /ws?since=<last> with Authorization: Bearer <token>.
func (NativeAdapter) Endpoint(server *url.URL, token Secret, last string) (*url.URL, http.Header) {
	return endpoint(server, proto.PathWS, proto.QuerySince, last, "Authorization", "Bearer ", token)
}

// Decode maps proto.DecodeFrame onto a Frame.
func (NativeAdapter) Decode(b []byte) (Frame, error) {
	kind, m, err := proto.DecodeFrame(b)
	if err != nil {
		return Frame{}, errors.Join(ErrBadFrame, err)
	}
	if kind == proto.FrameHeartbeat {
		return Frame{Kind: FrameHeartbeat}, nil
	}
	return Frame{Kind: FrameMessage, Message: Message{
		ID:       strconv.FormatUint(m.ID, 10),
		Sent:     m.Time,
		Title:    m.Title,
		Body:     m.Message,
		Priority: Priority(m.Priority),
		URL:      m.URL,
		Source:   m.Topic,
		Markdown: m.ContentType == proto.ContentMarkdown,
	}}, nil
}

// Heartbeat is proto.HeartBeat.
func (NativeAdapter) Heartbeat() string { return proto.HeartBeat }

// OrderedIDs: native ids are monotonic per user.
func (NativeAdapter) OrderedIDs() bool { return true }

// endpoint joins path onto the server's base path, adds ?<param>=<last> and
// the auth header. Shared by adapters.
func endpoint(server *url.URL, path, param, last, header, scheme string, token Secret) (*url.URL, http.Header) {
	u := *server
	u.Path = strings.TrimRight(u.Path, "/") + path
	u.RawPath = ""
	q := url.Values{}
	if param != "" && last != "" {
		q.Set(param, last)
	}
	u.RawQuery = q.Encode()
	h := http.Header{}
	if !token.IsZero() {
		h.Set(header, scheme+token.Reveal())
	}
	return &u, h
}

// trimFrame drops one trailing newline (and \r), as every protocol allows.
func trimFrame(b []byte) []byte {
	return bytes.TrimRight(b, "\r\n")
}
