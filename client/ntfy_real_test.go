package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidings-app/tidings/account"
	"github.com/tidings-app/tidings/conn"
	"github.com/tidings-app/tidings/history"
	"github.com/tidings-app/tidings/internal/desktoptest"
	"github.com/tidings-app/tidings/internal/testkit"
	"github.com/tidings-app/tidings/notifier"
)

// realNtfy is a real ntfy server (the binary TIDINGS_NTFY names) on a
// loopback port, with an auth file that lets one user read and write.
type realNtfy struct {
	url, user, pass string
}

// startRealNtfy skips the test, saying why, when TIDINGS_NTFY is unset:
// ntfy is not on the Go module proxy, so no test can build it.
func startRealNtfy(t *testing.T) *realNtfy {
	t.Helper()
	bin := os.Getenv("TIDINGS_NTFY")
	if bin == "" {
		t.Skip("TIDINGS_NTFY is not set: point it at an ntfy server binary (2.13+) to run this test against the real server")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	auth := filepath.Join(dir, "user.db")
	authArgs := []string{"--auth-file", auth, "--auth-default-access", "deny-all"}
	srv := exec.Command(bin, append([]string{"serve", "--listen-http", addr, "--base-url", "http://" + addr,
		"--cache-file", filepath.Join(dir, "cache.db"), "--cache-duration", "12h"}, authArgs...)...)
	out := &testkit.Buffer{}
	srv.Stdout, srv.Stderr = out, out
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = srv.Process.Kill()
		_ = srv.Wait()
		if t.Failed() {
			t.Logf("ntfy:\n%s", out)
		}
	})
	testkit.Eventually(t, "ntfy to answer", func() bool {
		resp, err := http.Get("http://" + addr + "/v1/health")
		if err == nil {
			resp.Body.Close()
		}
		_, serr := os.Stat(auth)
		return err == nil && serr == nil
	})
	n := &realNtfy{url: "http://" + addr, user: "tina", pass: "pw-tina-123"}
	for _, args := range [][]string{append(append([]string{"user"}, authArgs...), "add", n.user),
		append(append([]string{"access"}, authArgs...), n.user, "alerts", "rw")} {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "NTFY_PASSWORD="+n.pass)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("ntfy %v: %v: %s", args, err, b)
		}
	}
	return n
}

// publish posts text to topic as the test user, with ntfy's headers.
func (n *realNtfy) publish(t *testing.T, topic, text string, headers ...map[string]string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, n.url+"/"+topic, strings.NewReader(text))
	req.SetBasicAuth(n.user, n.pass)
	for _, h := range headers {
		for k, v := range h {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("publish: %s", resp.Status)
	}
}

// Issue 19.4, against the real ntfy: log in, receive nothing, quit,
// publish, start: the message arrives (the first dial of a run used to
// send no since=). Then "Clear all", quit, publish, start: it arrives too,
// and nothing from before the clear pops up again.
func TestRealNtfyMessagesPublishedWhileClosedArriveWithAnEmptyOrClearedHistory(t *testing.T) {
	desktoptest.Require(t)
	n := startRealNtfy(t)
	dir := t.TempDir()
	first := newRig(t, dir, testkit.NewRecorder[notifier.Popup]())
	if err := first.c.Login(context.Background(), account.LoginInput{Server: n.url, Protocol: account.Ntfy,
		Username: n.user, Password: account.NewSecret(n.pass), Topics: []string{"alerts"}, AllowInsecure: true}); err != nil {
		t.Fatal(err)
	}
	first.waitState(conn.StateConnected)
	key := first.c.acct.Key()
	testkit.Eventually(t, "the first connection's time recorded", func() bool {
		p, _ := first.hist.LastID(context.Background(), key)
		return p != ""
	})
	first.close()
	// ntfy's since=<seconds> takes messages of that second on: step past it.
	time.Sleep(1100 * time.Millisecond)
	n.publish(t, "alerts", "sent while closed")

	second := newRig(t, dir, testkit.NewRecorder[notifier.Popup]())
	if err := second.c.Resume(context.Background()); err != nil {
		t.Fatal(err)
	}
	second.waitState(conn.StateConnected)
	testkit.Eventually(t, "the message sent while closed stored", func() bool { return count(t, second.hist) == 1 })
	if _, err := second.hist.Clear(context.Background()); err != nil {
		t.Fatal(err)
	}
	second.close()
	n.publish(t, "alerts", "sent after clear all")

	rec := testkit.NewRecorder[notifier.Popup]()
	third := newRig(t, dir, rec)
	if err := third.c.Resume(context.Background()); err != nil {
		t.Fatal(err)
	}
	third.waitState(conn.StateConnected)
	testkit.Eventually(t, "the message sent after the clear stored", func() bool { return count(t, third.hist) >= 1 })
	n.publish(t, "alerts", "live")
	testkit.Eventually(t, "the live message stored", func() bool { return count(t, third.hist) >= 2 })
	if got := count(t, third.hist); got != 2 {
		t.Fatalf("%d messages after the clear, want 2: the cleared one came back (%s)", got, fmt.Sprint(rec.Popups()))
	}
}

