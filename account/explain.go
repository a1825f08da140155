package account

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tidings-app/tidings/conn"
	"github.com/tidings-app/tidings/sanitize"
)

// Explain turns an error into one sentence for the user. It understands
// this package's sentinels and, through any wrapping, the standard errors
// a connection produces (*net.DNSError, syscall.ECONNREFUSED and friends,
// x509 and TLS errors, timeouts, context errors) and any error with a
// StatusCode() int method, so the UI can call it for every error it shows,
// whichever package returned it. It never includes the error's own text,
// which is for logs. nil gives "".
func Explain(err error) string {
	if err == nil {
		return ""
	}
	if isConnError(err) {
		return conn.Explain(err)
	}
	var te *TopicError
	if errors.As(err, &te) {
		return topicSentence(te)
	}
	for _, s := range sentinelSentences {
		if errors.Is(err, s.err) {
			if s.err == ErrRateLimited {
				return rateLimited(err)
			}
			return s.sentence
		}
	}
	var sc interface{ StatusCode() int }
	if errors.As(err, &sc) {
		if s := statusSentence(sc.StatusCode()); s != "" {
			return s
		}
	}
	if s := tlsSentence(err); s != "" {
		return s
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		if dns.IsTimeout {
			return "Looking up the server's name timed out; check your network connection."
		}
		if dns.IsNotFound {
			return "The server name could not be found; check the address."
		}
		return "The server name could not be looked up; check the address and your network connection."
	}
	switch {
	case isAny(err, refusedErrnos):
		return "The server refused the connection; check the address and port, and that the server is running."
	case isAny(err, unreachableErrnos):
		return "The server cannot be reached; check your network connection."
	case isAny(err, resetErrnos), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "The connection was closed unexpectedly; try again."
	case isTimeout(err):
		return "The server did not answer in time; check your network connection or try again later."
	case errors.Is(err, context.Canceled):
		return "Cancelled."
	}
	if isPlainHTTPAnswer(err) {
		return sentenceFor(ErrPlainHTTP)
	}
	return unknownSentence()
}

// LogFile is the log file's path, named by the sentence of an error
// nothing else explains; cmd/tidings sets it once at start.
var LogFile string

func unknownSentence() string {
	if LogFile == "" {
		return "Something went wrong; the log has the details."
	}
	return fmt.Sprintf("Something went wrong; the details are in the log file %s.", LogFile)
}

// isPlainHTTPAnswer reports Go's error for an https request answered in
// plain HTTP. net/http makes it with errors.New, so its text is all there
// is to go by.
func isPlainHTTPAnswer(err error) bool {
	return strings.Contains(err.Error(), "server gave HTTP response to HTTPS client")
}

func sentenceFor(target error) string {
	for _, s := range sentinelSentences {
		if s.err == target {
			return s.sentence
		}
	}
	return ""
}

func topicSentence(te *TopicError) string {
	name := strconv.Quote(sanitize.Text(te.Topic, 64, false))
	if errors.Is(te.Err, ErrTopicForbidden) {
		return fmt.Sprintf("This account may not read the topic %s; check its name, or ask the server's administrator for read access.", name)
	}
	return fmt.Sprintf("The topic %s is not a valid ntfy topic name: use 1 to 64 letters, digits, - or _.", name)
}

// isAny reports whether err wraps any of targets.
func isAny(err error, targets []error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}

var sentinelSentences = []struct {
	err      error
	sentence string
}{
	// A failed revocation first: its cause (403, timeout…) is secondary.
	{ErrRevokeFailed, "You are logged out here, but the server could not be told to revoke the login."},
	// ErrNoToken next: "not logged in" matters more to the user than why.
	{ErrNoToken, "You are not logged in; log in to receive notifications."},
	{ErrNoKeyring, "No system keyring is available, so Tidings keeps your login in memory only and will ask for it again next time it starts."},
	{ErrConfigNotSaved, "You are logged in, but the settings file could not be written (read-only folder or full disk), so the next start will ask you to log in again."},
	// A bad settings file before the account error inside it.
	{ErrConfigTooNew, "The settings were saved by a newer version of Tidings; the defaults are used instead."},
	{ErrBadConfig, "The settings file could not be read; the defaults are used instead and the old file was kept."},
	{ErrTokenTooBig, "The token is too large to store in the system keyring."},
	{ErrTokenUnknown, "The server does not accept this token; copy it again from the server, or log in with your user name and password."},
	{ErrUnauthorized, "Wrong username or password."},
	{ErrTokenRejected, "The server no longer accepts your login; log in again."},
	{ErrUnavailable, "The server, or a proxy in front of it, is not available right now; try again later."},
	{ErrPlainHTTP, "The server speaks plain http://, not https://; if it is on this computer, start the address with http://, otherwise set up https on the server."},
	{ErrForbidden, "The server refused access for this account."},
	{ErrRateLimited, ""},
	{ErrNotPushServer, "That address does not look like a Tidings, Gotify or ntfy server; check the address and the protocol."},
	{ErrRedirected, "The server redirected to another address; enter that address instead (often https:// instead of http://)."},
	{ErrServerError, "The server had an internal error; try again later."},
	{ErrEmptyURL, "Enter the server address."},
	{ErrUserInfoInURL, "The server address must not contain a user name or password; enter them in their own fields."},
	{ErrInsecureURL, "This address uses unencrypted http://, so your password and messages could be read on the network; use https://, or tick \"Allow unencrypted http://\" to accept the risk."},
	{ErrBadURL, "The server address is not valid; it should look like https://push.example.com."},
	{ErrBadCAFile, "The CA certificate file could not be read; choose a PEM certificate file."},
	{ErrNoUsername, "Enter your user name."},
	{ErrNoPassword, "Enter your password."},
	{ErrTokenEmpty, "Paste your token, or untick \"Use a token instead\" to log in with your user name and password."},
	{ErrTokenTooLong, "That is too long to be a token; copy it again from the server."},
	{ErrTokenChars, "A token has no spaces or special characters; copy it again from the server."},
	{ErrAppToken, "This is a Gotify application token, which can only send messages; in Gotify, open Clients, create a client and paste its token."},
	{ErrGotifyTokenShape, "That is not a Gotify client token: it starts with gtfyc. (Gotify 3) or C (Gotify 2); copy it from Clients in Gotify."},
	{ErrNtfyTokenShape, "That is not an ntfy access token: it starts with tk_; create one under Account, Access tokens in ntfy."},
	{ErrBadToken, "The token is empty or not valid; copy it again from the server."},
	{ErrBadProtocol, "Choose the server's protocol: Tidings, Gotify or ntfy."},
	{ErrUnknownAccount, "That account is not configured."},
}

