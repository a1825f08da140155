package notifier

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tidings-app/tidings/conn"
	"github.com/tidings-app/tidings/internal/testkit"
)

// fakeClock drives the engine in tests.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }
func newFakeClock() *fakeClock               { return &fakeClock{t: at("12:00")} }
func testConfig() Config                     { return Config{Notifier: testkit.NewRecorder[Popup]()}.withDefaults() }
func msg(id, source, title string) conn.Message {
	return conn.Message{Server: "srv", ID: id, Source: source, Title: title, Body: "body " + id, Priority: conn.PriorityDefault}
}

// harness collects what the engine decides over several steps.
type harness struct {
	t   *testing.T
	e   *engine
	clk *fakeClock
	pol Policy
	out outcome
}

func newHarness(t *testing.T, cfg Config) *harness {
	return &harness{t: t, e: newEngine(cfg), clk: newFakeClock()}
}

func (h *harness) send(ms ...conn.Message) {
	for _, m := range ms {
		h.e.handle(m, h.pol, h.clk.now(), &h.out)
	}
}

// runUntilIdle advances the clock to each pending deadline until nothing
// is pending, as the dispatcher's timer would.
func (h *harness) runUntilIdle() {
	for i := 0; i < 100; i++ {
		at, ok := h.e.next()
		if !ok {
			return
		}
		if at.After(h.clk.t) {
			h.clk.t = at
		}
		h.e.tick(h.clk.now(), h.pol, &h.out)
	}
	h.t.Fatal("engine never went idle")
}

func (h *harness) titles() []string {
	var out []string
	for _, p := range h.out.popups {
		out = append(out, p.Title)
	}
	return out
}

func (h *harness) covered() map[string]int {
	n := map[string]int{}
	for _, p := range h.out.popups {
		for _, r := range p.Refs {
			n[r.ID]++
		}
	}
	for _, r := range h.out.settled {
		n[r.ID]++
	}
	return n
}

// assertEachMessageSettledOnce checks nothing is lost or double-reported.
func (h *harness) assertEachMessageSettledOnce(ids ...string) {
	h.t.Helper()
	got := h.covered()
	for _, id := range ids {
		if got[id] != 1 {
			h.t.Errorf("message %s reported %d times, want once", id, got[id])
		}
	}
	if len(got) != len(ids) {
		h.t.Errorf("reported %d messages, want %d: %v", len(got), len(ids), got)
	}
}

func ids(prefix string, n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("%s%d", prefix, i))
	}
	return out
}

func TestABurstFromOneSourceBecomesOneSummaryAfterTheFirstFew(t *testing.T) {
	h := newHarness(t, testConfig()) // 3 per 10 s
	for i := range 15 {
		h.send(msg(fmt.Sprint("b", i), "backup", fmt.Sprint("job ", i)))
	}
	if got := h.titles(); len(got) != 3 {
		t.Fatalf("before the window ends: %q, want the first 3 only", got)
	}
	h.runUntilIdle()
	got := h.titles()
	if len(got) != 4 || got[3] != "12 new messages from backup" {
		t.Fatalf("popups = %q, want 3 singles and one summary of 12", got)
	}
	sum := h.out.popups[3]
	if !sum.Merged || len(sum.Refs) != 12 || !strings.HasPrefix(sum.Body, "job 14\njob 13\njob 12") {
		t.Fatalf("summary = %+v", sum)
	}
	h.assertEachMessageSettledOnce(ids("b", 15)...)
}

func TestOtherSourcesAreNotHeldBackByOneSourcesBurst(t *testing.T) {
	h := newHarness(t, testConfig())
	for i := range 10 {
		h.send(msg(fmt.Sprint("b", i), "backup", fmt.Sprint("job ", i)))
	}
	h.send(msg("a1", "alerts", "disk full"))
	if got := h.titles(); got[len(got)-1] != "disk full" {
		t.Fatalf("alerts message held back: %q", got)
	}
}

func TestAnUrgentMessageIsNeverHeldBackByItsSourcesBurst(t *testing.T) {
	h := newHarness(t, testConfig()) // 3 per 10 s
	for i := range 5 {
		h.send(msg(fmt.Sprint("b", i), "backup", fmt.Sprint("job ", i)))
	}
	urgent := msg("u", "backup", "disk failing")
	urgent.Priority = conn.PriorityUrgent
	h.send(urgent)
	got := h.titles()
	if len(got) != 4 || got[3] != "disk failing" || h.out.popups[3].Urgency != UrgencyCritical {
		t.Fatalf("popups before the window ends = %q, want the first 3 and the urgent one at once", got)
	}
	h.runUntilIdle()
	if got := h.titles(); len(got) != 5 || got[4] != "2 new messages from backup" {
		t.Fatalf("popups = %q, want the held two summarised", got)
	}
	h.assertEachMessageSettledOnce(append(ids("b", 5), "u")...)
}

