package account

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/user"
	"strings"
	"time"
)

// HTTPConfig says how the login calls talk to servers. Zero values get the
// defaults in withDefaults.
type HTTPConfig struct {
	// Client makes the requests. When nil, NewHTTPClient(CAFile, Timeout)
	// builds one. Never http.DefaultClient: it has no timeout.
	Client *http.Client
	// CAFile is a PEM file of extra trusted CAs (a self-hosted server's own
	// CA), added to the system roots. Used only when Client is nil.
	CAFile string
	// Timeout bounds each whole request, body included. Default 15 s.
	Timeout time.Duration
	// MaxBody bounds the response body read. Default 64 KiB.
	MaxBody int64
	// ClientName is the name a Gotify client or an ntfy token is
	// registered under; by default "Tidings on <host> (<user>)".
	// Default "Tidings on <this computer's host name>".
	ClientName string
	// UserAgent is sent with every request. Default "Tidings".
	UserAgent string
}

func (c HTTPConfig) withDefaults() (HTTPConfig, error) {
	if c.Timeout <= 0 {
		c.Timeout = 15 * time.Second
	}
	if c.MaxBody <= 0 {
		c.MaxBody = 64 << 10
	}
	if c.UserAgent == "" {
		c.UserAgent = "Tidings"
	}
	if c.ClientName == "" {
		c.ClientName = defaultClientName()
	}
	if c.Client == nil {
		cl, err := NewHTTPClient(c.CAFile, c.Timeout)
		if err != nil {
			return c, err
		}
		c.Client = cl
	}
	return c, nil
}

// ErrBadCAFile says the custom CA file could not be used.
var ErrBadCAFile = errors.New("account: the CA certificate file could not be used")

// NewHTTPClient returns a client bounded by timeout, trusting the system
// roots plus the PEM certificates in caFile (when not empty), and not
// following redirects (a redirected POST could carry the password to
// another host; the caller gets ErrRedirected instead). The connection
// package can use it for its own requests.
func NewHTTPClient(caFile string, timeout time.Duration) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = timeout
	if caFile != "" {
		pool, err := LoadCAPool(caFile)
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}, nil
}

// defaultClientName names a login on the server's list of clients or
// tokens after this computer and its user, "Tidings on vm (alice)", so
// that several computers and users can be told apart there.
func defaultClientName() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "this computer"
	}
	name := "Tidings on " + host
	if u, err := user.Current(); err == nil && u.Username != "" {
		// Windows gives DOMAIN\user.
		name += " (" + u.Username[strings.LastIndexByte(u.Username, '\\')+1:] + ")"
	}
	return name
}

// LoadCAPool returns the system roots plus the certificates in a PEM file.
func LoadCAPool(caFile string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadCAFile, err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%w: %s holds no PEM certificate", ErrBadCAFile, caFile)
	}
	return pool, nil
}

// request is one HTTP call of a login or logout.
type request struct {
	method, server, path string
	body                 any         // JSON-encoded when not nil
	basic                *[2]string  // user, password for Basic auth
	header               http.Header // extra headers (tokens)
}

// do performs r and returns the status and the (size-limited) body of a
// 2xx answer; any other answer is a *StatusError, a 3xx ErrRedirected.
// Errors carry the server address but never a secret.
func (c HTTPConfig) do(ctx context.Context, r request) (int, []byte, error) {
	var body io.Reader
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return 0, nil, fmt.Errorf("account: encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, r.server+r.path, body)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: %s", ErrBadURL, "cannot build a request to it")
	}
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.UserAgent)
	for k, v := range r.header {
		req.Header[k] = v
	}
	if r.basic != nil {
		req.SetBasicAuth(r.basic[0], r.basic[1])
	}
	resp, err := c.Client.Do(req)
	if err != nil {
		return 0, nil, err // *url.Error: "Post "https://host/path": cause"; no secrets in it
	}
	defer resp.Body.Close()
	// Read one byte over the limit to tell "exactly the limit" from "more".
	data, readErr := io.ReadAll(io.LimitReader(resp.Body, c.MaxBody+1))
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return resp.StatusCode, nil, fmt.Errorf("%w to %s", ErrRedirected, redirectTarget(resp))
	case resp.StatusCode < 200 || resp.StatusCode >= 300:
		return resp.StatusCode, nil, &StatusError{Code: resp.StatusCode, RetryAfter: retryAfter(resp.Header)}
	}
	if readErr != nil {
		return resp.StatusCode, nil, fmt.Errorf("account: read answer from %s: %w", hostOf(r.server), readErr)
	}
	if int64(len(data)) > c.MaxBody {
		return resp.StatusCode, nil, fmt.Errorf("%w: its answer is over %d bytes", ErrNotPushServer, c.MaxBody)
	}
	return resp.StatusCode, data, nil
}

// redirectTarget names where a redirect points, without query or user info.
func redirectTarget(resp *http.Response) string {
	loc, err := resp.Location()
	if err != nil {
		return "an unknown address"
	}
	clean := url.URL{Scheme: loc.Scheme, Host: loc.Host, Path: loc.Path}
	return clean.String()
}

// decodeToken decodes a JSON object answer into v and checks that it gave
// a token; HTML pages, other JSON and empty tokens are ErrNotPushServer.
func decodeAnswer(data []byte, v any, token func() string) error {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		what := "not JSON"
		if len(trimmed) > 0 && trimmed[0] == '<' {
			what = "an HTML page"
		}
		return fmt.Errorf("%w: the answer is %s", ErrNotPushServer, what)
	}
	if err := json.Unmarshal(trimmed, v); err != nil {
		return fmt.Errorf("%w: the answer is not the expected JSON", ErrNotPushServer)
	}
	if strings.TrimSpace(token()) == "" {
		return fmt.Errorf("%w: the answer has no token", ErrNotPushServer)
	}
	return nil
}
