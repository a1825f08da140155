package gotifyinterop

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidings-app/tidings/account"
	"github.com/tidings-app/tidings/conn"
	"github.com/tidings-app/tidings/internal/testkit"
)

// gotify3 is a real Gotify 3 server process (the binary TIDINGS_GOTIFY3
// names) on a loopback port with a fresh database and user admin/admin.
type gotify3 struct{ url string }

// startGotify3 skips, saying why, when TIDINGS_GOTIFY3 is unset: Gotify 3
// is not on the Go module proxy (its tag keeps the module path
// github.com/gotify/server/v2), so no test can build it.
func startGotify3(t *testing.T) *gotify3 {
	t.Helper()
	bin := os.Getenv("TIDINGS_GOTIFY3")
	if bin == "" {
		t.Skip("TIDINGS_GOTIFY3 is not set: point it at a Gotify 3.x server binary to run this test against it")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.env")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOTIFY_CONFIG_FILE="+empty, "GOTIFY_SERVER_LISTENADDR=127.0.0.1",
		"GOTIFY_SERVER_PORT="+strconv.Itoa(port), "GOTIFY_DATABASE_CONNECTION="+filepath.Join(dir, "g.db"),
		"GOTIFY_DEFAULTUSER_PASS=admin", "GOTIFY_UPLOADEDIMAGESDIR="+filepath.Join(dir, "images"),
		"GOTIFY_PLUGINSDIR="+filepath.Join(dir, "plugins"))
	out := &testkit.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("gotify 3:\n%s", out)
		}
	})
	g := &gotify3{url: "http://127.0.0.1:" + strconv.Itoa(port)}
	testkit.Eventually(t, "Gotify 3 to answer", func() bool {
		resp, err := http.Get(g.url + "/version")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == http.StatusOK
	})
	return g
}

// do sends a request with basic auth (admin) or a token, returning the
// status and body.
func (g *gotify3) do(t *testing.T, method, path, token, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, g.url+path, strings.NewReader(body))
	if token == "" {
		req.SetBasicAuth("admin", "admin")
	} else {
		req.Header.Set("X-Gotify-Key", token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// Issues 19.11–19.12 against a real Gotify 3: a password login gets a
// gtfyc. token that streams messages, and Log out deletes the client on the
// server (Gotify 3 answers DELETE /client/<id> with 403 "session not
// elevated"; before, Tidings forgot the token locally and the client
// stayed valid for ever). A pasted gtfyc. token (the only way in for an
// OIDC user) is accepted and revoked the same way, although GET /client no
// longer lists tokens.
func TestRealGotify3LoginStreamAndLogoutLeaveNoLiveClient(t *testing.T) {
	g := startGotify3(t)
	ctx := context.Background()
	authn, err := account.NewAuthenticator(account.Gotify, account.HTTPConfig{ClientName: "Tidings on test"})
	if err != nil {
		t.Fatal(err)
	}
	grant, err := authn.Login(ctx, g.url, "admin", account.NewSecret("admin"))
	if err != nil {
		t.Fatal(err)
	}
	remember(grant.Token.Reveal())
	if !strings.HasPrefix(grant.Token.Reveal(), "gtfyc.") || grant.RevokeID == "" {
		t.Fatalf("grant: a token of %d characters, client id %q", len(grant.Token.Reveal()), grant.RevokeID)
	}
	if _, err := account.ValidateToken(account.Gotify, grant.Token.Reveal()); err != nil {
		t.Fatalf("Gotify 3's own client token is refused as pasted: %v", err)
	}

	status, body := g.do(t, http.MethodPost, "/application", "", `{"name":"backup"}`)
	var app struct{ Token string }
	if status != http.StatusOK || json.Unmarshal(body, &app) != nil || !strings.HasPrefix(app.Token, "gtfya.") {
		t.Fatalf("application: %d", status)
	}
	remember(app.Token)
	rec := &recorder{}
	sup := start(t, clientConfig(g.url, grant.Token.Reveal()), rec)
	if !rec.waitFor(5*time.Second, func(r *recorder) bool { return r.state() == conn.StateConnected }) {
		t.Fatalf("state %v, want Connected", sup.State())
	}
	// The stream is registered a moment after the upgrade; the catch-up
	// re-check finds what it misses, so publishing now loses nothing.
	if status, _ := g.do(t, http.MethodPost, "/message", app.Token, `{"message":"disk ok","title":"nightly","priority":5}`); status != http.StatusOK {
		t.Fatalf("publish: %d", status)
	}
	if !rec.waitFor(5*time.Second, func(r *recorder) bool { return len(r.msgs) == 1 }) {
		t.Fatal("the message never arrived")
	}
	if m := rec.messages()[0]; m.Body != "disk ok" || m.Source != "backup" {
		t.Fatalf("message %+v", m)
	}
	// Issue 21.2: a plain publish takes the application's default
	// priority, 0, which must pop up as an ordinary message, not "min".
	if status, _ := g.do(t, http.MethodPost, "/message", app.Token, `{"message":"plain curl"}`); status != http.StatusOK {
		t.Fatalf("publish: %d", status)
	}
	if !rec.waitFor(5*time.Second, func(r *recorder) bool { return len(r.msgs) == 2 }) {
		t.Fatal("the plain message never arrived")
	}
	if m := rec.messages()[1]; m.Priority != conn.PriorityDefault {
		t.Fatalf("a Gotify priority-0 message arrived as %v, want default", m.Priority)
	}

	if err := authn.Logout(ctx, g.url, grant); err != nil {
		t.Fatalf("logout: %v", err)
	}
	if status, _ := g.do(t, http.MethodGet, "/current/user", grant.Token.Reveal(), ""); status != http.StatusUnauthorized {
		t.Fatalf("after logout the token still answers %d on the server, want 401", status)
	}
	if !rec.waitFor(5*time.Second, func(r *recorder) bool { return r.state() == conn.StateAuthFailed }) {
		t.Fatalf("state %v after logout, want AuthFailed", sup.State())
	}

	// A pasted token: made in the web UI, no client id known.
	status, body = g.do(t, http.MethodPost, "/client", "", `{"name":"pasted"}`)
	var cl struct{ Token string }
	if status != http.StatusOK || json.Unmarshal(body, &cl) != nil {
		t.Fatalf("client: %d", status)
	}
	remember(cl.Token)
	tok, err := account.ValidateToken(account.Gotify, cl.Token)
	if err != nil {
		t.Fatalf("a pasted Gotify 3 token is refused: %v", err)
	}
	// Issue 21.5: a pasted token is tried at login; the server names its user.
	if name, err := authn.Check(ctx, g.url, tok, nil); err != nil || name != "admin" {
		t.Fatalf("Check of a live client token: %q, %v", name, err)
	}
	if _, err := authn.Check(ctx, g.url, account.NewSecret("gtfyc.never-issued"), nil); !errors.Is(err, account.ErrTokenUnknown) {
		t.Fatalf("Check of an unknown token: %v", err)
	}
	if err := authn.Logout(ctx, g.url, account.Grant{Token: tok}); err != nil {
		t.Fatalf("logout of a pasted token: %v", err)
	}
	if status, _ := g.do(t, http.MethodGet, "/current/user", cl.Token, ""); status != http.StatusUnauthorized {
		t.Fatalf("after logout the pasted token still answers %d, want 401", status)
	}
	// A second logout of a token already gone counts as done.
	if err := authn.Logout(ctx, g.url, account.Grant{Token: tok}); err != nil {
		t.Fatalf("second logout of a revoked token: %v, want nil", err)
	}
}
