package conn

import (
	"fmt"
	"log/slog"
)

// redacted is what every printing path of a Secret shows.
const redacted = "REDACTED"

// Secret holds a credential (a token) so that it cannot end up in a log line,
// an error message or a URL by accident: String, GoString, Format, LogValue,
// MarshalText and MarshalJSON all print "REDACTED". Only Reveal returns the
// value; adapters call it only to build the auth header of a dial.
type Secret struct {
	v string
}

// NewSecret wraps a credential.
func NewSecret(s string) Secret { return Secret{v: s} }

// Reveal returns the credential. Call it only to put it on the wire.
func (s Secret) Reveal() string { return s.v }

// IsZero reports whether no credential is set.
func (s Secret) IsZero() bool { return s.v == "" }

func (s Secret) String() string   { return redacted }
func (s Secret) GoString() string { return redacted }

// Format makes every fmt verb (%v, %+v, %#v, %s, %q, %x …) print REDACTED.
func (s Secret) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(redacted)) }

// LogValue makes slog print REDACTED.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalText keeps the secret out of encoded config and JSON logs.
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