// Issue 21.5 and 21.9, against the real ntfy: a topic the account may not
// read is named at login, and the token that login made is not left on the
// server; a pasted token is tried and keyed by its user.
func TestRealNtfyNamesAClosedTopicAndLeavesNoTokenAndTriesAPastedOne(t *testing.T) {
	desktoptest.Require(t)
	n := startRealNtfy(t)
	r := newRig(t, t.TempDir(), testkit.NewRecorder[notifier.Popup]())
	ctx := context.Background()
	err := r.c.Login(ctx, account.LoginInput{Server: n.url, Protocol: account.Ntfy, Username: n.user,
		Password: account.NewSecret(n.pass), Topics: []string{"alerts", "payroll"}, AllowInsecure: true})
	var te *account.TopicError
	if !errors.As(err, &te) || te.Topic != "payroll" {
		t.Fatalf("err = %v, want the topic payroll named", err)
	}
	if tokens := n.tokens(t); len(tokens) != 0 {
		t.Fatalf("the refused login left %d tokens on the server", len(tokens))
	}
	err = r.c.Login(ctx, account.LoginInput{Server: n.url, Protocol: account.Ntfy, PastedToken: account.NewSecret("tk_aaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
		Topics: []string{"alerts"}, AllowInsecure: true})
	if !errors.Is(err, account.ErrTokenUnknown) {
		t.Fatalf("an unknown pasted token: %v", err)
	}
	authn, _ := account.NewAuthenticator(account.Ntfy, account.HTTPConfig{})
	g, err := authn.Login(ctx, n.url, n.user, account.NewSecret(n.pass))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.c.Login(ctx, account.LoginInput{Server: n.url, Protocol: account.Ntfy, PastedToken: g.Token,
		Topics: []string{"alerts"}, AllowInsecure: true}); err != nil {
		t.Fatal(err)
	}
	r.waitState(conn.StateConnected)
	if acct, _ := r.c.Account(); acct.Key() != account.AccountKey(n.user, n.url) {
		t.Fatalf("the pasted token is keyed %q", acct.Key())
	}
}

// tokens lists the user's access tokens as the server holds them.
func (n *realNtfy) tokens(t *testing.T) []any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, n.url+"/v1/account", nil)
	req.SetBasicAuth(n.user, n.pass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var acct struct {
		Tokens []any `json:"tokens"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&acct); err != nil {
		t.Fatal(err)
	}
	return acct.Tokens
}

// Issue 21.4, against the real ntfy: tags, an attachment and a view action
// reach the popup and the history.
func TestRealNtfyTagsAttachmentAndActionsReachThePopupAndTheHistory(t *testing.T) {
	desktoptest.Require(t)
	n := startRealNtfy(t)
	rec := testkit.NewRecorder[notifier.Popup]()
	r := newRig(t, t.TempDir(), rec)
	if err := r.c.Login(context.Background(), account.LoginInput{Server: n.url, Protocol: account.Ntfy, Username: n.user,
		Password: account.NewSecret(n.pass), Topics: []string{"alerts"}, AllowInsecure: true}); err != nil {
		t.Fatal(err)
	}
	r.waitState(conn.StateConnected)
	n.publish(t, "alerts", "/srv is 91% full", map[string]string{"Title": "Disk almost full", "Tags": "warning,nas",
		"Attach": "https://files.example/df.txt", "Filename": "df.txt", "Actions": "view, Open Grafana, https://grafana.example/d"})
	testkit.Eventually(t, "the popup", func() bool { return len(rec.Popups()) == 1 })
	p := rec.Popups()[0]
	if p.Title != "⚠️ Disk almost full" || !strings.Contains(p.Body, "Tags: nas") || !strings.Contains(p.Body, "📎 df.txt") || p.URL != "https://files.example/df.txt" {
		t.Fatalf("popup %q / %q / %q", p.Title, p.Body, p.URL)
	}
	var es []history.Entry
	testkit.Eventually(t, "the stored message", func() bool {
		es, _ = r.hist.Page(context.Background(), history.Cursor{}, 10)
		return len(es) == 1
	})
	x := es[0].Extra
	if x == nil || len(x.Tags) != 2 || x.Attachment == nil || x.Attachment.Name != "df.txt" || len(x.Actions) != 1 || x.Actions[0].URL != "https://grafana.example/d" {
		t.Fatalf("stored extras %+v", x)
	}
}