func TestAStormIsSummarisedOnceWhenItCalmsDownAndAtLeastEveryMaxWait(t *testing.T) {
	for _, tc := range []struct {
		name      string
		seconds   int
		summaries []string
	}{
		// one message a second; 3 singles first, then the rest is held
		{"40 s storm: one summary after it", 40, []string{"37 new messages from ci"}},
		{"130 s storm: one summary a minute, then the rest", 130,
			[]string{"60 new messages from ci", "60 new messages from ci", "7 new messages from ci"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, testConfig()) // 3 per 10 s, max wait 60 s
			for i := range tc.seconds {
				h.send(msg(fmt.Sprint("s", i), "ci", fmt.Sprint("build ", i)))
				h.clk.advance(time.Second)
			}
			h.runUntilIdle()
			got := h.titles()
			if len(got) != 3+len(tc.summaries) || !slices.Equal(got[3:], tc.summaries) {
				t.Fatalf("popups = %q, want 3 singles then %q", got, tc.summaries)
			}
			h.assertEachMessageSettledOnce(ids("s", tc.seconds)...)
		})
	}
}

func TestASourceWithinItsLimitGetsEveryPopup(t *testing.T) {
	h := newHarness(t, testConfig())
	for i := range 3 {
		h.send(msg(fmt.Sprint("q", i), "backup", fmt.Sprint("job ", i)))
	}
	h.clk.advance(11 * time.Second)
	for i := 3; i < 6; i++ {
		h.send(msg(fmt.Sprint("q", i), "backup", fmt.Sprint("job ", i)))
	}
	h.runUntilIdle()
	if got := h.titles(); len(got) != 6 || strings.Contains(strings.Join(got, ","), "new messages") {
		t.Fatalf("popups = %q, want six singles", got)
	}
}

func TestOneHeldMessagePopsUpAloneWhenTheWindowEnds(t *testing.T) {
	h := newHarness(t, testConfig())
	for i := range 4 {
		h.send(msg(fmt.Sprint("m", i), "backup", fmt.Sprint("job ", i)))
	}
	h.runUntilIdle()
	if got := h.titles(); len(got) != 4 || got[3] != "job 3" || h.out.popups[3].Merged {
		t.Fatalf("popups = %q, want the fourth message on its own", got)
	}
}

func TestIdenticalMessagesWithinTheWindowAreMergedWithACount(t *testing.T) {
	h := newHarness(t, testConfig())
	for i := range 3 {
		m := msg(fmt.Sprint("d", i), "backup", "Backup failed")
		m.Body = "disk full"
		h.send(m)
		h.clk.advance(2 * time.Second)
	}
	if got := h.titles(); len(got) != 1 || got[0] != "Backup failed" {
		t.Fatalf("before the window ends: %q", got)
	}
	h.runUntilIdle()
	got := h.titles()
	if len(got) != 2 || got[1] != "Backup failed (×3)" {
		t.Fatalf("popups = %q, want the first and a (×3)", got)
	}
	first, merged := h.out.popups[0], h.out.popups[1]
	if merged.Group == "" || merged.Group != first.Group {
		t.Fatalf("the (×3) does not replace the first popup: groups %q, %q", first.Group, merged.Group)
	}
	if !merged.Merged || len(merged.Refs) != 2 || merged.Body != "disk full" {
		t.Fatalf("merged popup = %+v", merged)
	}
	h.assertEachMessageSettledOnce(ids("d", 3)...)
}

func TestTheMergeCountKeepsRisingWhileCopiesKeepComing(t *testing.T) {
	h := newHarness(t, testConfig()) // merge window 30 s
	for i := range 8 {               // one every 10 s
		m := msg(fmt.Sprint("r", i), "mon", "Ping failed")
		m.Body = "host down"
		h.send(m)
		h.clk.advance(10 * time.Second)
	}
	h.runUntilIdle()
	got := h.titles()
	if got[0] != "Ping failed" || got[len(got)-1] != "Ping failed (×8)" {
		t.Fatalf("popups = %q, want a count that reaches 8", got)
	}
	h.assertEachMessageSettledOnce(ids("r", 8)...)
}

func TestMessagesThatDifferAreNotMerged(t *testing.T) {
	h := newHarness(t, testConfig())
	a, b, c := msg("1", "x", "same"), msg("2", "x", "same"), msg("3", "y", "same")
	b.Body = "other body"
	c.Body = a.Body
	h.send(a, b, c)
	if got := h.titles(); len(got) != 3 {
		t.Fatalf("popups = %q, want three (different body, different source)", got)
	}
}

func TestACatchUpOfManyMissedMessagesBecomesOneNotification(t *testing.T) {
	h := newHarness(t, testConfig())
	for i := range 12 {
		src := []string{"backup", "alerts", "ci", "cron", "mail"}[i%5]
		if i < 6 {
			src = "backup"
		}
		m := msg(fmt.Sprint("c", i), src, fmt.Sprint("missed ", i))
		m.CatchUp = true
		if i == 4 {
			m.Priority = conn.PriorityUrgent
		}
		h.send(m)
		h.clk.advance(10 * time.Millisecond)
	}
	if len(h.out.popups) != 0 {
		t.Fatalf("popped up before the batch was complete: %q", h.titles())
	}
	h.runUntilIdle()
	if got := h.titles(); len(got) != 1 || got[0] != "12 missed messages" {
		t.Fatalf("popups = %q", got)
	}
	p := h.out.popups[0]
	if p.Urgency != UrgencyCritical || !p.Merged || !strings.HasPrefix(p.Body, "From backup (7), ") || !strings.HasSuffix(p.Body, "ci (1), 2 more.") {
		t.Fatalf("summary = %+v", p)
	}
	h.assertEachMessageSettledOnce(ids("c", 12)...)
}

