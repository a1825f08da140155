package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/tidings-app/tidings/account"
	"github.com/tidings-app/tidings/conn"
	"github.com/tidings-app/tidings/history"
	"github.com/tidings-app/tidings/internal/desktoptest"
	"github.com/tidings-app/tidings/internal/servertest"
	"github.com/tidings-app/tidings/internal/testkit"
	"github.com/tidings-app/tidings/notifier"
)

func TestMain(m *testing.M) { os.Exit(desktoptest.Main(m, desktoptest.Needs{Keyring: true})) }

// rig is one Tidings client over a real keyring, a real history file and a
// notifier, with its config and data in the private desktop.
type rig struct {
	t      *testing.T
	c      *Client
	hist   *history.Store
	mgr    *account.Manager
	logs   *testkit.Buffer
	states chan conn.Status
	dir    string
}

// newRig starts a client; opts adjust its Config before New.
func newRig(t *testing.T, dir string, n notifier.Notifier, opts ...func(*Config)) *rig {
	t.Helper()
	logs := &testkit.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	hist, err := history.Open(context.Background(), history.Config{Path: filepath.Join(dir, "data", history.FileName), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	mgr, err := account.NewManager(account.ManagerConfig{ConfigPath: filepath.Join(dir, "config", "config.json"), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, hist: hist, mgr: mgr, logs: logs, states: make(chan conn.Status, 1000), dir: dir}
	cfg := Config{
		Accounts: mgr, History: hist, Notifier: n, Logger: log,
		ShownPath: filepath.Join(dir, "run", shownFileName), // off the data disk, as the runtime dir is
		OnStatus: func(s conn.Status) {
			select {
			case r.states <- s:
			default:
			}
		},
		Tune: func(cc *conn.Config) {
			cc.PingInterval = 200 * time.Millisecond
			cc.DeadAfter = time.Second
			cc.BackoffBase = 20 * time.Millisecond
			cc.BackoffCap = 200 * time.Millisecond
			cc.HeartbeatInterval = 300 * time.Millisecond
		},
		Dispatch: func(dc *notifier.Config) {
			dc.CatchUpGap = 100 * time.Millisecond
			dc.CatchUpMaxWait = 500 * time.Millisecond
		},
		WakeWatchers: []conn.WakeWatcher{},
	}
	for _, o := range opts {
		o(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.c = c
	t.Cleanup(r.close)
	return r
}

func (r *rig) close() {
	r.c.Close()
	r.hist.Close()
}

// waitState waits for a state change to want.
func (r *rig) waitState(want conn.State) conn.Status {
	r.t.Helper()
	deadline := time.After(testkit.Patience())
	for {
		select {
		case s := <-r.states:
			if s.State == want {
				return s
			}
		case <-deadline:
			r.t.Fatalf("state %v not reached", want)
		}
	}
}

func count(t *testing.T, h *history.Store) int {
	n, err := h.Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestLoginConnectPublishNotifyAndLogoutAgainstTheRealServerKeyringAndBus(t *testing.T) {
	env := desktoptest.Require(t)
	bus := desktoptest.StartNotifications(t)
	srv := servertest.Start(t, servertest.Config(200*time.Millisecond))
	const password = "correct horse battery staple"
	srv.AddUser("alice", password)
	pub := srv.Publisher()

	dir := t.TempDir()
	r := newRig(t, dir, notifier.NewDesktop(slog.New(slog.DiscardHandler)))
	err := r.c.Login(context.Background(), account.LoginInput{
		Server: srv.URL, Protocol: account.Native, Username: "alice", Password: account.NewSecret(password)})
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	r.waitState(conn.StateConnected)
	acct, _ := r.c.Account()

	// The token is in the real keyring under the app ID and the account key.
	token, err := keyring.Get(account.AppID, acct.Key())
	if err != nil || !strings.HasPrefix(token, "tdt_") {
		t.Fatalf("keyring: %q, %v", token, err)
	}

	srv.Send(pub, servertest.Message{To: "alice", Title: "Backup done", Body: "3.2 GB in <41 s> & done", Priority: 5, Topic: "backup"})
	got := bus.Wait(t, 10*time.Second, func(ns []desktoptest.Notification) bool { return len(ns) >= 1 })
	if n := got[0]; n.AppName != "Tidings" || n.Summary != "Backup done" || n.Body != "3.2 GB in &lt;41 s&gt; &amp; done" || n.Urgency() != 2 {
		t.Fatalf("notification: app=%q summary=%q body=%q urgency=%d", n.AppName, n.Summary, n.Body, n.Urgency())
	}
	testkit.Eventually(t, "the message in history", func() bool { return count(t, r.hist) == 1 })
	page, err := r.hist.Page(context.Background(), history.Cursor{}, 10)
	if err != nil || len(page) != 1 || page[0].Title != "Backup done" || page[0].Source != "backup" || page[0].Server != acct.Key() {
		t.Fatalf("history page: %+v, %v", page, err)
	}
	testkit.Eventually(t, "the notified flag", func() bool {
		un, _ := r.hist.Unnotified(context.Background(), 10)
		return len(un) == 0
	})

	if err := r.c.Logout(context.Background(), false); err != nil {
		t.Fatalf("logout: %v", err)
	}
	if _, err := keyring.Get(account.AppID, acct.Key()); !errors.Is(err, keyring.ErrNotFound) {
		t.Fatalf("token still in the keyring after logout: %v", err)
	}
	if count(t, r.hist) != 1 {
		t.Fatal("logout cleared the history without being asked")
	}
	// The server revoked it: a session with the old token is refused.
	sup, err := conn.New(conn.Config{Server: srv.URL, Adapter: conn.NativeAdapter{}, Token: conn.NewSecret(token),
		Sink: func(e conn.Event) {
			if e.Kind == conn.EventState {
				r.states <- e.Status
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	sup.Start()
	r.waitState(conn.StateAuthFailed)
	sup.Stop()

	// Secret hygiene: neither the token nor the password is anywhere on
	// disk outside the keyring, nor in the logs.
	for _, secret := range []string{token, password} {
		for _, root := range []string{dir, env.ConfigHome(), env.DataHome(), env.CacheHome()} {
			if hits := desktoptest.GrepTree(t, root, secret); len(hits) > 0 {
				t.Errorf("a secret is in %v", hits)
			}
		}
		if strings.Contains(r.logs.String(), secret) {
			t.Error("a secret is in the logs")
		}
	}
}

func TestMessagesSentWhileTheAppWasClosedArriveOnceAtTheNextStart(t *testing.T) {
	desktoptest.Require(t)
	srv := servertest.Start(t, servertest.Config(200*time.Millisecond))
	srv.AddUser("bob", "pw-bob-123")
	pub := srv.Publisher()
	dir := t.TempDir()

	first := newRig(t, dir, testkit.NewRecorder[notifier.Popup]())
	if err := first.c.Login(context.Background(), account.LoginInput{Server: srv.URL, Protocol: account.Native,
		Username: "bob", Password: account.NewSecret("pw-bob-123")}); err != nil {
		t.Fatal(err)
	}
	first.waitState(conn.StateConnected)
	for i := range 5 {
		srv.Send(pub, servertest.Message{To: "bob", Title: fmt.Sprintf("live %d", i), Body: "b"})
	}
	testkit.Eventually(t, "5 live messages stored", func() bool { return count(t, first.hist) == 5 })
	// and their popups settled: a message not yet marked shown when the
	// app quits is offered again at the next start (by design), which
	// would add a popup this test does not count
	testkit.Eventually(t, "the 5 live popups marked shown", func() bool {
		left, err := first.hist.Unnotified(context.Background(), 10)
		return err == nil && len(left) == 0
	})
	first.close()

	for i := range 20 {
		srv.Send(pub, servertest.Message{To: "bob", Title: fmt.Sprintf("missed %d", i), Body: "b"})
	}

	rec := testkit.NewRecorder[notifier.Popup]()
	second := newRig(t, dir, rec)
	if err := second.c.Resume(context.Background()); err != nil {
		t.Fatalf("resume: %v", err)
	}
	second.waitState(conn.StateConnected)
	testkit.Eventually(t, "25 messages stored", func() bool { return count(t, second.hist) == 25 })
	srv.Send(pub, servertest.Message{To: "bob", Title: "after", Body: "b"})
	testkit.Eventually(t, "26 messages stored", func() bool { return count(t, second.hist) == 26 })
	page, err := second.hist.Page(context.Background(), history.Cursor{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range page {
		if seen[e.ID] {
			t.Fatalf("message %s stored twice", e.ID)
		}
		seen[e.ID] = true
	}
	// The 20 missed messages are one "missed" summary, not 20 popups.
	testkit.Eventually(t, "the popups", func() bool { return len(rec.Popups()) >= 2 })
	pops := rec.Popups()
	if len(pops) > 3 {
		t.Fatalf("%d popups for a catch-up of 20 and one live message: %+v", len(pops), pops)
	}
}

func TestResumeWithoutAnAccountAsksForLogin(t *testing.T) {
	desktoptest.Require(t)
	r := newRig(t, t.TempDir(), testkit.NewRecorder[notifier.Popup]())
	if err := r.c.Resume(context.Background()); !errors.Is(err, ErrNeedsLogin) {
		t.Fatalf("err = %v, want ErrNeedsLogin", err)
	}
}

// Issue 19.1: every login used to append to the settings file and Resume
// took the first account, so after logging in to A and then B a restart
// connected to A. Resume takes the account logged in to last, and never
// one the user logged out of.
func TestResumeConnectsTheAccountLoggedInToLastAndNeverALoggedOutOne(t *testing.T) {
	desktoptest.Require(t)
	srv := servertest.Start(t, servertest.Config(200*time.Millisecond))
	srv.AddUser("anna", "pw-anna-123")
	srv.AddUser("bert", "pw-bert-123")
	pub := srv.Publisher()
	dir := t.TempDir()
	login := func(r *rig, user string) {
		t.Helper()
		if err := r.c.Login(context.Background(), account.LoginInput{Server: srv.URL, Protocol: account.Native,
			Username: user, Password: account.NewSecret("pw-" + user + "-123")}); err != nil {
			t.Fatal(err)
		}
		r.waitState(conn.StateConnected)
	}
	first := newRig(t, dir, testkit.NewRecorder[notifier.Popup]())
	login(first, "anna")
	login(first, "bert") // without logging out of anna
	first.close()

	second := newRig(t, dir, testkit.NewRecorder[notifier.Popup]())
	if err := second.c.Resume(context.Background()); err != nil {
		t.Fatalf("resume: %v", err)
	}
	second.waitState(conn.StateConnected)
	if acct, _ := second.c.Account(); acct.Username != "bert" {
		t.Fatalf("resumed %q, want bert, the account logged in to last", acct.Username)
	}
	srv.Send(pub, servertest.Message{To: "bert", Title: "for bert", Body: "b"})
	testkit.Eventually(t, "bert's message stored", func() bool { return count(t, second.hist) == 1 })
	if err := second.c.Logout(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	second.close()

	third := newRig(t, dir, testkit.NewRecorder[notifier.Popup]())
	if err := third.c.Resume(context.Background()); !errors.Is(err, ErrNeedsLogin) {
		acct, _ := third.c.Account()
		t.Fatalf("after logging out of bert, Resume = %v (account %q), want ErrNeedsLogin", err, acct.Username)
	}
}
