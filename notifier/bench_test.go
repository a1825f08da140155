package notifier

import (
	"fmt"
	"testing"
	"time"

	"github.com/tidings-app/tidings/conn"
	"github.com/tidings-app/tidings/internal/testkit"
)

// BenchmarkEngineDecidesAMessage measures the popup decision for a stream
// spread over 50 sources, windows and summaries included.
func BenchmarkEngineDecidesAMessage(b *testing.B) {
	e := newEngine(testConfig())
	now := at("12:00")
	var out outcome
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		m := conn.Message{Server: "srv", ID: fmt.Sprint(i), Source: fmt.Sprint("s", i%50), Title: fmt.Sprint("t", i%7), Body: "b", Priority: conn.PriorityDefault}
		now = now.Add(time.Millisecond)
		e.handle(m, Policy{}, now, &out)
		out = outcome{popups: out.popups[:0], settled: out.settled[:0], reasons: out.reasons[:0]}
	}
}

// BenchmarkDispatchIntoAFullQueue measures what the connection's read loop
// pays when the popup worker is stuck: a drop, a log call, a count.
func BenchmarkDispatchIntoAFullQueue(b *testing.B) {
	rec := testkit.NewRecorder[Popup]()
	release := rec.Block()
	defer release()
	d, err := NewDispatcher(Config{Notifier: rec, Logger: quiet, QueueSize: 1, BurstLimit: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	m := msg("1", "a", "b")
	for b.Loop() {
		d.Dispatch(m)
	}
}

// BenchmarkEngineWithEveryMessageDistinct is the end-to-end benchmark's
// stream: 100 msg/s, each with its own title and source, so a thousand
// windows are open at once and one expires with almost every message.
func BenchmarkEngineWithEveryMessageDistinct(b *testing.B) {
	e := newEngine(testConfig())
	now := at("12:00")
	var out outcome
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		m := conn.Message{Server: "srv", ID: fmt.Sprint(i), Source: fmt.Sprint("s", i), Title: fmt.Sprint("t", i), Body: "b", Priority: conn.PriorityDefault}
		now = now.Add(10 * time.Millisecond)
		e.handle(m, Policy{}, now, &out)
		out = outcome{popups: out.popups[:0], settled: out.settled[:0], reasons: out.reasons[:0]}
	}
}
