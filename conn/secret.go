package conn

import "github.com/tidings-app/tidings/secret"

// redacted is what every printing path of a Secret shows.
const redacted = secret.Redacted

// Secret holds a credential (a token) so that it cannot end up in a log
// line, an error message or a URL by accident (package secret). Only Reveal
// returns the value; adapters call it only to build the auth header of a
// dial.
type Secret = secret.Value

// NewSecret wraps a credential.
func NewSecret(s string) Secret { return secret.New(s) }
