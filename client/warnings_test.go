package client

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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

// warningLog records OnWarning calls.
type warningLog chan string

func (w warningLog) hear(problem error, on bool) {
	select {
	case w <- fmt.Sprintf("%v=%v", errors.Is(problem, account.ErrConfigNotSaved), on):
	default:
	}
}

// Issue 19.9: a login whose settings file could not be written failed
// without a word in the log, and the login window said only "Something
// went wrong". The login stands (the token is kept, the connection runs),
// and the user is told in a popup naming the file, in the tray (OnWarning)
// and in the log.
func TestALoginWhoseSettingsCannotBeWrittenConnectsAndSaysSo(t *testing.T) {
	desktoptest.Require(t)
	srv := servertest.Start(t, servertest.Config(200*time.Millisecond))
	srv.AddUser("anna", "pw-anna-123")
	dir := t.TempDir()
	// A file where the settings folder should be: every write fails.
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte("not a folder"), 0o600); err != nil {
		t.Fatal(err)
	}
	rec := testkit.NewRecorder[notifier.Popup]()
	warn := make(warningLog, 8)
	r := newRig(t, dir, rec, func(c *Config) { c.OnWarning = warn.hear })
	err := r.c.Login(context.Background(), account.LoginInput{Server: srv.URL, Protocol: account.Native,
		Username: "anna", Password: account.NewSecret("pw-anna-123")})
	if !errors.Is(err, account.ErrConfigNotSaved) {
		t.Fatalf("login = %v, want a warning wrapping ErrConfigNotSaved", err)
	}
	r.waitState(conn.StateConnected)
	testkit.Eventually(t, "the popup", func() bool { return len(rec.Popups()) >= 1 })
	pops := rec.Popups()
	settings := filepath.Join(dir, "config", "config.json")
	if len(pops) != 1 || pops[0].Title != "Settings were not saved" || !strings.Contains(pops[0].Body, settings) {
		t.Fatalf("popups %+v, want one naming %s", pops, settings)
	}
	if got := <-warn; got != "false=false" { // no keyring problem
		t.Fatalf("first OnWarning %s, want the keyring warning off", got)
	}
	if got := <-warn; got != "true=true" {
		t.Fatalf("second OnWarning %s, want the settings warning on", got)
	}
	if !strings.Contains(r.logs.String(), "settings file cannot be written") || !strings.Contains(r.logs.String(), settings) {
		t.Fatalf("the log does not say it:\n%s", r.logs.String())
	}
	if got := account.Explain(err); !strings.Contains(got, "logged in") {
		t.Fatalf("the login window would say %q", got)
	}
}

// The warnings' logic: each problem in the error gets its popup and its
// OnWarning on; the others are turned off.
func TestEachAccountWarningIsToldAndTheOthersEnd(t *testing.T) {
	desktoptest.Require(t)
	cases := []struct {
		name   string
		err    error
		titles []string
		heard  []string
	}{
		{"a clean login", nil, nil, []string{"false=false", "true=false"}},
		{"no keyring", fmt.Errorf("x: %w", account.ErrNoKeyring), []string{"Your login is not remembered"}, []string{"false=true", "true=false"}},
		{"both", errors.Join(account.ErrConfigNotSaved, account.ErrNoKeyring),
			[]string{"Your login is not remembered", "Settings were not saved"}, []string{"false=true", "true=true"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := testkit.NewRecorder[notifier.Popup]()
			warn := make(warningLog, 8)
			r := newRig(t, t.TempDir(), rec, func(cfg *Config) { cfg.OnWarning = warn.hear })
			r.c.accountWarnings(c.err)
			testkit.Eventually(t, "the popups", func() bool { return len(rec.Popups()) >= len(c.titles) })
			var titles []string
			for _, p := range rec.Popups() {
				titles = append(titles, p.Title)
			}
			if fmt.Sprint(titles) != fmt.Sprint(c.titles) {
				t.Fatalf("popups %q, want %q", titles, c.titles)
			}
			for _, want := range c.heard {
				if got := <-warn; got != want {
					t.Fatalf("OnWarning %s, want %s", got, want)
				}
			}
		})
	}
}
