package conn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tidings-app/tidings/proto"
)

// Errors a session or dial ends with. They are wrapped with %w; test with
// errors.Is / errors.As.
var (
	ErrStopped       = errors.New("conn: stopped")
	ErrDeadLink      = errors.New("conn: no frame from the server within the read deadline")
	ErrProbeFailed   = errors.New("conn: the server did not answer a probe ping")
	ErrFrameTooLarge = errors.New("conn: the server sent a frame over the read limit")
	// ErrPageTooLarge: a REST answer (a catch-up page) is over the read
	// limit. The Fetcher returns it with the first ReadLimit bytes; it never
	// hands back a truncated body as if it were whole.
	ErrPageTooLarge = errors.New("conn: a server answer is over the read limit")
	ErrConnLost     = errors.New("conn: connection lost")
	ErrInsecureURL  = errors.New("conn: plain ws:// is only allowed to loopback unless AllowInsecure is set")
	ErrBadURL       = errors.New("conn: bad server URL")
	ErrNoAdapter    = errors.New("conn: no protocol adapter configured")
	ErrHandshake    = errors.New("conn: handshake timed out")
	ErrTLS          = errors.New("conn: the server's certificate was not trusted")
	ErrCAFile       = errors.New("conn: cannot use the custom CA file")
	ErrWrite        = errors.New("conn: write failed")
	ErrAlreadyStart = errors.New("conn: supervisor already started")
	// ErrNoTopicAccess: the server knows the login but refuses to let it
	// read what was asked for (ntfy 403 on a topic). Treated like a
	// refused login: no retries until new credentials or a Kick.
	ErrNoTopicAccess = errors.New("conn: this account has no read access to the topic")
	// ErrBadRequest: the server rejected the request as malformed (ntfy 400,
	// a bad since=). Retrying the same request cannot help: Offline.
	ErrBadRequest = errors.New("conn: the server rejected the request as malformed")
)

// HTTPError is a refused upgrade: the server answered with a status other
// than 101. RetryAfter is the server's Retry-After (429/503), zero if none.
type HTTPError struct {
	Status     int
	RetryAfter time.Duration
}

// StatusCode is the HTTP status (the interface account.Explain understands).
func (e *HTTPError) StatusCode() int { return e.Status }

func (e *HTTPError) Error() string {
	s := fmt.Sprintf("conn: upgrade refused with HTTP %d %s", e.Status, http.StatusText(e.Status))
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	return s
}

// CloseError is a close frame from the server. The text is not kept (it
// is server content) except as a parsed restart schedule.
type CloseError struct {
	Code int
	// Restart is the schedule a 1012 close (service restart) carried, when
	// its reason was a valid proto.RestartHint; its first wait counts from
	// Received.
	Restart  *proto.RestartHint
	Received time.Time
}

func (e *CloseError) Error() string {
	return fmt.Sprintf("conn: server closed the socket with code %d (%s)", e.Code, closeCodeName(e.Code))
}

func closeCodeName(code int) string {
	switch code {
	case websocket.CloseNormalClosure:
		return "normal"
	case websocket.CloseGoingAway:
		return "going away"
	case websocket.CloseMessageTooBig:
		return "message too big"
	case websocket.ClosePolicyViolation:
		return "policy violation"
	case websocket.CloseInternalServerErr:
		return "internal error"
	case websocket.CloseAbnormalClosure:
		return "abnormal, no close frame"
	case proto.CloseTokenRevoked:
		return "token revoked"
	case proto.CloseSlowConsumer:
		return "slow consumer"
	case proto.CloseRetryElsewhere:
		return "retry elsewhere"
	case proto.CloseServiceRestart:
		return "service restart"
	default:
		return "unknown"
	}
}

// action is what the supervisor does after a session ended with an error.
type action int

const (
	actBackoff action = iota // reconnect after the backoff delay
	actNow                   // reconnect at once (if the link had been stable)
	actAuth                  // stop dialling until new credentials / Kick
	actOffline               // do not reconnect until Kick
	actStop                  // Stop was called
)

