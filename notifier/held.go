package notifier

import (
	"strings"
	"unicode/utf8"

	"github.com/tidings-app/tidings/conn"
	"github.com/tidings-app/tidings/sanitize"
)

// What a pending summary keeps of the messages it will stand for. A storm
// is held until its summary pops up, so keeping its messages whole would let
// one noisy or hostile publisher pin any amount of memory for seconds (a
// 10 000-message burst held ~10 MB). A summary keeps one Ref per message,
// the highest priority, and at most a few copies, their text cut to what a
// popup can show.

// tally is the refs and the highest priority of a run of messages.
type tally struct {
	refs []Ref
	prio conn.Priority
}

func (t *tally) add(m conn.Message) {
	q := m.Priority
	if q <= 0 {
		q = conn.PriorityDefault
	}
	t.prio = max(t.prio, q)
	t.refs = append(t.refs, Ref{m.Server, m.ID})
}

func (t *tally) n() int { return len(t.refs) }

// heldRun is what a source's burst summary needs of the messages it holds.
type heldRun struct {
	tally
	first conn.Message    // alone, it pops up as itself
	last  [3]conn.Message // the newest with a line to show: a ring
	nlast int             // how many were ever put in last
}

func (h *heldRun) add(m conn.Message) {
	if h.n() == 0 {
		h.first = keep(m)
	}
	h.tally.add(m)
	if firstNonEmpty(m.Title, m.Body) != "" {
		h.last[h.nlast%len(h.last)] = keep(m)
		h.nlast++
	}
}

// lines are the summary's lines: up to three, newest first.
func (h *heldRun) lines() []string {
	var out []string
	for i := 1; i <= min(h.nlast, len(h.last)); i++ {
		m := h.last[(h.nlast-i)%len(h.last)]
		if l := sanitize.Text(firstNonEmpty(m.Title, bodyText(m)), 80, false); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// catchUp is a catch-up batch being gathered: its messages whole while
// they may still pop up one by one, and from then on only what its
// summary counts.
type catchUp struct {
	tally
	msgs   []conn.Message // while n() <= limit and none is partial
	counts map[string]int // messages per source name
	caught int            // how many were catch-up messages
	// partial: a message is known only by its ref (it found the
	// dispatcher's queue full), so the batch can only be summarised.
	partial bool
}

// addRef counts a message known only by its ref, source and priority.
func (c *catchUp) addRef(m conn.Message) {
	c.partial = true
	c.msgs = nil
	c.count(m)
}

func (c *catchUp) add(m conn.Message, limit int) {
	c.count(m)
	if c.partial {
		return
	}
	if c.n() <= limit {
		c.msgs = append(c.msgs, m)
	} else {
		c.msgs = nil
	}
}

func (c *catchUp) count(m conn.Message) {
	c.tally.add(m)
	if m.CatchUp {
		c.caught++
	}
	if c.counts == nil {
		c.counts = map[string]int{}
	}
	c.counts[sourceName(m)]++
}

// keep is m as a summary may still show it: title and body cut to a few
// times what a popup shows (sanitizing may remove characters), at a rune
// boundary, and copied.
func keep(m conn.Message) conn.Message {
	m.Title = cut(m.Title, 4*sanitize.MaxSummary)
	m.Body = cut(m.Body, 4*sanitize.MaxBody)
	return m
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return strings.Clone(s[:n]) // a slice would pin the whole text

}
