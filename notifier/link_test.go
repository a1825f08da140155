package notifier

import (
	"strings"
	"testing"
	"time"
)

func linkHarness(t *testing.T) *harness {
	cfg := testConfig()
	cfg.LinkNotices = true // grace 30 s, one per 10 min
	return newHarness(t, cfg)
}

func (h *harness) linkAt(server string, up bool) { h.e.link(server, up, h.pol, h.clk.now(), &h.out) }

// wait lets d pass, firing the deadlines within it as the dispatcher would.
func (h *harness) wait(d time.Duration) {
	end := h.clk.t.Add(d)
	for {
		at, ok := h.e.next()
		if !ok || at.After(end) {
			break
		}
		h.clk.t = at
		h.e.tick(at, h.pol, &h.out)
	}
	h.clk.t = end
}

const server = "https://push.example.org"

func TestABriefDropoutShowsNoConnectionNotice(t *testing.T) {
	h := linkHarness(t)
	h.linkAt(server, true)
	h.linkAt(server, false)
	h.wait(29 * time.Second)
	h.linkAt(server, true)
	h.wait(time.Hour)
	if got := h.titles(); len(got) != 0 {
		t.Fatalf("popups = %q, want none for a 29 s dropout", got)
	}
}

func TestALongOutageShowsLostThenRestored(t *testing.T) {
	h := linkHarness(t)
	h.linkAt(server, true)
	h.linkAt(server, false)
	h.wait(31 * time.Second)
	if got := h.titles(); len(got) != 1 || got[0] != "Connection lost" {
		t.Fatalf("after the grace period: %q", got)
	}
	h.wait(4 * time.Minute)
	h.linkAt(server, true)
	got := h.titles()
	if len(got) != 2 || got[1] != "Connection restored" {
		t.Fatalf("popups = %q", got)
	}
	lost, back := h.out.popups[0], h.out.popups[1]
	if !strings.Contains(lost.Body, "push.example.org") || !strings.Contains(back.Body, "after 4 min") {
		t.Fatalf("bodies: %q / %q", lost.Body, back.Body)
	}
	if lost.Group != back.Group || len(lost.Refs)+len(back.Refs) != 0 {
		t.Fatal("restored does not replace lost, or link notices claim messages")
	}
}

func TestConnectionNoticesAreRateLimited(t *testing.T) {
	h := linkHarness(t)
	h.linkAt(server, true)
	for range 5 { // an outage of 1 min every 2 min
		h.linkAt(server, false)
		h.wait(time.Minute)
		h.linkAt(server, true)
		h.wait(time.Minute)
	}
	if got := h.titles(); len(got) != 2 || got[0] != "Connection lost" || got[1] != "Connection restored" {
		t.Fatalf("popups = %q, want one lost/restored pair in 10 min", got)
	}
	h.wait(10 * time.Minute)
	h.linkAt(server, false)
	h.wait(time.Minute)
	if got := h.titles(); len(got) != 3 {
		t.Fatalf("after the interval: %q, want a new lost notice", got)
	}
}

func TestStartingOfflineIsNotALoss(t *testing.T) {
	h := linkHarness(t)
	h.linkAt(server, false)
	h.wait(time.Hour)
	h.linkAt(server, true)
	if got := h.titles(); len(got) != 0 {
		t.Fatalf("popups = %q", got)
	}
}

func TestConnectionNoticesAreOffByDefaultAndObeyThePolicy(t *testing.T) {
	h := newHarness(t, testConfig())
	h.linkAt(server, true)
	h.linkAt(server, false)
	h.wait(time.Hour)
	if len(h.out.popups) != 0 {
		t.Fatal("link notice shown although LinkNotices is off")
	}
	h = linkHarness(t)
	h.pol = Policy{}.Pause(h.clk.now(), time.Hour)
	h.linkAt(server, true)
	h.linkAt(server, false)
	h.wait(5 * time.Minute)
	h.linkAt(server, true)
	if got := h.titles(); len(got) != 0 {
		t.Fatalf("popups while paused: %q", got)
	}
}
