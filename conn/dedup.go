package conn

import "strconv"

// ledger remembers what was delivered: the resume id for the next dial and
// a bounded window of recent ids, so a replay (a since id the server forgot,
// a Gotify page overlapping the live stream, ntfy's unordered ids) is
// dropped instead of shown twice. Not safe for concurrent use; the
// Supervisor guards it with deliverMu.
//
// Ordered ids (native, Gotify) are not assumed to arrive in order: two
// publishers on a Gotify server can have their messages pushed in the
// opposite order of their ids, and a catch-up re-check can find a message
// below one already shown live. So an id below the resume point is a repeat
// only if it is in the window or older than everything in it; an id in the
// window's range that the window does not hold is new.
type ledger struct {
	ordered bool
	last    string // resume point: highest id (ordered) or latest id (unordered)
	lastN   uint64 // last as a number when ordered
	ring    []string
	next    int
	seen    map[string]struct{}
	floor   uint64 // lowest numeric id in the ring (ordered), valid unless dirty
	dirty   bool
}

func newLedger(ordered bool, window int, last string, recent ...string) *ledger {
	l := &ledger{ordered: ordered, ring: make([]string, window), seen: make(map[string]struct{}, window)}
	if len(recent) > window {
		recent = recent[len(recent)-window:]
	}
	for _, id := range recent {
		if id != "" && id != last {
			l.record(id)
		}
	}
	if last != "" {
		l.record(last)
	}
	return l
}

// repeat reports whether id was already delivered.
func (l *ledger) repeat(id string) bool {
	if _, ok := l.seen[id]; ok {
		return true
	}
	if !l.ordered || l.last == "" {
		return false
	}
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil || n > l.lastN {
		return false
	}
	// Below the resume point and not in the window: a repeat only if it is
	// older than the whole window (it may have left it), or the resume
	// point itself.
	return n == l.lastN || n < l.windowFloor()
}

// windowFloor is the lowest numeric id the window holds (lastN if none).
func (l *ledger) windowFloor() uint64 {
	if !l.dirty {
		return l.floor
	}
	l.floor, l.dirty = l.lastN, false
	for _, id := range l.ring {
		if n, err := strconv.ParseUint(id, 10, 64); err == nil && n < l.floor {
			l.floor = n
		}
	}
	return l.floor
}

// record marks id delivered and moves the resume point.
func (l *ledger) record(id string) {
	if old := l.ring[l.next]; old != "" {
		delete(l.seen, old)
	}
	l.ring[l.next] = id
	l.next = (l.next + 1) % len(l.ring)
	l.seen[id] = struct{}{}
	l.dirty = true
	if !l.ordered {
		l.last = id
		return
	}
	if n, err := strconv.ParseUint(id, 10, 64); err == nil && (l.last == "" || n > l.lastN) {
		l.last, l.lastN = id, n
	}
}
