package account

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidings-app/tidings/internal/desktoptest"
)

func newTestManager(t *testing.T, env *desktoptest.Env, logs *bytes.Buffer, tok *Tokens) *Manager {
	t.Helper()
	if tok == nil {
		tok = NewTokens(TokensConfig{Service: testService, Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	}
	m, err := NewManager(ManagerConfig{
		ConfigPath: filepath.Join(env.ConfigHome(), "tidings", "config.json"),
		Tokens:     tok,
		HTTP:       HTTPConfig{Timeout: 5 * time.Second},
		Logger:     slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestAFullLoginConnectLogoutRunLeavesTheTokenAndPasswordNowhere is the
// secret-hygiene test: every protocol, the real Secret Service, the
// settings file on disk, a JSON logger capturing everything at debug level.
func TestAFullLoginConnectLogoutRunLeavesTheTokenAndPasswordNowhere(t *testing.T) {
	env := desktoptest.Require(t)
	for _, p := range Protocols {
		t.Run(string(p), func(t *testing.T) {
			var logs bytes.Buffer
			srv := newFakeServer(t, p)
			m := newTestManager(t, env, &logs, nil)
			ctx := context.Background()

			// A wrong password first: its error and logs must not hold it.
			_, err := m.Login(ctx, LoginInput{Server: srv.URL, Protocol: p, Username: srv.user, Password: NewSecret("wrong-pw-canary")})
			if !errors.Is(err, ErrUnauthorized) || strings.Contains(err.Error(), "wrong-pw-canary") {
				t.Fatalf("wrong password: %v", err)
			}

			acct, err := m.Login(ctx, LoginInput{Server: srv.URL + "/", Protocol: p, Username: srv.user, Password: NewSecret(srv.pw), Topics: []string{"backup"}})
			if err != nil {
				t.Fatalf("login: %v", err)
			}
			if acct.Server != srv.URL {
				t.Fatalf("server stored as %q", acct.Server)
			}
			// "Connect": the token comes from the keyring and works on the server.
			token, err := m.Token(ctx, acct)
			if err != nil || !srv.live(token.Reveal()) {
				t.Fatalf("token from the keyring: %v", err)
			}
			if p == Native {
				req, _ := http.NewRequest(http.MethodGet, srv.URL+"/ws", nil)
				req.Header.Set("Authorization", "Bearer "+token.Reveal())
				resp, err := srv.Client().Do(req)
				if err != nil || resp.StatusCode != http.StatusOK {
					t.Fatalf("connect: %v %v", err, resp)
				}
				resp.Body.Close()
				m.cfg.Logger.Info("connected", "token", token, "account", acct.Key())
			}
			tokenValue := token.Reveal()
			cfgData, err := os.ReadFile(m.ConfigPath())
			if err != nil || !strings.Contains(string(cfgData), srv.URL) {
				t.Fatalf("settings file: %v\n%s", err, cfgData)
			}
			assertNowhere(t, env, &logs, tokenValue, srv.pw, "wrong-pw-canary")

			var cleared bool
			err = m.Logout(ctx, acct, LogoutOptions{ClearHistory: func(context.Context, Account) error { cleared = true; return nil }})
			if err != nil {
				t.Fatalf("logout: %v", err)
			}
			if srv.live(tokenValue) {
				t.Fatal("the token still works on the server after logout")
			}
			if _, err := m.Token(ctx, acct); !errors.Is(err, ErrNoToken) {
				t.Fatalf("after logout: %v", err)
			}
			if !cleared {
				t.Fatal("ClearHistory was not called")
			}
			cfg, err := LoadConfig(m.ConfigPath())
			if a, ok := cfg.Find(acct.Key()); err != nil || !ok || a.RevokeID != "" {
				t.Fatalf("the account should stay configured without its revoke id: %+v %v", a, err)
			}
			assertNowhere(t, env, &logs, tokenValue, srv.pw, "wrong-pw-canary")
			if !strings.Contains(logs.String(), `"msg":"logged out"`) {
				t.Fatalf("the run was not logged:\n%s", logs.String())
			}
		})
	}
}

// assertNowhere greps the config dir, the data dir, the whole private home
// and the captured logs for each secret.
func assertNowhere(t *testing.T, env *desktoptest.Env, logs *bytes.Buffer, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		for _, dir := range []string{env.ConfigHome(), env.DataHome(), env.CacheHome(), env.Home} {
			if hits := desktoptest.GrepTree(t, dir, s); len(hits) > 0 {
				t.Fatalf("a secret is in %v", hits)
			}
		}
		if strings.Contains(logs.String(), s) {
			t.Fatalf("a secret is in the logs:\n%s", logs.String())
		}
	}
}

func TestAFailedRevocationStillDeletesTheLocalTokenAndSaysSo(t *testing.T) {
	env := desktoptest.Require(t)
	var logs bytes.Buffer
	srv := newFakeServer(t, Native)
	m := newTestManager(t, env, &logs, nil)
	ctx := context.Background()
	acct, err := m.Login(ctx, LoginInput{Server: srv.URL, Protocol: Native, Username: srv.user, Password: NewSecret(srv.pw)})
	if err != nil {
		t.Fatal(err)
	}
	srv.set(func(f *fakeServer) { f.limited = true }) // the server now refuses everything with 429
	err = m.Logout(ctx, acct, LogoutOptions{Forget: true})
	if !errors.Is(err, ErrRevokeFailed) || !errors.Is(err, ErrRateLimited) {
		t.Fatalf("err = %v", err)
	}
	if Explain(err) != "You are logged out here, but the server could not be told to revoke the login." {
		t.Fatalf("Explain = %q", Explain(err))
	}
	if _, err := m.Token(ctx, acct); !errors.Is(err, ErrNoToken) {
		t.Fatalf("the local token survived: %v", err)
	}
	if cfg, _ := LoadConfig(m.ConfigPath()); func() bool { _, ok := cfg.Find(acct.Key()); return ok }() {
		t.Fatalf("Forget kept the account: %+v", cfg.Accounts)
	}
}

func TestAPastedTokenIsCheckedStoredAndUsableWithoutAPassword(t *testing.T) {
	env := desktoptest.Require(t)
	var logs bytes.Buffer
	m := newTestManager(t, env, &logs, nil)
	ctx := context.Background()
	srv := newFakeServer(t, Ntfy)
	_, err := m.Login(ctx, LoginInput{Server: srv.URL, Protocol: Ntfy, PastedToken: NewSecret("not-an-ntfy-token")})
	if !errors.Is(err, ErrNtfyTokenShape) {
		t.Fatalf("bad token: %v", err)
	}
	// A token of the right shape that the server never issued is refused
	// at login, not stored to fail later as "no longer accepted".
	_, err = m.Login(ctx, LoginInput{Server: srv.URL, Protocol: Ntfy, PastedToken: NewSecret("tk_neverissued0123456789")})
	if !errors.Is(err, ErrTokenUnknown) {
		t.Fatalf("unknown token: %v", err)
	}
	if _, err := m.Tokens().Get(ctx, AccountKey("", srv.URL)); !errors.Is(err, ErrNoToken) {
		t.Fatalf("the refused token was stored: %v", err)
	}
	srv.accept("tk_pasted0123456789")
	acct, err := m.Login(ctx, LoginInput{Server: srv.URL, Protocol: Ntfy, PastedToken: NewSecret(" tk_pasted0123456789 \n")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Tokens().Delete(ctx, acct.Key()) })
	// The server names the user: the same key as a password login's.
	if acct.Key() != "alice@"+srv.URL {
		t.Fatalf("key %q", acct.Key())
	}
	got, err := m.Token(ctx, acct)
	if err != nil || got.Reveal() != "tk_pasted0123456789" {
		t.Fatalf("stored token: %v", err)
	}
	assertNowhere(t, env, &logs, "tk_pasted0123456789")
}

func TestLoginRefusesBadAddressesBeforeTalkingToAnyone(t *testing.T) {
	env := desktoptest.Require(t)
	var logs bytes.Buffer
	m := newTestManager(t, env, &logs, nil)
	for in, want := range map[string]error{
		"":                                       ErrEmptyURL,
		"https://alice:hunter2@push.example.com": ErrUserInfoInURL,
		"http://push.example.com":                ErrInsecureURL,
	} {
		_, err := m.Login(context.Background(), LoginInput{Server: in, Protocol: Native, Username: "alice", Password: NewSecret("hunter2")})
		if !errors.Is(err, want) || strings.Contains(err.Error(), "hunter2") {
			t.Fatalf("%q: %v", in, err)
		}
	}
	if _, err := m.Login(context.Background(), LoginInput{Server: "https://a.example", Protocol: "irc"}); !errors.Is(err, ErrBadProtocol) {
		t.Fatal(err)
	}
}

func TestWithoutAKeyringLoginStillWorksForThisRunAndSaysSo(t *testing.T) {
	env := desktoptest.Require(t)
	var logs bytes.Buffer
	fk := &fakeKeyring{items: map[string]string{}, err: errors.New("org.freedesktop.DBus.Error.ServiceUnknown")}
	tok := NewTokens(TokensConfig{Keyring: fk, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	m := newTestManager(t, env, &logs, tok)
	srv := newFakeServer(t, Ntfy)
	acct, err := m.Login(context.Background(), LoginInput{Server: srv.URL, Protocol: Ntfy, Username: srv.user, Password: NewSecret(srv.pw)})
	if !errors.Is(err, ErrNoKeyring) {
		t.Fatalf("err = %v, want the ErrNoKeyring warning", err)
	}
	token, err := m.Token(context.Background(), acct)
	if err != nil || !srv.live(token.Reveal()) {
		t.Fatalf("in-memory token: %v", err)
	}
	if m.Tokens().Persistent() || m.Tokens().Warning() == "" {
		t.Fatal("the fallback is not visible")
	}
	assertNowhere(t, env, &logs, token.Reveal(), srv.pw)
	if err := m.Logout(context.Background(), acct, LogoutOptions{}); err != nil {
		t.Fatal(err)
	}
	if srv.live(token.Reveal()) {
		t.Fatal("not revoked")
	}
}

func TestATokenTooBigForTheKeyringIsRevokedInsteadOfLeftLiveOnTheServer(t *testing.T) {
	env := desktoptest.Require(t)
	var logs bytes.Buffer
	srv := newFakeServer(t, Native)
	big := strings.Repeat("y", MaxSecretWindows+1)
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/logout" {
			if bearerOf(r) == big {
				srv.revoke(big)
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		srv.mu.Lock()
		srv.tokens[big] = ""
		srv.mu.Unlock()
		writeJSON(w, 200, map[string]string{"token": big})
	})
	m := newTestManager(t, env, &logs, nil)
	_, err := m.Login(context.Background(), LoginInput{Server: srv.URL, Protocol: Native, Username: "a", Password: NewSecret("b")})
	if !errors.Is(err, ErrTokenTooBig) {
		t.Fatalf("err = %v", err)
	}
	if srv.liveTokens() != 0 {
		t.Fatal("the unstored token is still live on the server")
	}
}

func TestWithoutRememberMeTheTokenLivesOnlyForThisRun(t *testing.T) {
	env := desktoptest.Require(t)
	var logs bytes.Buffer
	m := newTestManager(t, env, &logs, nil)
	ctx := context.Background()
	srv := newFakeServer(t, Ntfy)
	server, tok := srv.URL, "tk_sessiononly0123456789"
	srv.accept("tk_remembered0123456789")
	srv.accept(tok)
	// An earlier remembered login for the same account…
	if _, err := m.Login(ctx, LoginInput{Server: server, Protocol: Ntfy, PastedToken: NewSecret("tk_remembered0123456789")}); err != nil {
		t.Fatal(err)
	}
	// …is forgotten by a login without "Remember me".
	acct, err := m.Login(ctx, LoginInput{Server: server, Protocol: Ntfy, PastedToken: NewSecret(tok), SessionOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := m.Token(ctx, acct); err != nil || got.Reveal() != tok {
		t.Fatalf("this run's token: %v", err)
	}
	if _, err := m.Tokens().Get(ctx, acct.Key()); !errors.Is(err, ErrNoToken) {
		t.Fatalf("the keyring still holds a token: %v", err)
	}
	// A new run (a new Manager) has no token.
	next := newTestManager(t, env, &logs, nil)
	if _, err := next.Token(ctx, acct); !errors.Is(err, ErrNoToken) {
		t.Fatalf("next run: %v", err)
	}
	if err := m.Logout(ctx, acct, LogoutOptions{}); err != nil && !errors.Is(err, ErrRevokeFailed) {
		t.Fatal(err)
	}
	if _, err := m.Token(ctx, acct); !errors.Is(err, ErrNoToken) {
		t.Fatalf("after logout: %v", err)
	}
	assertNowhere(t, env, &logs, tok)
}

func TestAnNtfyTopicTheAccountMayNotReadIsNamedAndItsNewTokenRevoked(t *testing.T) {
	env := desktoptest.Require(t)
	var logs bytes.Buffer
	m := newTestManager(t, env, &logs, nil)
	srv := newFakeServer(t, Ntfy)
	srv.set(func(f *fakeServer) { f.closed = map[string]bool{"secret-ops": true} })
	_, err := m.Login(context.Background(), LoginInput{Server: srv.URL, Protocol: Ntfy, Username: srv.user,
		Password: NewSecret(srv.pw), Topics: []string{"alerts", "secret-ops"}})
	var te *TopicError
	if !errors.As(err, &te) || te.Topic != "secret-ops" || !errors.Is(err, ErrTopicForbidden) {
		t.Fatalf("err = %v, want the topic secret-ops named", err)
	}
	if got := Explain(err); !strings.Contains(got, `"secret-ops"`) || strings.Contains(got, "log in again") {
		t.Fatalf("sentence %q", got)
	}
	if n := srv.liveTokens(); n != 0 {
		t.Fatalf("%d tokens left on the server after the refused login", n)
	}
	if _, err := m.Tokens().Get(context.Background(), AccountKey(srv.user, srv.URL)); !errors.Is(err, ErrNoToken) {
		t.Fatalf("a token was stored: %v", err)
	}
}

func TestLoggingInAgainRevokesTheLoginItReplaces(t *testing.T) {
	env := desktoptest.Require(t)
	for _, p := range Protocols {
		t.Run(string(p), func(t *testing.T) {
			var logs bytes.Buffer
			m := newTestManager(t, env, &logs, nil)
			srv := newFakeServer(t, p)
			ctx := context.Background()
			in := LoginInput{Server: srv.URL, Protocol: p, Username: srv.user, Password: NewSecret(srv.pw), Topics: []string{"backup"}}
			first, err := m.Login(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = m.Tokens().Delete(ctx, first.Key()) })
			old, _ := m.Token(ctx, first)
			second, err := m.Login(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			// Until the caller's connection moved to the new token, both work.
			if n := srv.liveTokens(); n != 2 {
				t.Fatalf("%d live tokens before RevokeReplaced, want 2", n)
			}
			m.RevokeReplaced(ctx, second)
			if n := srv.liveTokens(); n != 1 || srv.live(old.Reveal()) {
				t.Fatalf("%d live tokens after RevokeReplaced (old one live: %v), want only the new one", n, srv.live(old.Reveal()))
			}
			m.RevokeReplaced(ctx, second) // nothing left to revoke
			if n := srv.liveTokens(); n != 1 {
				t.Fatalf("a second RevokeReplaced revoked the new token")
			}
		})
	}
}
