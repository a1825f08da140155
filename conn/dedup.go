package conn

import "strconv"

// ledger remembers what was delivered: the resume id for the next dial and
// a bounded window of recent ids, so a replay (a since id the server forgot,
// a Gotify page overlapping the live stream, ntfy's unordered ids) is
// dropped instead of shown twice. Not safe for concurrent use; the
// Supervisor guards it with deliverMu.
type ledger struct {
	ordered bool
	last    string // resume point: highest id (ordered) or latest id (unordered)
	lastN   uint64 // last as a number when ordered
	ring    []string
	next    int
	seen    map[string]struct{}
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
	if l.ordered && l.last != "" {
		if n, err := strconv.ParseUint(id, 10, 64); err == nil && n <= l.lastN {
			return true
		}
	}
	return false
}

// record marks id delivered and moves the resume point.
func (l *ledger) record(id string) {
	if old := l.ring[l.next]; old != "" {
		delete(l.seen, old)
	}
	l.ring[l.next] = id
	l.next = (l.next + 1) % len(l.ring)
	l.seen[id] = struct{}{}
	if !l.ordered {
		l.last = id
		return
	}
	if n, err := strconv.ParseUint(id, 10, 64); err == nil && (l.last == "" || n > l.lastN) {
		l.last, l.lastN = id, n
	}
}
