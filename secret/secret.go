// Package secret is the one type Tidings keeps tokens and passwords in.
// Every way of printing, logging or encoding a Value yields "REDACTED";
// only Reveal returns the value, and it should be called only where the
// value goes on the wire or into the keyring. account, conn and ui re-export
// it under their own name (account.Secret …), so a token passes from the
// login to the connection without being unwrapped.
package secret

import (
	"fmt"
	"log/slog"
)

// Redacted is what a Value prints as, everywhere.
const Redacted = "REDACTED"

// Value holds a token or a password. The zero Value is empty.
type Value struct{ v string }

// New wraps s.
func New(s string) Value { return Value{v: s} }

// Reveal returns the secret. Do not log or format it.
func (s Value) Reveal() string { return s.v }

// Empty reports whether the secret is the empty string.
func (s Value) Empty() bool { return s.v == "" }

// IsZero is Empty, for encoders and callers that look for it.
func (s Value) IsZero() bool { return s.v == "" }

// Len is the length of the value in bytes.
func (s Value) Len() int { return len(s.v) }

func (Value) String() string   { return Redacted }
func (Value) GoString() string { return "secret.Value{" + Redacted + "}" }

// Format makes every fmt verb (%s %v %+v %#v %q %x …) print the redaction.
func (s Value) Format(f fmt.State, verb rune) {
	switch verb {
	case 'v':
		if f.Flag('#') {
			fmt.Fprint(f, s.GoString())
			return
		}
	case 'q':
		fmt.Fprintf(f, "%q", Redacted)
		return
	}
	fmt.Fprint(f, Redacted)
}

// LogValue redacts the secret in log/slog output.
func (Value) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalJSON writes "REDACTED", so a secret in a struct that gets encoded
// (config, debug dumps) never reaches disk.
func (Value) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// MarshalText redacts for text encoders (TOML, YAML, XML, map keys).
func (Value) MarshalText() ([]byte, error) { return []byte(Redacted), nil }
