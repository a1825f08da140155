package account

import (
	"fmt"
	"log/slog"
)

// Redacted is what a Secret prints as, everywhere.
const Redacted = "REDACTED"

// Secret holds a token or a password. Every way of printing, logging or
// encoding it yields "REDACTED"; only Reveal returns the value, and it
// should be called only where the value goes on the wire or into the
// keyring. The zero Secret is empty.
type Secret struct{ v string }

// NewSecret wraps s.
func NewSecret(s string) Secret { return Secret{v: s} }

// Reveal returns the secret value. Do not log or format it.
func (s Secret) Reveal() string { return s.v }

// Empty reports whether the secret is the empty string.
func (s Secret) Empty() bool { return s.v == "" }

// Len is the length of the value in bytes.
func (s Secret) Len() int { return len(s.v) }

func (Secret) String() string   { return Redacted }
func (Secret) GoString() string { return "account.Secret{" + Redacted + "}" }

// Format makes every fmt verb (%s %v %+v %#v %q %x …) print the redaction.
func (s Secret) Format(f fmt.State, verb rune) {
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
func (Secret) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalJSON writes "REDACTED", so a Secret in a struct that gets encoded
// (config, debug dumps) never reaches disk.
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// MarshalText redacts for text encoders (TOML, YAML, XML, map keys).
func (Secret) MarshalText() ([]byte, error) { return []byte(Redacted), nil }
