// Package account turns what the user types into a token and keeps it safe.
//
// It logs in with each protocol's own API (native Tidings, Gotify, ntfy) or
// accepts a pasted token, keeps the token in the OS keyring and nowhere else
// (in memory for this run when no keyring answers, never in a file), stores
// the non-secret account settings in the user's config directory, logs out
// by revoking the token on the server and deleting it locally, and explains
// any error in one sentence for the user (Explain). It imports no UI code.
package account

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Sentinel errors. Test them with errors.Is; show them with Explain.
var (
	// Login and servers.
	ErrUnauthorized  = errors.New("account: wrong username or password")
	ErrTokenRejected = errors.New("account: the server no longer accepts this token")
	ErrForbidden     = errors.New("account: the server refused access")
	ErrRateLimited   = errors.New("account: rate limited by the server")
	ErrNotPushServer = errors.New("account: not a Tidings, Gotify or ntfy server")
	ErrServerError   = errors.New("account: the server failed")
	ErrRedirected    = errors.New("account: the server redirected the request")
	ErrBadProtocol   = errors.New("account: unknown protocol")
	ErrRevokeFailed  = errors.New("account: the token could not be revoked on the server")
	// ErrTokenUnknown: a pasted token the server does not accept (it never
	// worked, unlike ErrTokenRejected).
	ErrTokenUnknown = errors.New("account: the server does not accept this token")
	// ErrUnavailable: a 502, 503 or 504 — the server, or a proxy in front
	// of it, cannot serve now.
	ErrUnavailable = errors.New("account: the server is unavailable")
	// ErrPlainHTTP: an https:// address whose server speaks plain http.
	ErrPlainHTTP = errors.New("account: the server speaks plain http, not https")
	// ErrBadTopic and ErrTopicForbidden come inside a *TopicError.
	ErrBadTopic       = errors.New("account: not a valid ntfy topic name")
	ErrTopicForbidden = errors.New("account: this account may not read the topic")

	// Server addresses.
	ErrEmptyURL      = errors.New("account: no server address")
	ErrBadURL        = errors.New("account: malformed server address")
	ErrUserInfoInURL = errors.New("account: the server address contains a user name or password")
	ErrInsecureURL   = errors.New("account: http:// to a host that is not this computer")
	ErrNoUsername    = errors.New("account: no user name")
	ErrNoPassword    = errors.New("account: no password")
	ErrBadToken      = errors.New("account: the token is empty or malformed")
	// What is wrong with a pasted token; each wraps ErrBadToken.
	ErrTokenEmpty       = fmt.Errorf("%w: it is empty", ErrBadToken)
	ErrTokenTooLong     = fmt.Errorf("%w: it is longer than %d characters", ErrBadToken, MaxTokenLen)
	ErrTokenChars       = fmt.Errorf("%w: it contains spaces or characters a token cannot have", ErrBadToken)
	ErrAppToken         = fmt.Errorf("%w: this is a Gotify application token, which can only send", ErrBadToken)
	ErrGotifyTokenShape = fmt.Errorf("%w: a Gotify client token starts with gtfyc (Gotify 3) or C (Gotify 2)", ErrBadToken)
	ErrNtfyTokenShape   = fmt.Errorf("%w: an ntfy access token starts with tk_", ErrBadToken)
	ErrTokenTooBig      = errors.New("account: the token is too large for the system keyring")
	ErrNoToken          = errors.New("account: no token stored for this account")
	ErrNoKeyring        = errors.New("account: no system keyring available")
	ErrBadConfig        = errors.New("account: the settings file is unreadable")
	ErrConfigTooNew     = errors.New("account: the settings file was written by a newer Tidings")
	// ErrConfigNotSaved: a login worked (its token is kept) but the settings
	// file naming the account could not be written; the next start will not
	// resume it. A warning, like ErrNoKeyring.
	ErrConfigNotSaved = errors.New("account: logged in, but the settings file could not be written")
	ErrUnknownAccount = errors.New("account: no such account in the settings")
)

// TopicError names the ntfy topic a login could not use; it unwraps to
// ErrBadTopic or ErrTopicForbidden.
type TopicError struct {
	Topic string
	Err   error
}

func (e *TopicError) Error() string { return fmt.Sprintf("%v: %q", e.Err, e.Topic) }

// Unwrap returns the sentinel.
func (e *TopicError) Unwrap() error { return e.Err }

// StatusError is an HTTP answer that was not a success. It unwraps to the
// sentinel for its status (401 ErrUnauthorized, 403 ErrForbidden, 429
// ErrRateLimited, 404/405 ErrNotPushServer, 5xx ErrServerError), so
// errors.Is works on it, and Explain understands it. Other packages may
// return it too, or any error with a StatusCode() int method.
type StatusError struct {
	Code       int
	RetryAfter time.Duration // from Retry-After, when the server sent one
	// Sentinel overrides the default sentinel for Code (e.g. ErrTokenRejected
	// for a 401 to a request that carried a token).
	Sentinel error
}

func (e *StatusError) Error() string {
	s := "account: server answered " + strconv.Itoa(e.Code) + " " + http.StatusText(e.Code)
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(" (retry after %v)", e.RetryAfter)
	}
	return s
}

// StatusCode is the HTTP status.
func (e *StatusError) StatusCode() int { return e.Code }

// Unwrap returns the sentinel for the status.
func (e *StatusError) Unwrap() error {
	if e.Sentinel != nil {
		return e.Sentinel
	}
	return sentinelForStatus(e.Code)
}

func sentinelForStatus(code int) error {
	switch {
	case code == http.StatusUnauthorized:
		return ErrUnauthorized
	case code == http.StatusForbidden:
		return ErrForbidden
	case code == http.StatusTooManyRequests:
		return ErrRateLimited
	case code == http.StatusNotFound, code == http.StatusMethodNotAllowed, code == http.StatusNotImplemented:
		return ErrNotPushServer // 501: a plain web server that has no POST
	case code == http.StatusBadGateway, code == http.StatusServiceUnavailable, code == http.StatusGatewayTimeout:
		return ErrUnavailable
	case code >= 500:
		return ErrServerError
	}
	return nil
}

// retryAfter parses a Retry-After header in seconds (the HTTP-date form is
// rare for APIs and ignored).
func retryAfter(h http.Header) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0
	}
	return time.Duration(n) * time.Second
}
