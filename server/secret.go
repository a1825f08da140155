package server

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"log/slog"
	"net/http"
	"strings"

	"github.com/tidings-app/tidings/server/store"
)

// Token prefixes: they make a leaked token recognisable to secret scanners.
const (
	SessionPrefix   = "tdt_"
	PublisherPrefix = "tdp_"
)

// Secret holds a token or password. It prints as REDACTED in every format
// and log, so it cannot leak by accident; Reveal returns the value.
type Secret string

// Redacted is what a Secret prints as.
const Redacted = "REDACTED"

func (Secret) String() string               { return Redacted }
func (Secret) GoString() string             { return Redacted }
func (Secret) LogValue() slog.Value         { return slog.StringValue(Redacted) }
func (Secret) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// Reveal returns the secret value, for the one place that needs it.
func (s Secret) Reveal() string { return string(s) }

// NewToken returns a fresh random token with prefix.
func NewToken(prefix string) Secret {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("server: no randomness: " + err.Error()) // crypto/rand never fails on supported systems
	}
	return Secret(prefix + base64.RawURLEncoding.EncodeToString(b[:]))
}

// HashToken is how tokens are stored.
func HashToken(t Secret) store.TokenHash { return sha256.Sum256([]byte(t)) }

// bearer returns the token of an "Authorization: Bearer" header.
func bearer(r *http.Request) (Secret, bool) {
	h := r.Header.Get("Authorization")
	const p = "Bearer "
	if len(h) <= len(p) || !strings.EqualFold(h[:len(p)], p) {
		return "", false
	}
	t := strings.TrimSpace(h[len(p):])
	return Secret(t), t != ""
}