func TestAFewCaughtUpMessagesPopUpOneByOne(t *testing.T) {
	h := newHarness(t, testConfig())
	for i := range 3 {
		m := msg(fmt.Sprint("f", i), fmt.Sprint("src", i), fmt.Sprint("missed ", i))
		m.CatchUp = true
		h.send(m)
	}
	h.runUntilIdle()
	if got := h.titles(); len(got) != 3 || got[0] != "missed 0" {
		t.Fatalf("popups = %q, want three singles", got)
	}
}

func TestALiveMessageEndsTheCatchUpBatchAndFollowsIt(t *testing.T) {
	h := newHarness(t, testConfig())
	for i := range 5 {
		m := msg(fmt.Sprint("c", i), "backup", fmt.Sprint("missed ", i))
		m.CatchUp = true
		h.send(m)
	}
	h.send(msg("live", "alerts", "live one"))
	if got := h.titles(); len(got) != 2 || got[0] != "5 missed messages" || got[1] != "live one" {
		t.Fatalf("popups = %q, want the summary then the live message", got)
	}
}

func TestAnEndlessCatchUpIsSummarisedByItsMaximumWait(t *testing.T) {
	cfg := testConfig() // gap 2 s, max wait 10 s
	h := newHarness(t, cfg)
	for i := range 30 { // one per second: the gap never passes
		m := msg(fmt.Sprint("e", i), "backup", fmt.Sprint("missed ", i))
		m.CatchUp = true
		h.send(m)
		h.clk.advance(time.Second)
	}
	h.runUntilIdle()
	got := h.titles()
	if len(got) != 3 || got[0] != "10 missed messages" || got[2] != "10 missed messages" {
		t.Fatalf("popups = %q, want one summary per 10 s of catch-up", got)
	}
	h.assertEachMessageSettledOnce(ids("e", 30)...)
}

func TestMessagesThePolicyHoldsBackAreSettledWithTheirReason(t *testing.T) {
	h := newHarness(t, testConfig())
	h.pol = Policy{MinPriority: conn.PriorityHigh, Muted: []Mute{{Source: "ci"}}}
	low, muted, high := msg("low", "backup", "x"), msg("muted", "ci", "y"), msg("high", "backup", "z")
	muted.Priority, high.Priority = conn.PriorityUrgent, conn.PriorityHigh
	caught := msg("caught", "backup", "w")
	caught.CatchUp = true
	h.send(low, muted, high, caught)
	h.runUntilIdle()
	if got := h.titles(); len(got) != 1 || got[0] != "z" || h.out.popups[0].Urgency != UrgencyNormal {
		t.Fatalf("popups = %q", got)
	}
	want := map[string]Reason{"low": ReasonBelowMinimum, "muted": ReasonMuted, "caught": ReasonBelowMinimum}
	for i, r := range h.out.settled {
		if want[r.ID] != h.out.reasons[i] {
			t.Errorf("%s settled as %v, want %v", r.ID, h.out.reasons[i], want[r.ID])
		}
	}
	h.assertEachMessageSettledOnce("low", "muted", "high", "caught")
}

func TestPopupTextIsCleanedAndTheClickURLChecked(t *testing.T) {
	h := newHarness(t, testConfig())
	a := conn.Message{Server: "srv", ID: "1", Title: "pay\u202Emoc.evil\x00", Body: "<b>hi</b>\x1b[31m", URL: "javascript:alert(1)"}
	b := conn.Message{Server: "https://push.example.org", ID: "2", Body: "no title", URL: "https://example.com/x"}
	h.send(a, b)
	p, q := h.out.popups[0], h.out.popups[1]
	if p.Title != "paymoc.evil" || p.Body != "<b>hi</b>[31m" || p.URL != "" {
		t.Fatalf("popup = %+v", p)
	}
	if q.Title != "push.example.org" || q.URL != "https://example.com/x" {
		t.Fatalf("untitled popup = %+v", q)
	}
}

func TestTheEngineIsIdleWhenNothingIsPending(t *testing.T) {
	h := newHarness(t, testConfig())
	if _, ok := h.e.next(); ok {
		t.Fatal("a new engine has a deadline")
	}
	h.send(msg("1", "a", "b"))
	h.runUntilIdle()
	if len(h.e.sources)+len(h.e.dups)+h.e.batch.n() != 0 {
		t.Fatalf("state left after idle: %d sources, %d dups", len(h.e.sources), len(h.e.dups))
	}
}
