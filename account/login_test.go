package account

import (
	"context"
	"encoding/pem"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidings-app/tidings/internal/testkit"
)

func testHTTP(timeout time.Duration) HTTPConfig {
	return HTTPConfig{Timeout: timeout, ClientName: "Tidings on testhost"}
}

func mustAuth(t *testing.T, p Protocol, cfg HTTPConfig) Authenticator {
	t.Helper()
	a, err := NewAuthenticator(p, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestEachProtocolLogsInAndOutAgainstAServerFollowingItsSpec(t *testing.T) {
	for _, p := range Protocols {
		t.Run(string(p), func(t *testing.T) {
			srv := newFakeServer(t, p)
			auth := mustAuth(t, p, testHTTP(5*time.Second))
			g, err := auth.Login(context.Background(), srv.URL, srv.user, NewSecret(srv.pw))
			if err != nil {
				t.Fatalf("login: %v", err)
			}
			if g.Token.Empty() || !srv.live(g.Token.Reveal()) {
				t.Fatalf("login gave a token the server does not know")
			}
			if p == Gotify && g.RevokeID == "" {
				t.Fatalf("Gotify login gave no client id")
			}
			if p != Gotify && g.RevokeID != "" {
				t.Fatalf("%s login gave a revoke id %q", p, g.RevokeID)
			}
			if err := auth.Logout(context.Background(), srv.URL, g); err != nil {
				t.Fatalf("logout: %v", err)
			}
			if srv.live(g.Token.Reveal()) {
				t.Fatalf("the token still works on the server after logout")
			}
			// Logging out twice is fine: the token is gone either way.
			if err := auth.Logout(context.Background(), srv.URL, g); err != nil {
				t.Fatalf("second logout: %v", err)
			}
			if o := srv.seenOrigins(); len(o) > 0 {
				t.Fatalf("requests carried an Origin header: %v", o)
			}
		})
	}
}

func TestTheDefaultClientNameSaysWhichComputerAndUser(t *testing.T) {
	u, err := user.Current()
	if err != nil {
		t.Skipf("no current user to name: %v", err)
	}
	host, _ := os.Hostname()
	got := defaultClientName()
	if !strings.HasPrefix(got, "Tidings on "+host+" (") || !strings.HasSuffix(got, ")") || !strings.Contains(u.Username, strings.TrimSuffix(strings.SplitN(got, "(", 2)[1], ")")) {
		t.Fatalf("client name %q, want \"Tidings on %s (%s)\"", got, host, u.Username)
	}
}

func TestGotifyLoginNamesTheClientAfterThisComputerAndNtfyAsksForATokenThatNeverExpires(t *testing.T) {
	g := newFakeServer(t, Gotify)
	if _, err := mustAuth(t, Gotify, testHTTP(5*time.Second)).Login(context.Background(), g.URL, g.user, NewSecret(g.pw)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(g.bodies[0], `"name":"Tidings on testhost"`) {
		t.Fatalf("Gotify body %s", g.bodies[0])
	}
	n := newFakeServer(t, Ntfy)
	if _, err := mustAuth(t, Ntfy, testHTTP(5*time.Second)).Login(context.Background(), n.URL, n.user, NewSecret(n.pw)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(n.bodies[0], `"expires":0`) || !strings.Contains(n.bodies[0], `"label":"Tidings on testhost"`) {
		t.Fatalf("ntfy body %s", n.bodies[0])
	}
}

func TestAGotifyTokenPastedWithoutItsClientIDIsStillRevoked(t *testing.T) {
	srv := newFakeServer(t, Gotify)
	auth := mustAuth(t, Gotify, testHTTP(5*time.Second))
	g, err := auth.Login(context.Background(), srv.URL, srv.user, NewSecret(srv.pw))
	if err != nil {
		t.Fatal(err)
	}
	if err := auth.Logout(context.Background(), srv.URL, Grant{Token: g.Token}); err != nil {
		t.Fatalf("logout: %v", err)
	}
	if srv.live(g.Token.Reveal()) {
		t.Fatal("the pasted token was not revoked")
	}
}

func TestLoginFailuresGiveClearSentinelsAndSentences(t *testing.T) {
	type tc struct {
		name     string
		setup    func(*fakeServer)
		user, pw string
		want     error
		sentence string
	}
	cases := []tc{
		{name: "wrong password", pw: "wrong", want: ErrUnauthorized, sentence: "Wrong username or password."},
		{name: "unknown user", user: "mallory", want: ErrUnauthorized, sentence: "Wrong username or password."},
		{name: "an HTML page", setup: func(f *fakeServer) { f.html = true }, want: ErrNotPushServer, sentence: "does not look like a Tidings, Gotify or ntfy server"},
		{name: "JSON without a token", setup: func(f *fakeServer) { f.noToken = true }, want: ErrNotPushServer, sentence: "does not look like"},
		{name: "an oversized answer", setup: func(f *fakeServer) { f.huge = true }, want: ErrNotPushServer, sentence: "does not look like"},
		{name: "rate limited", setup: func(f *fakeServer) { f.limited = true }, want: ErrRateLimited, sentence: "wait 30 seconds"},
	}
	for _, p := range Protocols {
		for _, c := range cases {
			t.Run(string(p)+"/"+c.name, func(t *testing.T) {
				srv := newFakeServer(t, p)
				if c.setup != nil {
					srv.set(c.setup)
				}
				user, pw := srv.user, srv.pw
				if c.user != "" {
					user = c.user
				}
				if c.pw != "" {
					pw = c.pw
				}
				_, err := mustAuth(t, p, testHTTP(5*time.Second)).Login(context.Background(), srv.URL, user, NewSecret(pw))
				if !errors.Is(err, c.want) {
					t.Fatalf("err = %v, want %v", err, c.want)
				}
				if s := Explain(err); !strings.Contains(s, c.sentence) {
					t.Fatalf("Explain = %q, want it to contain %q", s, c.sentence)
				}
				if strings.Contains(err.Error(), pw) || strings.Contains(err.Error(), "json:") {
					t.Fatalf("error leaks the password or a raw JSON error: %v", err)
				}
			})
		}
	}
}

func TestTheWrongProtocolForAServerIsNotAPushServer(t *testing.T) {
	// A Gotify server asked for an ntfy login answers 404.
	srv := newFakeServer(t, Gotify)
	_, err := mustAuth(t, Ntfy, testHTTP(5*time.Second)).Login(context.Background(), srv.URL, srv.user, NewSecret(srv.pw))
	if !errors.Is(err, ErrNotPushServer) {
		t.Fatalf("err = %v", err)
	}
}

func TestASlowServerIsAbandonedAfterTheTimeout(t *testing.T) {
	for _, p := range Protocols {
		t.Run(string(p), func(t *testing.T) {
			srv := newFakeServer(t, p)
			srv.set(func(f *fakeServer) { f.slow = true })
			const timeout = 200 * time.Millisecond
			start := time.Now()
			_, err := mustAuth(t, p, testHTTP(timeout)).Login(context.Background(), srv.URL, srv.user, NewSecret(srv.pw))
			elapsed := time.Since(start)
			if err == nil {
				t.Fatal("login succeeded against a server that never answers")
			}
			if elapsed < timeout {
				t.Fatalf("gave up after %v, before the timeout of %v", elapsed, timeout)
			}
			testkit.Within(t, "gave up on a slow server", elapsed, timeout+2*time.Second)
			if s := Explain(err); !strings.Contains(s, "did not answer in time") {
				t.Fatalf("Explain = %q (err %v)", s, err)
			}
		})
	}
}

func TestARefusedConnectionIsExplained(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = mustAuth(t, Native, testHTTP(2*time.Second)).Login(context.Background(), "http://"+addr, "alice", NewSecret("pw"))
	if s := Explain(err); !strings.Contains(s, "refused the connection") {
		t.Fatalf("Explain = %q (err %v)", s, err)
	}
}

func TestAServerWithAnUntrustedCertificateIsExplainedAndItsCAFileMakesItWork(t *testing.T) {
	f := &fakeServer{proto: Native, user: "alice", pw: "pw", tokens: map[string]string{}, release: make(chan struct{})}
	f.Server = httptest.NewTLSServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	_, err := mustAuth(t, Native, testHTTP(5*time.Second)).Login(context.Background(), f.URL, "alice", NewSecret("pw"))
	if s := Explain(err); s != "Could not connect securely: the server's certificate is not trusted; add its CA in settings." {
		t.Fatalf("Explain = %q (err %v)", s, err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := testHTTP(5 * time.Second)
	cfg.CAFile = ca
	if _, err := mustAuth(t, Native, cfg).Login(context.Background(), f.URL, "alice", NewSecret("pw")); err != nil {
		t.Fatalf("with the CA file: %v", err)
	}
	cfg.CAFile = filepath.Join(t.TempDir(), "missing.pem")
	if _, err := NewAuthenticator(Native, cfg); !errors.Is(err, ErrBadCAFile) {
		t.Fatalf("missing CA file: %v", err)
	}
}

func TestARedirectIsNotFollowedSoThePasswordStaysWithTheServerTheUserNamed(t *testing.T) {
	other := newFakeServer(t, Native)
	redir := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path+"?x=1", http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redir.Close)
	_, err := mustAuth(t, Native, testHTTP(5*time.Second)).Login(context.Background(), redir.URL, "alice", NewSecret(other.pw))
	if !errors.Is(err, ErrRedirected) {
		t.Fatalf("err = %v", err)
	}
	if len(other.paths) != 0 {
		t.Fatalf("the redirect was followed: %v", other.paths)
	}
	if strings.Contains(err.Error(), "x=1") || !strings.Contains(err.Error(), other.URL) {
		t.Fatalf("error should name the target without its query: %v", err)
	}
}

func TestEmptyCredentialsAreRejectedBeforeAnyRequest(t *testing.T) {
	srv := newFakeServer(t, Native)
	a := mustAuth(t, Native, testHTTP(time.Second))
	if _, err := a.Login(context.Background(), srv.URL, " ", NewSecret("pw")); !errors.Is(err, ErrNoUsername) {
		t.Fatalf("no user: %v", err)
	}
	if _, err := a.Login(context.Background(), srv.URL, "alice", Secret{}); !errors.Is(err, ErrNoPassword) {
		t.Fatalf("no password: %v", err)
	}
	if len(srv.paths) != 0 {
		t.Fatalf("requests were made: %v", srv.paths)
	}
	if _, err := NewAuthenticator("matrix", HTTPConfig{}); !errors.Is(err, ErrBadProtocol) {
		t.Fatalf("unknown protocol: %v", err)
	}
}

func TestLoginLeavesNoGoroutinesBehind(t *testing.T) {
	testkit.NoLeaks(t)
	func() {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 200, map[string]string{"token": "tdt_x"})
		}))
		defer srv.Close()
		cl, err := NewHTTPClient("", time.Second)
		if err != nil {
			t.Fatal(err)
		}
		a := mustAuth(t, Native, HTTPConfig{Client: cl})
		for range 5 {
			if _, err := a.Login(context.Background(), srv.URL, "u", NewSecret("p")); err != nil {
				t.Fatal(err)
			}
		}
		cl.CloseIdleConnections()
	}()
}
