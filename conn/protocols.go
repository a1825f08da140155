package conn

import (
	"errors"
	"fmt"
	"strings"
)

// Protocol names, the same strings account.Protocol stores in the config.
const (
	ProtocolNative = "tidings"
	ProtocolGotify = "gotify"
	ProtocolNtfy   = "ntfy"
)

// ErrUnknownProtocol: AdapterFor was given a protocol name it does not know.
var ErrUnknownProtocol = errors.New("conn: unknown protocol")

// AdapterFor returns a fresh Adapter for an account's protocol (its
// account.Protocol as a string) and, for ntfy, its topics. Call it once per
// account and Supervisor: the Gotify adapter caches that server's
// application names. Errors: ErrUnknownProtocol, ErrBadTopic.
func AdapterFor(protocol string, topics []string) (Adapter, error) {
	switch strings.ToLower(strings.TrimSpace(protocol)) {
	case ProtocolNative, "native", "":
		return NativeAdapter{}, nil
	case ProtocolGotify:
		return NewGotifyAdapter(), nil
	case ProtocolNtfy:
		return NewNtfyAdapter(topics)
	}
	return nil, fmt.Errorf("%w %q", ErrUnknownProtocol, truncate(protocol, 40))
}
