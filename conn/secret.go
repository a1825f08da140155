package conn

import "github.com/tidings-app/tidings/secret"

// Secret holds a credential (a token) so that it cannot end up in a log
// line, an error message or a URL by accident (package secret). Only Reveal
// returns the value; adapters call it only to build the auth header of a
// dial.
type Secret = secret.Value

// NewSecret wraps a credential.
func NewSecret(s string) Secret { return secret.New(s) }
