package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/tidings-app/tidings/proto"
	"github.com/tidings-app/tidings/server/store"
)

// Request errors. Their text is the reason given to the client; none of them
// ever contains request content.
var (
	ErrMalformed    = errors.New("server: malformed request")
	ErrTooLarge     = errors.New("server: too large")
	ErrBadRecipient = errors.New("server: bad recipient")
	ErrBadField     = errors.New("server: bad field")
)

// DecodePublish decodes and validates a publish request body. Errors wrap
// ErrMalformed, ErrBadRecipient, ErrBadField (all 400) or ErrTooLarge (413);
// they describe what is wrong without echoing content.
func DecodePublish(body []byte, cfg Config) (proto.PublishRequest, error) {
	cfg = cfg.withDefaults()
	var p proto.PublishRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return proto.PublishRequest{}, fmt.Errorf("%w: %s", ErrMalformed, describeJSONError(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return proto.PublishRequest{}, fmt.Errorf("%w: data after the JSON object", ErrMalformed)
	}
	n := 0
	for _, set := range []bool{p.To != "", p.Group != "", p.All} {
		if set {
			n++
		}
	}
	switch {
	case n == 0:
		return proto.PublishRequest{}, fmt.Errorf("%w: one of to, group or all is required", ErrBadRecipient)
	case n > 1:
		return proto.PublishRequest{}, fmt.Errorf("%w: only one of to, group or all may be given", ErrBadRecipient)
	case p.To != "" && !store.ValidName(p.To), p.Group != "" && !store.ValidName(p.Group):
		return proto.PublishRequest{}, fmt.Errorf("%w: not a valid user or group name", ErrBadRecipient)
	}
	if len(p.Message) > cfg.MaxMessage {
		return proto.PublishRequest{}, fmt.Errorf("%w: message is %d bytes, the limit is %d", ErrTooLarge, len(p.Message), cfg.MaxMessage)
	}
	if strings.TrimSpace(p.Message) == "" && strings.TrimSpace(p.Title) == "" {
		return proto.PublishRequest{}, fmt.Errorf("%w: title and message are both empty", ErrBadField)
	}
	if len(p.Title) > cfg.MaxTitle {
		return proto.PublishRequest{}, fmt.Errorf("%w: title is longer than %d bytes", ErrBadField, cfg.MaxTitle)
	}
	if !proto.ValidPriority(p.Priority) {
		return proto.PublishRequest{}, fmt.Errorf("%w: priority must be 1-5", ErrBadField)
	}
	if p.Priority == 0 {
		p.Priority = proto.PriorityDefault
	}
	if len(p.Topic) > 64 || !utf8.ValidString(p.Topic) || strings.ContainsFunc(p.Topic, isControl) {
		return proto.PublishRequest{}, fmt.Errorf("%w: topic must be at most 64 bytes without control characters", ErrBadField)
	}
	if p.ContentType != "" && p.ContentType != proto.ContentMarkdown {
		return proto.PublishRequest{}, fmt.Errorf("%w: content_type must be empty or %s", ErrBadField, proto.ContentMarkdown)
	}
	if p.URL != "" {
		if err := checkURL(p.URL); err != nil {
			return proto.PublishRequest{}, err
		}
	}
	return p, nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// checkURL accepts absolute http and https URLs without user info.
func checkURL(s string) error {
	if len(s) > 2048 {
		return fmt.Errorf("%w: url is longer than 2048 bytes", ErrBadField)
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: url must be an absolute http or https URL", ErrBadField)
	}
	if u.User != nil {
		return fmt.Errorf("%w: url must not contain user info", ErrBadField)
	}
	return nil
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
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "empty or truncated JSON"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// The field name is request content: say only that there was one.
		return "unknown field"
	default:
		return "invalid JSON"
	}
}

// encodeMessage is the frame of one message.
func encodeMessage(m proto.Message) ([]byte, error) { return json.Marshal(m) }