// classify decides what an ended session means.
func classify(err error) action {
	var he *HTTPError
	var ce *CloseError
	switch {
	case errors.Is(err, ErrStopped):
		return actStop
	case errors.Is(err, ErrBadRequest):
		return actOffline // the same request would fail again; a Kick retries
	case errors.Is(err, ErrProbeFailed):
		return actNow // kicked after resume or network change: the old path is gone, dial now
	case errors.As(err, &he):
		if he.Status == http.StatusUnauthorized || he.Status == http.StatusForbidden {
			return actAuth
		}
		return actBackoff
	case errors.As(err, &ce):
		return closeAction(ce.Code)
	case errors.Is(err, ErrInsecureURL), errors.Is(err, ErrBadURL), errors.Is(err, ErrNoAdapter), errors.Is(err, ErrCAFile):
		return actOffline // configuration errors: retrying cannot help
	default:
		return actBackoff
	}
}

// closeAction maps a server close code to what to do. 4001 means the token
// is gone; 4003 means try again at once (another instance); 3500–3999 and
// 4500–4999 are the "do not reconnect" ranges (Centrifugo's convention, also
// honoured for other servers); everything else is a normal reconnect.
func closeAction(code int) action {
	switch {
	case code == proto.CloseTokenRevoked:
		return actAuth
	case code == proto.CloseRetryElsewhere:
		return actNow
	case code >= 3500 && code <= 3999, code >= 4500 && code <= 4999:
		return actOffline
	default:
		return actBackoff
	}
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// dialError turns what gorilla's dialer returned into one of ours.
func dialError(err error, resp *http.Response, now time.Time) error {
	if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
		return &HTTPError{Status: resp.StatusCode, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), now)}
	}
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	var cv *tls.CertificateVerificationError
	switch {
	case errors.As(err, &ua), errors.As(err, &hn), errors.As(err, &ci), errors.As(err, &cv):
		return fmt.Errorf("%w: %v", ErrTLS, err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: %v", ErrHandshake, err)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("%w: %v", ErrHandshake, err)
	}
	return fmt.Errorf("%w: %v", ErrConnLost, err)
}

// proxySentence explains a WebSocket request answered like a plain one,
// which is what a reverse proxy that does not pass the upgrade on causes.
func proxySentence(status int) string {
	return fmt.Sprintf("The server answered the WebSocket request as a plain web request (HTTP %d). If a reverse proxy is in front of the server, it must forward WebSocket upgrades (the Upgrade and Connection headers).", status)
}

// Explain turns an error from a Status into one sentence for the user.
func Explain(err error) string {
	var he *HTTPError
	var ce *CloseError
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrNoTopicAccess):
		return "This account has no read access to one of the topics. Check the topic names or the account's permissions."
	case errors.Is(err, ErrBadRequest):
		return proxySentence(http.StatusBadRequest)
	case errors.As(err, &he):
		switch he.Status {
		case http.StatusUnauthorized:
			return "The server did not accept your login. Please log in again."
		case http.StatusForbidden:
			return "The server refused access for this account."
		case http.StatusTooManyRequests:
			return "The server asked us to slow down; retrying later."
		case http.StatusServiceUnavailable:
			return "The server is temporarily unavailable; retrying later."
		case http.StatusOK, http.StatusBadRequest, http.StatusUpgradeRequired:
			return proxySentence(he.Status)
		default:
			return fmt.Sprintf("The server refused the connection (HTTP %d).", he.Status)
		}
	case errors.As(err, &ce):
		if ce.Code == proto.CloseTokenRevoked {
			return "Your login was revoked. Please log in again."
		}
		return fmt.Sprintf("The server closed the connection (%s).", closeCodeName(ce.Code))
	case errors.Is(err, ErrDeadLink), errors.Is(err, ErrProbeFailed):
		return "The server stopped answering."
	case errors.Is(err, ErrHandshake):
		return "The server did not answer in time."
	case errors.Is(err, ErrTLS):
		return "The server's certificate is not trusted. Check the server address or the custom CA file."
	case errors.Is(err, ErrInsecureURL):
		return "Unencrypted ws:// connections are only allowed to this computer."
	case errors.Is(err, ErrBadURL):
		return "The server address is not valid."
	case errors.Is(err, ErrCAFile):
		return "The custom CA file could not be read."
	case errors.Is(err, ErrFrameTooLarge):
		return "The server sent a message that was too large."
	default:
		return "The connection to the server was lost."
	}
}
