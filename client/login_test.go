package client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tidings-app/tidings/account"
	"github.com/tidings-app/tidings/conn"
	"github.com/tidings-app/tidings/internal/desktoptest"
	"github.com/tidings-app/tidings/internal/servertest"
	"github.com/tidings-app/tidings/internal/testkit"
	"github.com/tidings-app/tidings/notifier"
)

const password = "correct horse battery staple"

// startAlicesServer is the real tidings-server with the user alice.
func startAlicesServer(t *testing.T) *servertest.Server {
	t.Helper()
	desktoptest.Require(t)
	srv := servertest.Start(t, servertest.Config(200*time.Millisecond))
	srv.AddUser("alice", password)
	return srv
}

// Issue 21.9: each re-login left the previous token live on the server.
func TestLoggingInAgainRevokesThePreviousLoginOnTheRealServer(t *testing.T) {
	srv := startAlicesServer(t)
	r := newRig(t, t.TempDir(), testkit.NewRecorder[notifier.Popup]())
	ctx := context.Background()
	in := account.LoginInput{Server: srv.URL, Protocol: account.Native, Username: "alice", Password: account.NewSecret(password)}
	if err := r.c.Login(ctx, in); err != nil {
		t.Fatal(err)
	}
	r.waitState(conn.StateConnected)
	acct, _ := r.c.Account()
	first, err := r.mgr.Token(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.c.Login(ctx, in); err != nil {
		t.Fatal(err)
	}
	r.waitState(conn.StateConnected)
	second, _ := r.mgr.Token(ctx, acct)
	if second.Reveal() == first.Reveal() {
		t.Fatal("the second login kept the first token")
	}
	if code := me(t, srv.URL, first); code != http.StatusUnauthorized {
		t.Errorf("the replaced token still works on the server (HTTP %d)", code)
	}
	if code := me(t, srv.URL, second); code != http.StatusOK {
		t.Errorf("the new token does not work (HTTP %d)", code)
	}
	// The new connection was not disturbed by revoking the old token.
	srv.Send(srv.Publisher(), servertest.Message{To: "alice", Title: "after the re-login", Body: "b", Priority: 3, Topic: "t"})
	testkit.Eventually(t, "the message on the new connection", func() bool { return count(t, r.hist) == 1 })
}

func me(t *testing.T, server string, tok account.Secret) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, server+"/api/me", nil)
	req.Header.Set("Authorization", "Bearer "+tok.Reveal())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Issue 21.5: a pasted token was stored untried and later called "no
// longer accepted"; a good one was keyed "token@server" beside the same
// user's password login.
func TestAPastedTokenIsTriedAtLoginAndKeyedByItsUser(t *testing.T) {
	srv := startAlicesServer(t)
	r := newRig(t, t.TempDir(), testkit.NewRecorder[notifier.Popup]())
	ctx := context.Background()
	err := r.c.Login(ctx, account.LoginInput{Server: srv.URL, Protocol: account.Native, PastedToken: account.NewSecret("tdt_never-issued-token")})
	if !errors.Is(err, account.ErrTokenUnknown) {
		t.Fatalf("an unknown token: err = %v, want ErrTokenUnknown", err)
	}
	tok := loginToken(t, srv.URL, "alice", password)
	if err := r.c.Login(ctx, account.LoginInput{Server: srv.URL, Protocol: account.Native, PastedToken: tok}); err != nil {
		t.Fatal(err)
	}
	r.waitState(conn.StateConnected)
	if acct, _ := r.c.Account(); acct.Key() != account.AccountKey("alice", srv.URL) {
		t.Fatalf("a pasted token is keyed %q, want alice's key", acct.Key())
	}
}

func loginToken(t *testing.T, server, user, password string) account.Secret {
	t.Helper()
	authn, err := account.NewAuthenticator(account.Native, account.HTTPConfig{})
	if err != nil {
		t.Fatal(err)
	}
	g, err := authn.Login(context.Background(), server, user, account.NewSecret(password))
	if err != nil {
		t.Fatal(err)
	}
	return g.Token
}

// Issue 21.5: a reverse proxy that does not forward the upgrade was
// explained as "probably a bug in Tidings".
func TestAProxyThatDropsTheUpgradeIsExplainedAsSuch(t *testing.T) {
	srv := startAlicesServer(t)
	target, _ := url.Parse(srv.URL)
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { // nginx without proxy_set_header Upgrade
		r.SetURL(target)
		r.Out.Header.Del("Upgrade")
		r.Out.Header.Del("Connection")
	}}
	proxy := httptest.NewServer(rp)
	t.Cleanup(proxy.Close)

	r := newRig(t, t.TempDir(), testkit.NewRecorder[notifier.Popup]())
	err := r.c.Login(context.Background(), account.LoginInput{Server: proxy.URL, Protocol: account.Native, Username: "alice", Password: account.NewSecret(password)})
	if err != nil {
		t.Fatal(err) // the plain HTTP API passes the proxy
	}
	s := r.waitState(conn.StateReconnecting)
	got := account.Explain(s.Err)
	if !strings.Contains(got, "reverse proxy") || strings.Contains(got, "bug") {
		t.Fatalf("explained as %q (err %v)", got, s.Err)
	}
}
