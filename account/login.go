package account

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode"

	"github.com/tidings-app/tidings/proto"
)

// Protocol names a push protocol. Its string is what the config stores.
type Protocol string

const (
	Native Protocol = "tidings" // the reference server, docs/protocol.md
	Gotify Protocol = "gotify"
	Ntfy   Protocol = "ntfy"
)

// Protocols lists every protocol, in the order a UI offers them.
var Protocols = []Protocol{Native, Gotify, Ntfy}

// Valid reports whether p is a known protocol.
func (p Protocol) Valid() bool { return p == Native || p == Gotify || p == Ntfy }

// Grant is what a login gives: the token and, where the protocol needs
// one to revoke it, a revocation handle (Gotify's client id). RevokeID is
// not secret and is kept in the config; the token is kept only in Tokens.
type Grant struct {
	Token    Secret
	RevokeID string
}

// Authenticator logs in and out with one protocol. server is a URL as
// NormalizeServerURL returns it. The password is used for one request and
// not kept.
type Authenticator interface {
	Login(ctx context.Context, server, username string, password Secret) (Grant, error)
	// Logout revokes the grant on the server. A token the server no longer
	// knows counts as revoked.
	Logout(ctx context.Context, server string, g Grant) error
	// Check tries a token before it is kept: it returns the user name the
	// server knows it by ("" when the server does not say), ErrTokenUnknown
	// when the server refuses it, and for ntfy a *TopicError for the first
	// topic the token may not read.
	Check(ctx context.Context, server string, token Secret, topics []string) (string, error)
}

// checkAnswer maps a token check's refusal: 401 (and Gotify's 403 for an
// application token) means the token is not one the server accepts.
func checkAnswer(err error) error {
	var se *StatusError
	if errors.As(err, &se) && (se.Code == http.StatusUnauthorized || se.Code == http.StatusForbidden) {
		return fmt.Errorf("%w: %w", ErrTokenUnknown, err)
	}
	return err
}

// userName decodes {"<field>": "..."} from a check's answer.
func userName(data []byte, field string) (string, error) {
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		return "", fmt.Errorf("%w: the account answer is not the expected JSON", ErrNotPushServer)
	}
	name, _ := v[field].(string)
	return name, nil
}

// NewAuthenticator returns the Authenticator for p.
func NewAuthenticator(p Protocol, cfg HTTPConfig) (Authenticator, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	switch p {
	case Native:
		return nativeAuth{cfg}, nil
	case Gotify:
		return gotifyAuth{cfg}, nil
	case Ntfy:
		return ntfyAuth{cfg}, nil
	}
	return nil, fmt.Errorf("%w %q", ErrBadProtocol, string(p))
}

func checkCredentials(username string, password Secret) error {
	if strings.TrimSpace(username) == "" {
		return ErrNoUsername
	}
	if password.Empty() {
		return ErrNoPassword
	}
	return nil
}

// goneIsRevoked treats "token unknown" (401) and "client gone" (404) on a
// revocation as success: the token no longer works either way.
func goneIsRevoked(err error) error {
	var se *StatusError
	if errors.As(err, &se) && (se.Code == http.StatusUnauthorized || se.Code == http.StatusNotFound) {
		return nil
	}
	return err
}

func bearer(token Secret) http.Header {
	return http.Header{"Authorization": {"Bearer " + token.Reveal()}}
}

// --- native Tidings: POST /api/login, POST /api/logout (docs/protocol.md)

type nativeAuth struct{ c HTTPConfig }

func (a nativeAuth) Login(ctx context.Context, server, username string, password Secret) (Grant, error) {
	if err := checkCredentials(username, password); err != nil {
		return Grant{}, err
	}
	_, data, err := a.c.do(ctx, request{method: http.MethodPost, server: server, path: proto.PathLogin,
		body: proto.LoginRequest{Username: username, Password: password.Reveal()}})
	if err != nil {
		return Grant{}, err
	}
	var resp proto.LoginResponse
	if err := decodeAnswer(data, &resp, func() string { return resp.Token }); err != nil {
		return Grant{}, err
	}
	return Grant{Token: NewSecret(resp.Token)}, nil
}

