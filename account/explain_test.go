package account

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tidings-app/tidings/conn"
	"github.com/tidings-app/tidings/proto"
)

// otherStatus is a connection package's own HTTP status error.
type otherStatus int

func (e otherStatus) Error() string   { return fmt.Sprintf("conn: upgrade answered %d", int(e)) }
func (e otherStatus) StatusCode() int { return int(e) }

func netOp(err error) error {
	return &url.Error{Op: "Get", URL: "https://push.example.com/ws", Err: &net.OpError{Op: "dial", Net: "tcp", Err: err}}
}

func TestAnUnexplainedErrorNamesTheLogFile(t *testing.T) {
	old := LogFile
	t.Cleanup(func() { LogFile = old })
	LogFile = "/home/jo/.local/state/tidings/tidings.log"
	if got := Explain(errors.New("weird")); got != "Something went wrong; the details are in the log file /home/jo/.local/state/tidings/tidings.log." {
		t.Fatalf("Explain = %q", got)
	}
}

func TestExplainGivesOneSentencePerKindOfError(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"401 sentinel", fmt.Errorf("login: %w", ErrUnauthorized), "Wrong username or password."},
		{"401 status", &StatusError{Code: 401}, "Wrong username or password."},
		{"401 from another package", fmt.Errorf("conn: %w", otherStatus(401)), "Wrong username or password."},
		{"token rejected", ErrTokenRejected, "The server no longer accepts your login; log in again."},
		{"403", &StatusError{Code: 403}, "The server refused access for this account."},
		{"404", &StatusError{Code: 404}, "That address does not look like a Tidings, Gotify or ntfy server; check the address and the protocol."},
		{"429 with Retry-After", &StatusError{Code: 429, RetryAfter: 30 * time.Second}, "Too many attempts; wait 30 seconds and try again."},
		{"429 with a long Retry-After", &StatusError{Code: 429, RetryAfter: 5 * time.Minute}, "Too many attempts; wait 5 minutes and try again."},
		{"429 without", ErrRateLimited, "Too many attempts; wait a minute and try again."},
		{"429 from another package", otherStatus(429), "Too many attempts; wait a minute and try again."},
		{"500", &StatusError{Code: 500}, "The server had an internal error; try again later."},
		{"502", &StatusError{Code: 502}, "The server, or a proxy in front of it, is not available right now; try again later."},
		{"502 from another package", otherStatus(502), "The server, or a proxy in front of it, is not available right now (HTTP 502); try again later."},
		{"501 from a plain web server", &StatusError{Code: 501}, "That address does not look like a Tidings, Gotify or ntfy server; check the address and the protocol."},
		{"https to a plain http server", &url.Error{Op: "Post", URL: "https://x/client", Err: errors.New("http: server gave HTTP response to HTTPS client")},
			"The server speaks plain http://, not https://; if it is on this computer, start the address with http://, otherwise set up https on the server."},
		{"empty token", ErrTokenEmpty, "Paste your token, or untick \"Use a token instead\" to log in with your user name and password."},
		{"application token", ErrAppToken, "This is a Gotify application token, which can only send messages; in Gotify, open Clients, create a client and paste its token."},
		{"not an ntfy token", ErrNtfyTokenShape, "That is not an ntfy access token: it starts with tk_; create one under Account, Access tokens in ntfy."},
		{"unknown pasted token", fmt.Errorf("%w: %w", ErrTokenUnknown, &StatusError{Code: 401}), "The server does not accept this token; copy it again from the server, or log in with your user name and password."},
		{"bad topic", &TopicError{Topic: "a b\u202e", Err: ErrBadTopic}, "The topic \"a b\" is not a valid ntfy topic name: use 1 to 64 letters, digits, - or _."},
		{"418 from another package", otherStatus(418), "The server rejected the request (HTTP 418)."},
		{"DNS not found", netOp(&net.DNSError{Err: "no such host", Name: "push.example.com", IsNotFound: true}), "The server name could not be found; check the address."},
		{"DNS timeout", netOp(&net.DNSError{Err: "i/o timeout", Name: "push.example.com", IsTimeout: true}), "Looking up the server's name timed out; check your network connection."},
		{"DNS other", netOp(&net.DNSError{Err: "server misbehaving", Name: "x"}), "The server name could not be looked up; check the address and your network connection."},
		{"refused", netOp(os.NewSyscallError("connect", syscall.ECONNREFUSED)), "The server refused the connection; check the address and port, and that the server is running."},
		{"unreachable", netOp(os.NewSyscallError("connect", syscall.ENETUNREACH)), "The server cannot be reached; check your network connection."},
		{"reset", netOp(syscall.ECONNRESET), "The connection was closed unexpectedly; try again."},
		{"unknown authority", netOp(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}), "Could not connect securely: the server's certificate is not trusted; add its CA in settings."},
		{"wrong host name", netOp(&tls.CertificateVerificationError{Err: x509.HostnameError{Host: "x"}}), "Could not connect securely: the server's certificate is for another name; check the address."},
		{"expired", netOp(x509.CertificateInvalidError{Reason: x509.Expired}), "Could not connect securely: the server's certificate has expired or the computer's clock is wrong."},
		{"plain http on a TLS client", netOp(tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}), "The server did not answer with TLS; check whether the address should start with http:// or https://."},
		{"context deadline", fmt.Errorf("dial: %w", context.DeadlineExceeded), "The server did not answer in time; check your network connection or try again later."},
		{"i/o timeout", netOp(os.ErrDeadlineExceeded), "The server did not answer in time; check your network connection or try again later."},
		{"cancelled", context.Canceled, "Cancelled."},
		{"no keyring", fmt.Errorf("%w (timeout)", ErrNoKeyring), "No system keyring is available, so Tidings keeps your login in memory only and will ask for it again next time it starts."},
		{"no token", ErrNoToken, "You are not logged in; log in to receive notifications."},
		{"no token because no keyring", fmt.Errorf("%w: %w", ErrNoToken, ErrNoKeyring), "You are not logged in; log in to receive notifications."},
		{"not a push server", ErrNotPushServer, "That address does not look like a Tidings, Gotify or ntfy server; check the address and the protocol."},
		{"insecure", ErrInsecureURL, "This address uses unencrypted http://, so your password and messages could be read on the network; use https://, or tick \"Allow unencrypted http://\" to accept the risk."},
		{"user info", ErrUserInfoInURL, "The server address must not contain a user name or password; enter them in their own fields."},
		{"empty URL", ErrEmptyURL, "Enter the server address."},
		{"bad URL", ErrBadURL, "The server address is not valid; it should look like https://push.example.com."},
		{"revoke failed by timeout", fmt.Errorf("%w: %w", ErrRevokeFailed, context.DeadlineExceeded), "You are logged out here, but the server could not be told to revoke the login."},
		{"joined: first known wins", errors.Join(errors.New("x"), ErrNoKeyring), "No system keyring is available, so Tidings keeps your login in memory only and will ask for it again next time it starts."},
		{"unknown", errors.New("weird: tdt_secret"), "Something went wrong; the log has the details."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Explain(tt.err); got != tt.want {
				t.Fatalf("Explain = %q\nwant      %q", got, tt.want)
			}
		})
	}
}

func TestExplainGivesConnectionErrorsTheEnginesSentences(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"a 401 on the socket asks to log in again", fmt.Errorf("dial: %w", &conn.HTTPError{Status: 401}), "log in again"},
		{"a revoked token", &conn.CloseError{Code: proto.CloseTokenRevoked}, "revoked"},
		{"a dead link", fmt.Errorf("session: %w", conn.ErrDeadLink), "stopped answering"},
		{"no access to an ntfy topic", conn.ErrNoTopicAccess, "topic"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Explain(tt.err); !strings.Contains(got, tt.want) {
				t.Fatalf("Explain = %q, want it to mention %q", got, tt.want)
			}
		})
	}
	// A 401 at login still means the password.
	if got := Explain(&StatusError{Code: 401}); !strings.Contains(got, "username or password") {
		t.Fatalf("login 401: %q", got)
	}
}
