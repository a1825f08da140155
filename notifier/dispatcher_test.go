package notifier

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidings-app/tidings/conn"
	"github.com/tidings-app/tidings/internal/testkit"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// notifiedLog collects what the dispatcher reports as notified.
type notifiedLog struct {
	mu   sync.Mutex
	refs map[string]int
}

func (n *notifiedLog) record(refs []Ref) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.refs == nil {
		n.refs = map[string]int{}
	}
	for _, r := range refs {
		n.refs[r.ID]++
	}
}

func (n *notifiedLog) snapshot() map[string]int {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := map[string]int{}
	for k, v := range n.refs {
		out[k] = v
	}
	return out
}

func newTestDispatcher(t *testing.T, cfg Config) *Dispatcher {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	d, err := NewDispatcher(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// gatedNotifier records popups, but each Show first says it entered and
// waits until gate is closed: the worker is stuck while a test fills the
// queue.
func gatedNotifier() (rec *testkit.Recorder[Popup], slow Notifier, entered chan struct{}, gate chan struct{}) {
	entered, gate = make(chan struct{}, 100), make(chan struct{})
	rec = testkit.NewRecorder[Popup]()
	slow = NotifierFunc(func(ctx context.Context, p Popup) error {
		entered <- struct{}{}
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
		return rec.Show(ctx, p)
	})
	return rec, slow, entered, gate
}

func TestAFullQueueNeverBlocksAndCountsTheOverflowInASummary(t *testing.T) {
	testkit.NoLeaks(t)
	rec, slow, entered, gate := gatedNotifier()
	var notified notifiedLog
	logs := &testkit.Buffer{}
	d := newTestDispatcher(t, Config{Notifier: slow, QueueSize: 4, BurstLimit: 1000, ShowTimeout: time.Minute,
		Notified: notified.record, Logger: slog.New(slog.NewTextHandler(logs, nil))})

	if !d.Dispatch(msg("first", "s0", "t0")) {
		t.Fatal("first message refused")
	}
	<-entered // the worker is now stuck in Show with the queue empty

	done := make(chan []bool)
	go func() {
		var res []bool
		for i := 1; i <= 20; i++ {
			res = append(res, d.Dispatch(msg(fmt.Sprint("m", i), fmt.Sprint("s", i), fmt.Sprint("t", i))))
		}
		done <- res
	}()
	var res []bool
	select {
	case res = <-done:
	case <-time.After(testkit.Patience()):
		t.Fatal("Dispatch blocked while the worker was stuck")
	}
	for i, ok := range res {
		if !ok {
			t.Fatalf("Dispatch #%d refused; an overflow is kept for a summary", i+1)
		}
	}
	if c := d.counters(); c.Dropped != 16 {
		t.Fatalf("dropped = %d, want 16", c.Dropped)
	}
	// Logged with a back-off: drops 1, 2, 4, 8 and 16.
	if n := strings.Count(logs.String(), "popup queue full"); n != 5 {
		t.Fatalf("%d drop log lines, want 5:\n%s", n, logs.String())
	}
	close(gate)
	// The 16 that found the queue full were lost from view before (no
	// popup, not notified, so popped up again at the next start): now they
	// are one summary that counts them all.
	testkit.Eventually(t, "the queued popups and the summary", func() bool { return len(rec.Popups()) == 6 })
	testkit.Eventually(t, "notified reports", func() bool { return len(notified.snapshot()) == 21 })
	got := notified.snapshot()
	for i := 0; i <= 20; i++ {
		id := fmt.Sprint("m", i)
		if i == 0 {
			id = "first"
		}
		if got[id] != 1 {
			t.Errorf("%s notified %d times", id, got[id])
		}
	}
	if sum := rec.Popups()[5]; sum.Title != "16 new messages" || len(sum.Refs) != 16 || !sum.Merged {
		t.Fatalf("summary %q with %d refs", sum.Title, len(sum.Refs))
	}
	if c := d.counters(); c.Shown != 6 {
		t.Fatalf("shown = %d, want 6", c.Shown)
	}
}

func TestCloseReturnsPromptlyEvenWhileAPopupIsStuck(t *testing.T) {
	testkit.NoLeaks(t)
	rec := testkit.NewRecorder[Popup]()
	rec.Block() // never released: only ctx ends Show
	d, err := NewDispatcher(Config{Notifier: rec, Logger: quiet, ShowTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	d.Dispatch(msg("1", "a", "b"))
	d.Dispatch(msg("2", "a", "c"))
	closed := make(chan struct{})
	go func() { d.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(testkit.Patience()):
		t.Fatal("Close did not return")
	}
	if d.Dispatch(msg("3", "a", "d")) {
		t.Fatal("Dispatch accepted a message after Close")
	}
	d.LinkState(server, false) // must not block or panic after Close
	if err := d.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
}

func TestABurstIsSummarisedByTheWorkersTimer(t *testing.T) {
	testkit.NoLeaks(t)
	rec := testkit.NewRecorder[Popup]()
	var notified notifiedLog
	d := newTestDispatcher(t, Config{Notifier: rec, BurstLimit: 2, BurstWindow: 30 * time.Millisecond,
		MergeWindow: 30 * time.Millisecond, Notified: notified.record})
	for i := range 10 {
		d.Dispatch(msg(fmt.Sprint("b", i), "backup", fmt.Sprint("job ", i)))
	}
	testkit.Eventually(t, "the summary", func() bool { return len(rec.Popups()) == 3 })
	p := rec.Popups()[2]
	if p.Title != "8 new messages from backup" {
		t.Fatalf("summary title %q", p.Title)
	}
	testkit.Eventually(t, "all ten notified", func() bool { return len(notified.snapshot()) == 10 })
	c := d.counters()
	if c.Shown != 3 || c.Merged != 8 || c.Dropped != 0 || c.Suppressed != 0 {
		t.Fatalf("counters = %+v", c)
	}
}

func TestThePolicyCanBeChangedWhileRunningAndSuppressionIsCounted(t *testing.T) {
	rec := testkit.NewRecorder[Popup]()
	var notified notifiedLog
	d := newTestDispatcher(t, Config{Notifier: rec, Notified: notified.record})
	d.SetPolicy(Policy{MinPriority: conn.PriorityHigh})
	if s := d.Status(); s.HiddenBelow != conn.PriorityHigh {
		t.Fatalf("status %+v does not show the minimum", s)
	}
	d.Dispatch(msg("low", "a", "quiet one"))
	hi := msg("hi", "a", "loud one")
	hi.Priority = conn.PriorityHigh
	d.Dispatch(hi)
	testkit.Eventually(t, "both settled", func() bool { return len(notified.snapshot()) == 2 })
	if got := rec.Popups(); len(got) != 1 || got[0].Title != "loud one" {
		t.Fatalf("popups %+v", got)
	}
	c := d.counters()
	if c.Suppressed != 1 || c.SuppressedBy[ReasonBelowMinimum] != 1 || c.Shown != 1 {
		t.Fatalf("counters = %+v", c)
	}
	d.SetPolicy(Policy{})
	d.Dispatch(msg("low2", "b", "now visible"))
	testkit.Eventually(t, "the popup after lifting the minimum", func() bool { return len(rec.Popups()) == 2 })
}

func TestAFailingNotificationServerIsCountedAndStillSettlesTheMessage(t *testing.T) {
	rec := testkit.NewRecorder[Popup]()
	rec.Fail(errors.New("no server"))
	var notified notifiedLog
	d := newTestDispatcher(t, Config{Notifier: rec, Notified: notified.record})
	d.Dispatch(msg("1", "a", "b"))
	testkit.Eventually(t, "the failure", func() bool { return d.counters().Failed == 1 })
	testkit.Eventually(t, "the report", func() bool { return notified.snapshot()["1"] == 1 })
	if c := d.counters(); c.Shown != 0 {
		t.Fatalf("a failed popup was counted as shown: %+v", c)
	}
}

func TestConnectionNoticesFlowThroughTheDispatcher(t *testing.T) {
	rec := testkit.NewRecorder[Popup]()
	d := newTestDispatcher(t, Config{Notifier: rec, LinkNotices: true, LinkGrace: 20 * time.Millisecond})
	d.LinkState(server, true)
	d.LinkState(server, false)
	testkit.Eventually(t, "connection lost", func() bool { return len(rec.Popups()) == 1 })
	d.LinkState(server, true)
	testkit.Eventually(t, "connection restored", func() bool { return len(rec.Popups()) == 2 })
	if got := rec.Popups(); got[0].Title != "Connection lost" || got[1].Title != "Connection restored" {
		t.Fatalf("popups %q, %q", got[0].Title, got[1].Title)
	}
}

func TestADispatcherNeedsANotifier(t *testing.T) {
	if _, err := NewDispatcher(Config{}); !errors.Is(err, ErrNoNotifier) {
		t.Fatalf("err = %v", err)
	}
}

// A notice from Tidings itself (messages not being saved) is sanitised like
// a message and held back by pause like one; it is counted when held back.
func TestANoticeIsSanitisedShownAndHeldBackByPause(t *testing.T) {
	rec := testkit.NewRecorder[Popup]()
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	d := newTestDispatcher(t, Config{Notifier: rec, Now: func() time.Time { return now }})
	d.SetPolicy(Policy{PausedUntil: now.Add(time.Hour)})
	d.Notice("held", "while paused")
	testkit.Eventually(t, "the paused notice counted", func() bool { return d.counters().SuppressedBy[ReasonPaused] == 1 })
	d.SetPolicy(Policy{})
	d.Notice("Not\x00 saved\u202e", "disk\x1b[31m full")
	testkit.Eventually(t, "the notice", func() bool { return len(rec.Popups()) == 1 })
	if p := rec.Popups()[0]; p.Title != "Not saved" || strings.ContainsAny(p.Body, "\x1b") {
		t.Fatalf("notice shown as %q / %q", p.Title, p.Body)
	}
}

// Issue 21.5: a catch-up of 1 000 through a queue of 256 said "960
// missed messages", and the rest popped up again at the next start.
func TestACatchUpLargerThanTheQueueIsCountedWhole(t *testing.T) {
	testkit.NoLeaks(t)
	rec, slow, entered, gate := gatedNotifier()
	var notified notifiedLog
	d := newTestDispatcher(t, Config{Notifier: slow, QueueSize: 8, ShowTimeout: time.Minute, Notified: notified.record,
		CatchUpGap: 20 * time.Millisecond, CatchUpMaxWait: time.Minute})
	d.Dispatch(msg("first", "s0", "t0"))
	<-entered
	for i := range 100 {
		m := msg(fmt.Sprint("c", i), []string{"backup", "ci"}[i%2], fmt.Sprint("missed ", i))
		m.CatchUp = true
		d.Dispatch(m)
	}
	close(gate)
	testkit.Eventually(t, "the catch-up summary", func() bool { return len(rec.Popups()) >= 2 })
	testkit.Eventually(t, "every message notified", func() bool { return len(notified.snapshot()) == 101 })
	ps := rec.Popups()
	if len(ps) != 2 || ps[1].Title != "100 missed messages" || ps[1].Body != "From backup (50), ci (50)." {
		var titles []string
		for _, p := range ps {
			titles = append(titles, p.Title)
		}
		t.Fatalf("popups %q, want first and one summary of 100", titles)
	}
}

// Issue 21.6: the connection-lost setting was read only at start.
func TestConnectionNoticesFollowTheSettingAtOnce(t *testing.T) {
	rec := testkit.NewRecorder[Popup]()
	d := newTestDispatcher(t, Config{Notifier: rec, LinkGrace: 20 * time.Millisecond})
	d.SetLinkNotices(true)
	d.LinkState(server, true)
	d.LinkState(server, false)
	testkit.Eventually(t, "connection lost, once turned on", func() bool { return len(rec.Popups()) == 1 })
	d.SetLinkNotices(false)
	d.LinkState(server, true)
	d.Notice("marker", "decided after the link change")
	testkit.Eventually(t, "the marker notice", func() bool { return len(rec.Popups()) >= 2 })
	if got := rec.Popups(); got[1].Title != "marker" {
		t.Fatalf("popups %q, %q: a link notice after turning them off", got[0].Title, got[1].Title)
	}
}