func (a nativeAuth) Check(ctx context.Context, server string, token Secret, _ []string) (string, error) {
	_, data, err := a.c.do(ctx, request{method: http.MethodGet, server: server, path: proto.PathMe, header: bearer(token)})
	if err != nil {
		return "", checkAnswer(err)
	}
	return userName(data, "username")
}

func (a nativeAuth) Logout(ctx context.Context, server string, g Grant) error {
	_, _, err := a.c.do(ctx, request{method: http.MethodPost, server: server, path: proto.PathLogout, header: bearer(g.Token)})
	return goneIsRevoked(err)
}

// --- Gotify: POST /client with Basic auth → {id, token}; POST /auth/logout
// (Gotify 3) or DELETE /client/<id> (2.9)

type gotifyAuth struct{ c HTTPConfig }

func (a gotifyAuth) Login(ctx context.Context, server, username string, password Secret) (Grant, error) {
	if err := checkCredentials(username, password); err != nil {
		return Grant{}, err
	}
	_, data, err := a.c.do(ctx, request{method: http.MethodPost, server: server, path: "/client",
		basic: &[2]string{username, password.Reveal()}, body: map[string]string{"name": a.c.ClientName}})
	if err != nil {
		return Grant{}, err
	}
	var resp struct {
		ID    json.Number `json:"id"`
		Token string      `json:"token"`
	}
	if err := decodeAnswer(data, &resp, func() string { return resp.Token }); err != nil {
		return Grant{}, err
	}
	if _, err := strconv.ParseUint(resp.ID.String(), 10, 64); err != nil {
		return Grant{}, fmt.Errorf("%w: the answer has no client id", ErrNotPushServer)
	}
	return Grant{Token: NewSecret(resp.Token), RevokeID: resp.ID.String()}, nil
}

// Check asks GET /current/user, which a client token may call and an
// application token may not.
func (a gotifyAuth) Check(ctx context.Context, server string, token Secret, _ []string) (string, error) {
	_, data, err := a.c.do(ctx, request{method: http.MethodGet, server: server, path: "/current/user", header: gotifyKey(token)})
	if err != nil {
		return "", checkAnswer(err)
	}
	return userName(data, "name")
}

func gotifyKey(token Secret) http.Header {
	return http.Header{"X-Gotify-Key": {token.Reveal()}}
}

// Logout deletes the Tidings client on the server. Gotify 3 has POST
// /auth/logout, which deletes the calling client with its own plain token
// (DELETE /client/<id> now needs an elevated session, answering 403
// "session not elevated"); Gotify 2.9 does not have it (404), and there the
// client deletes itself by id.
func (a gotifyAuth) Logout(ctx context.Context, server string, g Grant) error {
	_, _, err := a.c.do(ctx, request{method: http.MethodPost, server: server, path: "/auth/logout", header: gotifyKey(g.Token)})
	var se *StatusError
	if !errors.As(err, &se) || (se.Code != http.StatusNotFound && se.Code != http.StatusMethodNotAllowed) {
		return goneIsRevoked(err) // deleted, or the token was already gone (401)
	}
	id := g.RevokeID
	if id == "" {
		// A pasted token: find its client id in the user's client list.
		found, err := a.findClientID(ctx, server, g.Token)
		if err != nil {
			return goneIsRevoked(err)
		}
		id = found
	}
	if _, err := strconv.ParseUint(id, 10, 64); err != nil {
		return fmt.Errorf("%w: bad Gotify client id", ErrRevokeFailed)
	}
	_, _, err = a.c.do(ctx, request{method: http.MethodDelete, server: server, path: "/client/" + id, header: gotifyKey(g.Token)})
	return goneIsRevoked(err)
}

func (a gotifyAuth) findClientID(ctx context.Context, server string, token Secret) (string, error) {
	_, data, err := a.c.do(ctx, request{method: http.MethodGet, server: server, path: "/client", header: gotifyKey(token)})
	if err != nil {
		return "", err
	}
	var clients []struct {
		ID    json.Number `json:"id"`
		Token string      `json:"token"`
	}
	if err := json.Unmarshal(data, &clients); err != nil {
		return "", fmt.Errorf("%w: the client list is not the expected JSON", ErrNotPushServer)
	}
	for _, c := range clients {
		if c.Token == token.Reveal() {
			return c.ID.String(), nil
		}
	}
	return "", fmt.Errorf("%w: no Gotify client holds this token", ErrRevokeFailed)
}

