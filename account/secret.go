package account

import "github.com/tidings-app/tidings/secret"

// Redacted is what a Secret prints as, everywhere.
const Redacted = secret.Redacted

// Secret holds a token or a password (package secret): every way of
// printing, logging or encoding it yields "REDACTED"; only Reveal returns
// the value.
type Secret = secret.Value

// NewSecret wraps s.
func NewSecret(s string) Secret { return secret.New(s) }