func rateLimited(err error) string {
	var se *StatusError
	if errors.As(err, &se) && se.RetryAfter > 0 {
		return fmt.Sprintf("Too many attempts; wait %s and try again.", roundWait(se.RetryAfter))
	}
	return "Too many attempts; wait a minute and try again."
}

func roundWait(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%d seconds", int(d.Round(time.Second)/time.Second))
	}
	m := int(d.Round(time.Minute) / time.Minute)
	if m == 1 {
		return "a minute"
	}
	return fmt.Sprintf("%d minutes", m)
}

func statusSentence(code int) string {
	switch {
	case code == 401:
		return "Wrong username or password."
	case code == 403:
		return "The server refused access for this account."
	case code == 404 || code == 405:
		return "That address does not look like a Tidings, Gotify or ntfy server; check the address and the protocol."
	case code == 429:
		return "Too many attempts; wait a minute and try again."
	case code == 501:
		return "That address does not look like a Tidings, Gotify or ntfy server; check the address and the protocol."
	case code == 502 || code == 503 || code == 504:
		return fmt.Sprintf("The server, or a proxy in front of it, is not available right now (HTTP %d); try again later.", code)
	case code >= 500:
		return fmt.Sprintf("The server had an error (HTTP %d); try again later.", code)
	case code >= 400:
		return fmt.Sprintf("The server rejected the request (HTTP %d).", code)
	}
	return ""
}

func tlsSentence(err error) string {
	const prefix = "Could not connect securely: "
	var ua x509.UnknownAuthorityError
	var uaPtr *x509.UnknownAuthorityError
	var host x509.HostnameError
	var hostPtr *x509.HostnameError
	var inv x509.CertificateInvalidError
	var invPtr *x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	var rec tls.RecordHeaderError
	switch {
	case errors.As(err, &ua), errors.As(err, &uaPtr):
		return prefix + "the server's certificate is not trusted; add its CA in settings."
	case errors.As(err, &host), errors.As(err, &hostPtr):
		return prefix + "the server's certificate is for another name; check the address."
	case errors.As(err, &inv), errors.As(err, &invPtr):
		if inv.Reason == x509.Expired || (invPtr != nil && invPtr.Reason == x509.Expired) {
			return prefix + "the server's certificate has expired or the computer's clock is wrong."
		}
		return prefix + "the server's certificate is not valid."
	case errors.As(err, &rec):
		return "The server did not answer with TLS; check whether the address should start with http:// or https://."
	case errors.As(err, &verify):
		return prefix + "the server's certificate could not be verified; add its CA in settings."
	}
	return ""
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// isConnError reports an error from the connection engine: its states'
// errors have their own sentences there (a 401 on the socket means "log in
// again", not "wrong password"), which Explain hands on, so the UI still
// has one function for every error it shows.
func isConnError(err error) bool {
	var he *conn.HTTPError
	var ce *conn.CloseError
	if errors.As(err, &he) || errors.As(err, &ce) {
		return true
	}
	for _, e := range []error{conn.ErrDeadLink, conn.ErrProbeFailed, conn.ErrFrameTooLarge, conn.ErrConnLost,
		conn.ErrInsecureURL, conn.ErrBadURL, conn.ErrHandshake, conn.ErrTLS, conn.ErrCAFile, conn.ErrWrite,
		conn.ErrNoTopicAccess, conn.ErrBadRequest} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