// --- ntfy: POST /v1/account/token with Basic auth; DELETE with Bearer

type ntfyAuth struct{ c HTTPConfig }

const ntfyTokenPath = "/v1/account/token"

func (a ntfyAuth) Login(ctx context.Context, server, username string, password Secret) (Grant, error) {
	if err := checkCredentials(username, password); err != nil {
		return Grant{}, err
	}
	// expires 0: without it the token dies after 72 h.
	_, data, err := a.c.do(ctx, request{method: http.MethodPost, server: server, path: ntfyTokenPath,
		basic: &[2]string{username, password.Reveal()}, body: map[string]any{"label": a.c.ClientName, "expires": 0}})
	if err != nil {
		return Grant{}, err
	}
	var resp struct {
		Token string `json:"token"`
	}
	if err := decodeAnswer(data, &resp, func() string { return resp.Token }); err != nil {
		return Grant{}, err
	}
	return Grant{Token: NewSecret(resp.Token)}, nil
}

// Check asks GET /v1/account for the user name, then GET /<topic>/auth for
// each topic: ntfy answers 403 for a topic the token may not read, which
// the WebSocket's 403 cannot name.
func (a ntfyAuth) Check(ctx context.Context, server string, token Secret, topics []string) (string, error) {
	_, data, err := a.c.do(ctx, request{method: http.MethodGet, server: server, path: "/v1/account", header: bearer(token)})
	if err != nil {
		return "", checkAnswer(err)
	}
	name, err := userName(data, "username")
	if err != nil {
		return "", err
	}
	for _, t := range topics {
		_, _, err := a.c.do(ctx, request{method: http.MethodGet, server: server, path: "/" + t + "/auth", header: bearer(token)})
		var se *StatusError
		if errors.As(err, &se) && se.Code == http.StatusForbidden {
			return "", &TopicError{Topic: t, Err: ErrTopicForbidden}
		}
		if err != nil {
			return "", checkAnswer(err)
		}
	}
	return name, nil
}

func (a ntfyAuth) Logout(ctx context.Context, server string, g Grant) error {
	_, _, err := a.c.do(ctx, request{method: http.MethodDelete, server: server, path: ntfyTokenPath, header: bearer(g.Token)})
	return goneIsRevoked(err)
}

// MaxTokenLen bounds a pasted token (the keyring limit is lower still).
const MaxTokenLen = 2048

// ValidateToken checks a pasted token for protocol p and returns it as a
// Secret: surrounding space trimmed, not empty, printable ASCII without
// spaces (it goes into an HTTP header), at most MaxTokenLen bytes, and with
// the protocol's prefix where it has one (ntfy "tk_"; Gotify client tokens
// start with "gtfyc." or, before Gotify 3, "C" — an application token
// "gtfya."/"A…" cannot read messages). The
// error never contains the token.
func ValidateToken(p Protocol, raw string) (Secret, error) {
	s := strings.TrimSpace(raw)
	switch {
	case s == "":
		return Secret{}, ErrTokenEmpty
	case len(s) > MaxTokenLen:
		return Secret{}, ErrTokenTooLong
	case strings.ContainsFunc(s, func(r rune) bool { return r > unicode.MaxASCII || !unicode.IsPrint(r) || r == ' ' }):
		return Secret{}, ErrTokenChars
	}
	switch p {
	case Native:
	case Gotify:
		// Gotify 3 makes "gtfyc." client and "gtfya." application tokens
		// and still accepts the older "C…" and "A…" ones.
		if strings.HasPrefix(s, "gtfya.") || s[0] == 'A' {
			return Secret{}, ErrAppToken
		}
		if !(strings.HasPrefix(s, "gtfyc.") && len(s) > len("gtfyc.")) && s[0] != 'C' {
			return Secret{}, ErrGotifyTokenShape
		}
	case Ntfy:
		if !strings.HasPrefix(s, "tk_") || len(s) < 4 {
			return Secret{}, ErrNtfyTokenShape
		}
	default:
		return Secret{}, fmt.Errorf("%w %q", ErrBadProtocol, string(p))
	}
	return NewSecret(s), nil
}
