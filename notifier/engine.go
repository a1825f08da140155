package notifier

import (
	"cmp"
	"container/heap"
	"fmt"
	"hash/fnv"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tidings-app/tidings/conn"
	"github.com/tidings-app/tidings/sanitize"
)

// engine is the popup decision logic: policy, catch-up batching, merging of
// identical messages and per-source burst control. It is pure (time comes
// in as an argument) and owned by one goroutine.
type engine struct {
	cfg     Config
	sources map[string]*burstWin
	dups    map[string]*dupWin
	batch   catchUp   // catch-up messages gathered so far
	batchAt time.Time // when the first of them arrived
	batchDu time.Time // when the batch is complete
	links   map[string]*linkState
	// dupQ and srcQ hold every window end ever set, earliest first: tick
	// pops what is due instead of scanning a thousand windows (100 msg/s of
	// distinct messages) on every message. A record whose window was
	// replaced, extended or closed since is stale and skipped.
	dupQ, srcQ expiries
	// due is no later than the earliest pending deadline (zero: none), so
	// tick can return at once when nothing is due.
	due time.Time
}

// expiry is one window end in an expiries heap.
type expiry struct {
	key string
	end time.Time
	seq uint64 // push order: ties go out in the order they were set
}

// expiries is a min-heap of window ends (container/heap).
type expiries struct {
	h   []expiry
	seq uint64
}

func (x *expiries) Len() int { return len(x.h) }
func (x *expiries) Less(i, j int) bool {
	if !x.h[i].end.Equal(x.h[j].end) {
		return x.h[i].end.Before(x.h[j].end)
	}
	return x.h[i].seq < x.h[j].seq
}
func (x *expiries) Swap(i, j int) { x.h[i], x.h[j] = x.h[j], x.h[i] }
func (x *expiries) Push(v any)    { x.h = append(x.h, v.(expiry)) }
func (x *expiries) Pop() any {
	v := x.h[len(x.h)-1]
	x.h = x.h[:len(x.h)-1]
	return v
}

func (x *expiries) push(key string, end time.Time) {
	x.seq++
	heap.Push(x, expiry{key, end, x.seq})
}

// settle drops stale records from the top until the earliest one is
// current. A window moved later since its record was pushed gets a record
// for its new end: windows are extended without a push each time (a storm
// extends its source's window with every message).
func (x *expiries) settle(current func(key string) (time.Time, bool)) {
	for len(x.h) > 0 {
		r := x.h[0]
		end, ok := current(r.key)
		if ok && end.Equal(r.end) {
			return
		}
		heap.Pop(x)
		if ok && end.After(r.end) {
			x.push(r.key, end)
		}
	}
}

// due pops the records due at now whose window still ends then, and
// returns their keys in expiry order.
func (x *expiries) due(now time.Time, current func(key string) (time.Time, bool)) []string {
	var keys []string
	for x.settle(current); len(x.h) > 0 && !now.Before(x.h[0].end); x.settle(current) {
		keys = append(keys, heap.Pop(x).(expiry).key)
	}
	return keys
}

// next is the earliest end still current, zero when none.
func (x *expiries) next(current func(key string) (time.Time, bool)) time.Time {
	if x.settle(current); len(x.h) > 0 {
		return x.h[0].end
	}
	return time.Time{}
}

func (e *engine) dupEnd(k string) (time.Time, bool) {
	d := e.dups[k]
	if d == nil {
		return time.Time{}, false
	}
	return d.end, true
}

func (e *engine) srcEnd(k string) (time.Time, bool) {
	w := e.sources[k]
	if w == nil {
		return time.Time{}, false
	}
	return w.end, true
}

// burstWin counts the popups of one source within a window.
type burstWin struct {
	end    time.Time
	shown  int
	held   heldRun
	heldAt time.Time // when the first held message came
}

// dupWin merges identical messages within a window.
type dupWin struct {
	end     time.Time
	total   int          // copies seen in this chain, the first included
	first   conn.Message // kept (see keep)
	pending tally        // copies not shown yet
}

// outcome is what one step decided.
type outcome struct {
	popups  []Popup
	settled []Ref    // suppressed by policy: history only
	reasons []Reason // one per settled ref
}

func (o *outcome) suppress(m conn.Message, r Reason) {
	o.settled = append(o.settled, Ref{m.Server, m.ID})
	o.reasons = append(o.reasons, r)
}

func newEngine(cfg Config) *engine {
	return &engine{cfg: cfg, sources: map[string]*burstWin{}, dups: map[string]*dupWin{}, links: map[string]*linkState{}}
}

