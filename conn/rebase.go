package conn

import (
	"errors"
	"strconv"
	"time"
)

// IDsRestarted is what a CatchUpper returns (wrapping the walk's own error,
// if any) when the server's newest id for this user is below the resume
// point: the server's ids restarted lower (a reinstalled or restored
// server, a user deleted and added again, a move to another backend, a
// reset Gotify database, every message deleted). The engine rebases before
// it delivers the returned messages.
type IDsRestarted struct {
	Newest string // the server's newest id for this user now
	Err    error  // the walk's error (a *ShortCatchUp, say), or nil
}

func (e *IDsRestarted) Error() string {
	return "conn: the server's message ids restarted below the resume point (newest " + e.Newest + ")"
}

func (e *IDsRestarted) Unwrap() error { return e.Err }

// Rebase is the event of a rebase: the server's ids restarted, so ids this
// account stored before may now name other messages (EventRebase). Newest
// is where the account resumes from now.
type Rebase struct {
	Newest string
}

// restartedBelow reports whether the server's newest id (from its upgrade
// header or its newest message) is below the resume point last, for
// ordered ids.
func restartedBelow(last, newest string) bool {
	l, err1 := strconv.ParseUint(last, 10, 64)
	n, err2 := strconv.ParseUint(newest, 10, 64)
	return err1 == nil && err2 == nil && n < l
}

// rebaseLocked forgets the ids delivered so far, whose numbers the server
// now gives to other messages, and keeps out what the server still holds
// from before (a restored backup): a message sent no later than the last
// one delivered (Config.LastSent, or this run's latest) is not new. It is
// logged once at WARN and told to the Sink, which stores from here under
// fresh keys. The caller holds deliverMu.
func (s *Supervisor) rebaseLocked(last, newest string) {
	if !s.rebased {
		s.rebased = true
		s.cfg.Logger.Warn("the server's message ids restarted below the last one delivered; resuming from its newest",
			"last", last, "newest", newest, "not_new_before", s.lastSent.Format(time.RFC3339))
	} else {
		s.cfg.Logger.Info("the server's message ids restarted again", "last", last, "newest", newest)
	}
	s.ledger = newLedger(s.ledger.ordered, len(s.ledger.ring), "")
	s.notNewBefore = s.lastSent
	s.catchFrom, s.pending = "", false
	s.stats.rebases.Add(1)
	s.emit(Event{Kind: EventRebase, Rebase: &Rebase{Newest: newest}})
}

// fromBeforeRebase reports whether m is a message the server held from
// before its ids restarted (sent no later than the last one delivered
// then).
func (s *Supervisor) fromBeforeRebase(m Message) bool {
	return !s.notNewBefore.IsZero() && !m.Sent.IsZero() && !m.Sent.After(s.notNewBefore)
}

// restartedCatchUp takes a catch-up's IDsRestarted apart: it rebases and
// returns the walk's own error.
func (s *Supervisor) restartedCatchUp(last string, err error) error {
	var r *IDsRestarted
	if !errors.As(err, &r) {
		return err
	}
	s.deliverMu.Lock()
	s.rebaseLocked(last, r.Newest)
	s.deliverMu.Unlock()
	return r.Err
}
