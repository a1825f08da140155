package conn

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// JSONAdapter is the generic mode: any JSON-over-WebSocket backend with one
// flat JSON object per message. Every name is configurable; the zero value
// speaks exactly the native Tidings protocol.
type JSONAdapter struct {
	Path       string // WebSocket path; default "/ws"
	SinceParam string // resume query parameter; default "since", "-" for none

	IDField       string // default "id" (a JSON number or string)
	TitleField    string // default "title"
	BodyField     string // default "message"
	PriorityField string // default "priority" (1–5; absent = 3; clamped)
	URLField      string // default "url"
	TimeField     string // default "time" (RFC 3339 or unix seconds)
	TopicField    string // default "topic"

	// EventField/EventValue: when EventField is set, only frames whose
	// EventField equals EventValue (default "message") are messages; other
	// event types are ignored.
	EventField string
	EventValue string

	// HeartbeatText is the heartbeat both ways; default "HeartBeat".
	HeartbeatText string
	// NoClientHeartbeat stops the client from sending HeartbeatText (an
	// incoming HeartbeatText is still recognised).
	NoClientHeartbeat bool
	// UnorderedIDs: ids are not increasing integers; dedup by id only.
	UnorderedIDs bool

	AuthHeader string // default "Authorization"
	AuthScheme string // prefix of the header value; default "Bearer "; "-" for none
}

var _ Adapter = JSONAdapter{}

func (a JSONAdapter) withDefaults() JSONAdapter {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&a.Path, "/ws")
	def(&a.SinceParam, "since")
	def(&a.IDField, "id")
	def(&a.TitleField, "title")
	def(&a.BodyField, "message")
	def(&a.PriorityField, "priority")
	def(&a.URLField, "url")
	def(&a.TimeField, "time")
	def(&a.TopicField, "topic")
	def(&a.EventValue, "message")
	def(&a.HeartbeatText, "HeartBeat")
	def(&a.AuthHeader, "Authorization")
	def(&a.AuthScheme, "Bearer ")
	return a
}

// Endpoint: Path?SinceParam=<last>, token in AuthHeader.
func (a JSONAdapter) Endpoint(server *url.URL, token Secret, last string) (*url.URL, http.Header) {
	a = a.withDefaults()
	param, scheme := a.SinceParam, a.AuthScheme
	if param == "-" {
		param = ""
	}
	if scheme == "-" {
		scheme = ""
	}
	return endpoint(server, a.Path, param, last, a.AuthHeader, scheme, token)
}

// Heartbeat is HeartbeatText unless NoClientHeartbeat.
func (a JSONAdapter) Heartbeat() string {
	if a.NoClientHeartbeat {
		return ""
	}
	return a.withDefaults().HeartbeatText
}

// OrderedIDs is !UnorderedIDs.
func (a JSONAdapter) OrderedIDs() bool { return !a.UnorderedIDs }

// Decode reads one flat JSON object. Errors name the field, never content.
func (a JSONAdapter) Decode(b []byte) (Frame, error) {
	a = a.withDefaults()
	b = trimFrame(b)
	if len(b) == 0 {
		return Frame{}, fmt.Errorf("%w: empty frame", ErrBadFrame)
	}
	if string(b) == a.HeartbeatText {
		return Frame{Kind: FrameHeartbeat}, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil || obj == nil {
		return Frame{}, fmt.Errorf("%w: not a JSON object", ErrBadFrame)
	}
	if a.EventField != "" {
		var ev string
		if raw, ok := obj[a.EventField]; !ok || json.Unmarshal(raw, &ev) != nil || ev != a.EventValue {
			return Frame{Kind: FrameIgnore}, nil
		}
	}
	var m Message
	var err error
	if m.ID, err = jsonID(obj[a.IDField]); err != nil {
		return Frame{}, fmt.Errorf("%w: field %q: %v", ErrBadFrame, a.IDField, err)
	}
	if a.OrderedIDs() {
		if _, perr := strconv.ParseUint(m.ID, 10, 64); perr != nil || m.ID == "0" {
			return Frame{}, fmt.Errorf("%w: field %q is not a positive integer", ErrBadFrame, a.IDField)
		}
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{{a.TitleField, &m.Title}, {a.BodyField, &m.Body}, {a.URLField, &m.URL}, {a.TopicField, &m.Source}} {
		if raw, ok := obj[f.name]; ok && !isNull(raw) {
			if err := json.Unmarshal(raw, f.dst); err != nil {
				return Frame{}, fmt.Errorf("%w: field %q is not a string", ErrBadFrame, f.name)
			}
		}
	}
	m.Priority = PriorityDefault
	if raw, ok := obj[a.PriorityField]; ok && !isNull(raw) {
		var p float64
		if err := json.Unmarshal(raw, &p); err != nil {
			return Frame{}, fmt.Errorf("%w: field %q is not a number", ErrBadFrame, a.PriorityField)
		}
		switch {
		case p == 0:
		case p < 1:
			m.Priority = PriorityMin
		case p > 5:
			m.Priority = PriorityUrgent
		default:
			m.Priority = Priority(int(p))
		}
	}
	if raw, ok := obj[a.TimeField]; ok && !isNull(raw) {
		m.Sent = jsonTime(raw)
	}
	return Frame{Kind: FrameMessage, Message: m}, nil
}

func isNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

// jsonID accepts a JSON string or an integer number.
func jsonID(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || isNull(raw) {
		return "", fmt.Errorf("missing")
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if s == "" || len(s) > 256 {
			return "", fmt.Errorf("empty or too long")
		}
		return s, nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return "", fmt.Errorf("neither string nor number")
	}
	if _, err := strconv.ParseUint(n.String(), 10, 64); err != nil {
		return "", fmt.Errorf("not an unsigned integer")
	}
	return n.String(), nil
}

// jsonTime accepts RFC 3339 or unix seconds; anything else is zero time.
func jsonTime(raw json.RawMessage) time.Time {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		t, _ := time.Parse(time.RFC3339Nano, s)
		return t
	}
	var f float64
	if json.Unmarshal(raw, &f) == nil && f > 0 && f < 1e11 {
		sec := int64(f)
		return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC()
	}
	return time.Time{}
}