// overflowed decides about a message that found the dispatcher's queue
// full, known only by its ref, source and priority: it is held back by the
// policy like any message, and otherwise joins the batch, whose summary
// counts it (live ones too: they were part of a flood).
func (e *engine) overflowed(o overflowed, pol Policy, out *outcome) {
	e.tick(o.at, pol, out)
	m := conn.Message{Server: o.ref.Server, ID: o.ref.ID, Source: o.source, Priority: o.prio, CatchUp: o.catchUp}
	if r := pol.Check(m.Server, m.Source, m.Priority, o.at); r != Allowed {
		out.suppress(m, r)
		return
	}
	if e.batch.n() == 0 {
		e.batchAt = o.at
	}
	e.batch.addRef(m)
	e.batchDu = minTime(o.at.Add(e.cfg.CatchUpGap), e.batchAt.Add(e.cfg.CatchUpMaxWait))
	e.note(e.batchDu)
}

// handle decides about one message.
func (e *engine) handle(m conn.Message, pol Policy, now time.Time, out *outcome) {
	e.tick(now, pol, out)
	if r := pol.Check(m.Server, m.Source, m.Priority, now); r != Allowed {
		out.suppress(m, r)
		return
	}
	if m.CatchUp {
		if e.batch.n() == 0 {
			e.batchAt = now
		}
		e.batch.add(m, e.cfg.CatchUpLimit)
		e.batchDu = minTime(now.Add(e.cfg.CatchUpGap), e.batchAt.Add(e.cfg.CatchUpMaxWait))
		e.note(e.batchDu)
		return
	}
	if e.batch.n() > 0 { // a live message: the catch-up is over
		e.flushBatch(now, out)
	}
	e.route(m, now, out)
}

// route sends an allowed message through duplicate merging and burst
// control.
func (e *engine) route(m conn.Message, now time.Time, out *outcome) {
	dk := dupKey(m)
	if d := e.dups[dk]; d != nil && now.Before(d.end) {
		d.total++
		d.pending.add(m)
		return
	}
	e.dups[dk] = &dupWin{end: now.Add(e.cfg.MergeWindow), total: 1, first: keep(m)}
	e.dupQ.push(dk, now.Add(e.cfg.MergeWindow))
	e.note(now.Add(e.cfg.MergeWindow))
	sk := m.Server + "\x00" + m.Source
	w := e.sources[sk]
	if w == nil || !now.Before(w.end) {
		w = &burstWin{end: now.Add(e.cfg.BurstWindow)}
		e.sources[sk] = w
		e.srcQ.push(sk, w.end)
		e.note(w.end)
	}
	if w.shown < e.cfg.BurstLimit || m.Priority >= conn.PriorityUrgent {
		w.shown++ // an urgent message is never held for a summary
		out.popups = append(out.popups, e.single(m, dk))
		return
	}
	// Held for the summary, which waits until the source is quiet for a
	// window (one storm, one summary), but no longer than BurstMaxWait.
	if w.held.n() == 0 {
		w.heldAt = now
	}
	w.held.add(m)
	if end := minTime(now.Add(e.cfg.BurstWindow), w.heldAt.Add(e.cfg.BurstMaxWait)); end.Before(w.end) {
		w.end = end
		e.srcQ.push(sk, w.end)
	} else {
		w.end = end // later: the window's record is moved when it comes up (settle)
	}
	e.note(w.end)
}

// tick flushes every window that ended by now.
func (e *engine) tick(now time.Time, pol Policy, out *outcome) {
	if e.due.IsZero() || now.Before(e.due) {
		return
	}
	defer e.recompute()
	if e.batch.n() > 0 && !now.Before(e.batchDu) {
		e.flushBatch(now, out)
	}
	for _, k := range e.dupQ.due(now, e.dupEnd) {
		d := e.dups[k]
		if d == nil || now.Before(d.end) {
			continue // a second record of a window handled above
		}
		if d.pending.n() == 0 {
			delete(e.dups, k)
			continue
		}
		out.popups = append(out.popups, duplicateSummary(d, k))
		d.pending, d.end = tally{}, now.Add(e.cfg.MergeWindow)
		e.dupQ.push(k, d.end)
	}
	for _, k := range e.srcQ.due(now, e.srcEnd) {
		w := e.sources[k]
		if w == nil || now.Before(w.end) {
			continue // a second record of a window handled above
		}
		switch w.held.n() {
		case 0:
			delete(e.sources, k)
			continue
		case 1:
			out.popups = append(out.popups, e.single(w.held.first, dupKey(w.held.first)))
		default:
			out.popups = append(out.popups, e.burstSummary(&w.held, k))
		}
		// The storm may go on: stay in summary mode for one more window.
		e.sources[k] = &burstWin{end: now.Add(e.cfg.BurstWindow), shown: e.cfg.BurstLimit}
		e.srcQ.push(k, now.Add(e.cfg.BurstWindow))
	}
	e.tickLinks(now, pol, out)
}

