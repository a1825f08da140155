package client

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidings-app/tidings/account"
	"github.com/tidings-app/tidings/conn"
	"github.com/tidings-app/tidings/history"
	"github.com/tidings-app/tidings/internal/desktoptest"
	"github.com/tidings-app/tidings/internal/servertest"
	"github.com/tidings-app/tidings/internal/testkit"
	"github.com/tidings-app/tidings/notifier"
)

const noticeTitle = "Messages are not being saved"

// storageEvents records what OnStorage heard: a non-nil error when history
// stopped being writable, nil when it recovered.
type storageEvents chan error

func (e storageEvents) next(t *testing.T, want string) error {
	t.Helper()
	select {
	case err := <-e:
		return err
	case <-time.After(testkit.Patience()):
		t.Fatalf("OnStorage never heard %s", want)
		return nil
	}
}

// titles counts the popups per title.
func titles(pops []notifier.Popup) map[string]int {
	n := map[string]int{}
	for _, p := range pops {
		n[p.Title]++
	}
	return n
}

// A real full disk (a tmpfs filled to its last byte under the history
// file): every message still pops up, the user is told once per episode
// (a popup and OnStorage for the tray), the resume point never passes what
// is stored, and once there is room again every message is saved without
// popping up a second time. Quitting while the disk is still full loses
// nothing either: the next start fetches the unsaved messages from the
// server again, from the last stored one.
func TestOnAFullDiskMessagesPopUpTheUserIsToldAndNothingIsLost(t *testing.T) {
	desktoptest.Require(t)
	dir := t.TempDir()
	disk := testkit.SmallDisk(t, filepath.Join(dir, "data"), 4<<20)
	srv := servertest.Start(t, servertest.Config(200*time.Millisecond))
	srv.AddUser("dora", "pw-dora-123")
	pub := srv.Publisher()

	events := make(storageEvents, 16)
	opts := func(c *Config) {
		c.StoreRetry = 50 * time.Millisecond
		c.OnStorage = func(err error) { events <- err }
		c.Dispatch = func(dc *notifier.Config) {
			dc.BurstLimit = 1000 // every message its own popup, so each is seen
			dc.CatchUpLimit = 1000
			dc.CatchUpGap = 100 * time.Millisecond
			dc.CatchUpMaxWait = 500 * time.Millisecond
		}
	}
	rec := testkit.NewRecorder[notifier.Popup]()
	r := newRig(t, dir, rec, opts)
	if err := r.c.Login(context.Background(), account.LoginInput{Server: srv.URL, Protocol: account.Native,
		Username: "dora", Password: account.NewSecret("pw-dora-123")}); err != nil {
		t.Fatal(err)
	}
	r.waitState(conn.StateConnected)
	acct, _ := r.c.Account()
	body := strings.Repeat("x", 2000)
	send := func(title string) { srv.Send(pub, servertest.Message{To: "dora", Title: title, Body: body}) }
	popped := func(n int) func() bool {
		return func() bool { return len(rec.Popups()) >= n }
	}

	send("stored first")
	testkit.Eventually(t, "the first message stored and marked notified", func() bool {
		un, err := r.hist.Unnotified(context.Background(), 10)
		return count(t, r.hist) == 1 && err == nil && len(un) == 0
	})
	before, err := r.hist.LastID(context.Background(), acct.Key())
	if err != nil || before == "" {
		t.Fatalf("resume point after the first message: %q, %v", before, err)
	}

	// Episode 1: the disk fills, then frees while the app runs.
	disk.Fill()
	const n = 12
	for i := range n {
		send(fmt.Sprintf("full %d", i))
	}
	if err := events.next(t, "the failure"); err == nil {
		t.Fatal("OnStorage heard recovery before any failure")
	}
	testkit.Eventually(t, "every message and one notice popped up", popped(1+n+1))
	got := titles(rec.Popups())
	if got[noticeTitle] != 1 {
		t.Fatalf("%d notices, want 1: %v", got[noticeTitle], got)
	}
	for i := range n {
		if got[fmt.Sprintf("full %d", i)] != 1 {
			t.Fatalf("message %q popped up %d times while the disk was full", fmt.Sprintf("full %d", i), got[fmt.Sprintf("full %d", i)])
		}
	}
	stored := count(t, r.hist)
	t.Logf("on the full disk %d of %d messages were stored", stored, 1+n)
	if stored == 1+n {
		t.Fatal("every message was stored on a full disk: the disk was not full, the test proves nothing")
	}
	assertResumePointStored(t, r.hist, acct.Key())

	disk.Free()
	if err := events.next(t, "the recovery"); err != nil {
		t.Fatalf("after freeing the disk OnStorage heard %v, want nil", err)
	}
	if c := count(t, r.hist); c != 1+n {
		t.Fatalf("%d stored after recovery, want %d", c, 1+n)
	}
	assertResumePointStored(t, r.hist, acct.Key())
	send("after recovery")
	testkit.Eventually(t, "the live message after recovery stored", func() bool { return count(t, r.hist) == 2+n })
	testkit.Eventually(t, "its popup", popped(1+n+1+1))
	for title, k := range titles(rec.Popups()) {
		if k != 1 {
			t.Fatalf("%q popped up %d times", title, k)
		}
	}

	// Episode 2: the disk fills, and the app quits before it frees.
	disk.Fill()
	for i := range n {
		send(fmt.Sprintf("quit %d", i))
	}
	if err := events.next(t, "the second failure"); err == nil {
		t.Fatal("OnStorage heard recovery, want the second failure")
	}
	testkit.Eventually(t, "the second episode's messages and its notice", popped(1+n+1+1+n+1))
	if k := titles(rec.Popups())[noticeTitle]; k != 2 {
		t.Fatalf("%d notices after two episodes, want 2", k)
	}
	assertResumePointStored(t, r.hist, acct.Key())
	r.close()
	disk.Free()

	secondPopups := testkit.NewRecorder[notifier.Popup]()
	second := newRig(t, dir, secondPopups, opts)
	if err := second.c.Resume(context.Background()); err != nil {
		t.Fatalf("resume: %v", err)
	}
	second.waitState(conn.StateConnected)
	testkit.Eventually(t, "every message of both episodes stored", func() bool { return count(t, second.hist) == 2+2*n })
	// They popped up before the quit: fetched again, they are stored
	// quietly, not shown a second time.
	send("after restart")
	testkit.Eventually(t, "the live message after the restart popped up", func() bool {
		return titles(secondPopups.Popups())["after restart"] == 1
	})
	if again := titles(secondPopups.Popups()); len(again) != 1 {
		t.Fatalf("after the restart these popped up: %v; want only the new message", again)
	}
	testkit.Eventually(t, "every stored message marked notified", func() bool {
		un, err := second.hist.Unnotified(context.Background(), 100)
		return err == nil && len(un) == 0
	})
	page, err := second.hist.Page(context.Background(), history.Cursor{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range page {
		if seen[e.Title] {
			t.Fatalf("%q stored twice", e.Title)
		}
		seen[e.Title] = true
	}
}

// assertResumePointStored checks that the resume point names a stored
// message: it never moves past what is durably in history.
func assertResumePointStored(t *testing.T, h *history.Store, server string) {
	t.Helper()
	point, err := h.LastID(context.Background(), server)
	if err != nil {
		t.Fatal(err)
	}
	page, err := h.Page(context.Background(), history.Cursor{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range page {
		if e.ID == point {
			return
		}
	}
	t.Fatalf("resume point %q is not a stored message (%d stored)", point, len(page))
}

// A catch-up that stopped at its bound is told in one popup, with both
// counts, in the language cmd gave (the body is a format).
func TestAShortCatchUpIsToldInOnePopupWithBothCounts(t *testing.T) {
	desktoptest.Require(t)
	cases := []struct {
		name  string
		given Notice
		short conn.ShortCatchUp
		title string
		body  string
	}{
		{"english default", Notice{}, conn.ShortCatchUp{Fetched: 1000, Missed: 1200},
			"Not every missed message was fetched", "1000 of 1200 missed messages were fetched; the older ones are still on the server."},
		{"at least, in Chinese", Notice{Title: "部分错过的消息未能获取", Body: "已获取 %[2]d 条错过消息中的 %[1]d 条；更早的消息仍在服务器上。"},
			conn.ShortCatchUp{Fetched: 8, Missed: 2000, AtLeast: true}, "部分错过的消息未能获取", "已获取 2000+ 条错过消息中的 8 条；更早的消息仍在服务器上。"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := testkit.NewRecorder[notifier.Popup]()
			r := newRig(t, t.TempDir(), rec, func(cfg *Config) { cfg.ShortNotice = c.given })
			r.c.handle(nil, account.Account{}, conn.Event{Kind: conn.EventShort, Short: &c.short})
			testkit.Eventually(t, "the popup", func() bool { return len(rec.Popups()) == 1 })
			if p := rec.Popups()[0]; p.Title != c.title || p.Body != c.body {
				t.Fatalf("popup %q / %q, want %q / %q", p.Title, p.Body, c.title, c.body)
			}
		})
	}
}

// An ntfy resume point that is a message id is turned into that stored
// message's time at start: ntfy resumes from a time whatever it cached.
func TestAnNtfyResumePointBecomesTheTimeOfItsStoredMessage(t *testing.T) {
	desktoptest.Require(t)
	r := newRig(t, t.TempDir(), testkit.NewRecorder[notifier.Popup]())
	const server = "ntfy:https://ntfy.example|alice"
	sent := time.Unix(1796567009, 0)
	if _, err := r.hist.Insert(context.Background(), conn.Message{Server: server, ID: "hwQ2YpKdmgAb", Title: "t", Body: "b", Sent: sent}); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, last, want string }{
		{"a stored message's id", "hwQ2YpKdmgAb", "1796567009"},
		{"an id no longer stored", "zzzzzzzzzzzz", "zzzzzzzzzzzz"},
		{"already a time", "1796560000", "1796560000"},
		{"nothing", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := r.c.ntfyResumeTime(server, c.last); got != c.want {
				t.Fatalf("ntfyResumeTime(%q) = %q, want %q", c.last, got, c.want)
			}
		})
	}
}

// What Open did to a history it could not use is told once at start: a
// damaged file moved aside, or no usable file at all (history in memory
// for the session, and OnStorage for the tray line).
func TestAnUnusableHistoryIsToldAtStart(t *testing.T) {
	desktoptest.Require(t)
	cases := []struct {
		name    string
		prepare func(t *testing.T, data string)
		title   string
		body    string // a part of the body
		storage bool   // OnStorage hears a problem
	}{
		{"a damaged file is moved aside", func(t *testing.T, data string) {
			if err := os.MkdirAll(data, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(data, history.FileName), []byte(strings.Repeat("not a database ", 512)), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "Message history was damaged and started anew", history.FileName + ".corrupt-", false},
		{"no usable file keeps history in memory", func(t *testing.T, data string) {
			if err := os.WriteFile(data, []byte("a file where the data folder should be"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "Messages are not being saved", "kept only until Tidings quits", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			c.prepare(t, filepath.Join(dir, "data"))
			rec := testkit.NewRecorder[notifier.Popup]()
			events := make(storageEvents, 4)
			r := newRig(t, dir, rec, func(cfg *Config) {
				cfg.OnStorage = func(err error) { events <- err }
				cfg.HistoryFile = filepath.Join(dir, "data", history.FileName)
			})
			testkit.Eventually(t, "the notice", func() bool { return len(rec.Popups()) >= 1 })
			pops := rec.Popups()
			if len(pops) != 1 || pops[0].Title != c.title || !strings.Contains(pops[0].Body, c.body) {
				t.Fatalf("popups %+v, want one %q containing %q", pops, c.title, c.body)
			}
			if got := len(events) > 0; got != c.storage {
				t.Fatalf("OnStorage heard a problem: %v, want %v (history path %q)", got, c.storage, r.hist.Path())
			}
		})
	}
}

// Issue 19.9: after a damaged history was moved aside, the next start
// fetched the server's messages again (no resume point) and popped up "3
// missed messages" the user had seen. They are stored without popups (the
// notice about the damaged file says what happened); a new message pops
// up as usual.
func TestMessagesRefetchedIntoARebuiltHistoryAreStoredWithoutPopups(t *testing.T) {
	desktoptest.Require(t)
	srv := servertest.Start(t, servertest.Config(200*time.Millisecond))
	srv.AddUser("anna", "pw-anna-123")
	pub := srv.Publisher()
	dir := t.TempDir()
	first := newRig(t, dir, testkit.NewRecorder[notifier.Popup]())
	if err := first.c.Login(context.Background(), account.LoginInput{Server: srv.URL, Protocol: account.Native,
		Username: "anna", Password: account.NewSecret("pw-anna-123")}); err != nil {
		t.Fatal(err)
	}
	first.waitState(conn.StateConnected)
	for _, title := range []string{"seen 1", "seen 2", "seen 3"} {
		srv.Send(pub, servertest.Message{To: "anna", Title: title, Body: "b"})
	}
	testkit.Eventually(t, "three stored", func() bool { return count(t, first.hist) == 3 })
	first.close()
	db := filepath.Join(dir, "data", history.FileName)
	for _, f := range []string{db + "-wal", db + "-shm"} {
		_ = os.Remove(f)
	}
	if err := os.WriteFile(db, []byte(strings.Repeat("damaged ", 1024)), 0o600); err != nil {
		t.Fatal(err)
	}

	rec := testkit.NewRecorder[notifier.Popup]()
	second := newRig(t, dir, rec)
	if second.hist.MovedAside() == "" {
		t.Fatal("the damaged history was not moved aside")
	}
	if err := second.c.Resume(context.Background()); err != nil {
		t.Fatal(err)
	}
	second.waitState(conn.StateConnected)
	testkit.Eventually(t, "the re-fetched messages stored", func() bool { return count(t, second.hist) == 3 })
	srv.Send(pub, servertest.Message{To: "anna", Title: "new", Body: "b"})
	testkit.Eventually(t, "the new message's popup", func() bool { return titles(rec.Popups())["new"] == 1 })
	pops := titles(rec.Popups())
	if len(pops) != 2 || pops["Message history was damaged and started anew"] != 1 {
		t.Fatalf("popups %v, want the damaged-history notice and the new message only", pops)
	}
	// The new message's mark follows its popup asynchronously.
	testkit.Eventually(t, "every message marked notified", func() bool {
		left, err := second.hist.Unnotified(context.Background(), 10)
		return err == nil && len(left) == 0
	})
}
