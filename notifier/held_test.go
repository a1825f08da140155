package notifier

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tidings-app/tidings/conn"
)

func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func TestAStormHeldForItsSummaryKeepsARefPerMessageNotItsText(t *testing.T) {
	const n, bodySize = 2000, 64 << 10
	h := newHarness(t, testConfig())
	before := heapInUse()
	for i := range n {
		// Distinct messages (no merging), one source, all at one instant:
		// 3 pop up, the rest is held for the summary.
		m := msg(fmt.Sprint(i), "storm", fmt.Sprintf("storm %05d", i))
		m.Body = strings.Repeat(string(rune('a'+i%26)), bodySize)
		h.send(m)
	}
	held := heapInUse() - min(before, heapInUse())
	t.Logf("%d held messages pin %d KiB", n-3, held>>10)
	// Whole messages would hold n × 64 KiB = 125 MiB; what is kept is a
	// Ref, a window and a cut copy per message.
	if limit := uint64(n * 8 << 10); held > limit {
		t.Errorf("the held storm pins %d KiB, limit %d KiB", held>>10, limit>>10)
	}
	if got := len(h.out.popups); got != 3 {
		t.Fatalf("%d popups before the window ends, want 3", got)
	}
	h.runUntilIdle()
	last := h.out.popups[len(h.out.popups)-1]
	if len(last.Refs) != n-3 || !strings.HasPrefix(last.Title, fmt.Sprintf("%d new messages from storm", n-3)) {
		t.Fatalf("summary %q with %d refs, want %d", last.Title, len(last.Refs), n-3)
	}
	// Newest first, as before: the last three titles.
	if want := "storm 01999\nstorm 01998\nstorm 01997"; last.Body != want {
		t.Errorf("summary body %q, want %q", last.Body, want)
	}
	runtime.KeepAlive(h)
}

func TestKeepCutsTextAtARuneBoundaryAndLeavesShortTextAlone(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		n        int
		want     string
	}{
		{"short", "héllo", 10, "héllo"},
		{"ascii", "abcdef", 3, "abc"},
		{"inside a rune", "aé", 2, "a"},
		{"after a rune", "éa", 2, "é"},
		{"empty", "", 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := cut(tc.in, tc.n)
			if got != tc.want || !utf8.ValidString(got) {
				t.Errorf("cut(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
			}
		})
	}
	m := keep(conn.Message{Title: strings.Repeat("t", 1000), Body: strings.Repeat("b", 5000), URL: "https://x"})
	if len(m.Title) != 400 || len(m.Body) != 1600 || m.URL != "https://x" {
		t.Errorf("keep: title %d, body %d bytes, URL %q", len(m.Title), len(m.Body), m.URL)
	}
}
