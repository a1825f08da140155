package logging

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// Redacted is what a secret-looking attribute's value becomes.
const Redacted = "REDACTED"

// secretKeyParts: an attribute whose key contains one of these (in any
// case) never has its value logged, at any level.
// So does a key named "auth" or ending in a separated "key" (api_key,
// X-Gotify-Key, private.key).
var secretKeyParts = []string{"token", "password", "passwd", "passphrase", "secret",
	"authorization", "cookie", "apikey", "credential"}

// BodyKeys name attributes that carry message content. By convention
// message bodies are logged only at debug: above debug their value is
// replaced by its length.
var BodyKeys = []string{"body", "title", "text", "content", "message"}

func isSecretKey(k string) bool {
	k = strings.ToLower(k)
	for _, p := range secretKeyParts {
		if strings.Contains(k, p) {
			return true
		}
	}
	if k == "auth" || k == "key" {
		return true
	}
	if n := len(k); n > 4 && strings.HasSuffix(k, "key") && strings.ContainsRune("-_. ", rune(k[n-4])) {
		return true
	}
	return false
}

func isBodyKey(k string) bool {
	k = strings.ToLower(k)
	for _, b := range BodyKeys {
		if k == b {
			return true
		}
	}
	return false
}

// looksLikeCredential catches an Authorization header value logged under
// an innocent key.
func looksLikeCredential(s string) bool {
	l := strings.ToLower(strings.TrimSpace(s))
	return strings.HasPrefix(l, "bearer ") || strings.HasPrefix(l, "basic ")
}

// Redact wraps h as defence in depth (secrets should be redacting types
// in the first place):
//   - the value of an attribute whose key looks secret (token, password,
//     authorization, secret, cookie, api key, …) and any string value
//     that starts with "Bearer " or "Basic " become REDACTED, at every level;
//   - attributes named body, title, text, content or message keep their
//     value only in debug records; above debug it becomes "[N bytes]".
//     Such attributes given to Logger.With are always reduced to their
//     length, since their record's level is not known yet.
//
// Groups are walked and LogValuers resolved before the checks.
func Redact(h slog.Handler) slog.Handler { return &redactor{next: h} }

type redactor struct{ next slog.Handler }

func (r *redactor) Enabled(ctx context.Context, l slog.Level) bool { return r.next.Enabled(ctx, l) }

func (r *redactor) Handle(ctx context.Context, rec slog.Record) error {
	keepBodies := rec.Level <= slog.LevelDebug
	out := slog.NewRecord(rec.Time, rec.Level, rec.Message, rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(clean(a, keepBodies))
		return true
	})
	return r.next.Handle(ctx, out)
}

func (r *redactor) WithAttrs(attrs []slog.Attr) slog.Handler {
	cleaned := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		cleaned[i] = clean(a, false)
	}
	return &redactor{next: r.next.WithAttrs(cleaned)}
}

func (r *redactor) WithGroup(name string) slog.Handler {
	return &redactor{next: r.next.WithGroup(name)}
}

func clean(a slog.Attr, keepBodies bool) slog.Attr {
	a.Value = a.Value.Resolve()
	if isSecretKey(a.Key) {
		return slog.String(a.Key, Redacted)
	}
	switch a.Value.Kind() {
	case slog.KindGroup:
		group := a.Value.Group()
		cleaned := make([]any, len(group))
		for i, g := range group {
			cleaned[i] = clean(g, keepBodies)
		}
		return slog.Group(a.Key, cleaned...)
	case slog.KindString:
		if looksLikeCredential(a.Value.String()) {
			return slog.String(a.Key, Redacted)
		}
	}
	if !keepBodies && isBodyKey(a.Key) {
		return slog.String(a.Key, bodySize(a.Value))
	}
	return a
}

func bodySize(v slog.Value) string {
	if v.Kind() == slog.KindString {
		return fmt.Sprintf("[%d bytes]", len(v.String()))
	}
	return "[omitted]"
}