// flushBatch ends a catch-up batch: a few messages pop up one by one, more
// than CatchUpLimit become one "N missed messages".
func (e *engine) flushBatch(now time.Time, out *outcome) {
	batch := e.batch
	e.batch = catchUp{}
	if batch.n() <= e.cfg.CatchUpLimit && !batch.partial {
		for _, m := range batch.msgs {
			e.route(m, now, out)
		}
		return
	}
	out.popups = append(out.popups, e.catchUpSummary(&batch))
}

// note lowers the cached deadline to t.
func (e *engine) note(t time.Time) {
	if e.due.IsZero() || t.Before(e.due) {
		e.due = t
	}
}

// next returns when tick next has work, or false when nothing is pending.
func (e *engine) next() (time.Time, bool) { return e.due, !e.due.IsZero() }

// recompute sets the cached deadline from every pending one.
func (e *engine) recompute() {
	var at time.Time
	consider := func(t time.Time) {
		if !t.IsZero() && (at.IsZero() || t.Before(at)) {
			at = t
		}
	}
	if e.batch.n() > 0 {
		consider(e.batchDu)
	}
	consider(e.dupQ.next(e.dupEnd))
	consider(e.srcQ.next(e.srcEnd))
	for _, l := range e.links {
		consider(l.lostDue)
	}
	e.due = at
}

// single is the popup of one message.
func (e *engine) single(m conn.Message, group string) Popup {
	title := sanitize.Summary(m.Title)
	if title == "" {
		title = sourceName(m)
	}
	u, _ := sanitize.URL(m.URL)
	return withExtras(Popup{Title: title, Body: sanitize.Body(bodyText(m)), Urgency: UrgencyFor(m.Priority), URL: u,
		Group: group, Refs: []Ref{{m.Server, m.ID}}}, m, e.cfg.Say)
}

func duplicateSummary(d *dupWin, key string) Popup {
	m := d.first
	suffix := fmt.Sprintf(" (×%d)", d.total)
	title := sanitize.Text(m.Title, sanitize.MaxSummary-len([]rune(suffix)), false)
	if title == "" {
		title = sanitize.Text(sourceName(m), sanitize.MaxSummary-len([]rune(suffix)), false)
	}
	u, _ := sanitize.URL(m.URL)
	return Popup{Title: title + suffix, Body: sanitize.Body(bodyText(m)), Urgency: UrgencyFor(d.pending.prio),
		URL: u, Group: key, Refs: d.pending.refs, Merged: true}
}

func (e *engine) burstSummary(held *heldRun, key string) Popup {
	name := sourceName(held.first)
	return Popup{Title: sanitize.Summary(e.cfg.Say("popup.newfrom", map[string]any{"Count": held.n(), "Source": name})),
		Body: sanitize.Body(strings.Join(held.lines(), "\n")), Urgency: UrgencyFor(held.prio),
		Group: "burst:" + hashKey(key), Refs: held.refs, Merged: true}
}

func (e *engine) catchUpSummary(batch *catchUp) Popup {
	counts := batch.counts
	names := sortedKeys(counts)
	slices.SortStableFunc(names, func(a, b string) int { return cmp.Compare(counts[b], counts[a]) })
	var parts []string
	for i, n := range names {
		if i == 3 {
			parts = append(parts, e.cfg.Say("popup.more", map[string]any{"Count": len(names) - 3}))
			break
		}
		parts = append(parts, fmt.Sprintf("%s (%d)", n, counts[n]))
	}
	title := e.cfg.Say("popup.missed", map[string]any{"Count": batch.n()})
	if batch.caught == 0 { // live ones that overflowed
		title = e.cfg.Say("popup.new", map[string]any{"Count": batch.n()})
	}
	return Popup{Title: sanitize.Summary(title),
		Body:    sanitize.Body(e.cfg.Say("popup.from", map[string]any{"Sources": strings.Join(parts, ", ")})),
		Urgency: UrgencyFor(batch.prio), Group: "catch-up", Refs: batch.refs, Merged: true}
}

// sourceName is what a summary calls a message's origin: its source, or
// the server's host.
func sourceName(m conn.Message) string {
	name := m.Source
	if name == "" {
		if u, err := url.Parse(m.Server); err == nil && u.Hostname() != "" {
			name = u.Hostname()
		} else {
			name = m.Server
		}
	}
	if name = sanitize.Text(name, 40, false); name == "" {
		name = AppName
	}
	return name
}

func dupKey(m conn.Message) string {
	return hashKey(m.Server + "\x00" + m.Source + "\x00" + m.Title + "\x00" + m.Body)
}

func hashKey(s string) string {
	h := fnv.New64a()
	h.Write([]byte(s))
	return fmt.Sprintf("%016x", h.Sum64())
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if strings.TrimSpace(x) != "" {
			return x
		}
	}
	return ""
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
