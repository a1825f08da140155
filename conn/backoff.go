package conn

import (
	"errors"
	"time"

	"github.com/tidings-app/tidings/proto"
)

// backoffWindow is the upper end of the wait before dial number attempt
// (1-based) in a run of failures: base·2^(attempt-1), capped.
func backoffWindow(attempt int, base, maxD time.Duration) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	w := base
	for i := 1; i < attempt; i++ {
		if w >= maxD/2 {
			return maxD
		}
		w *= 2
	}
	return min(w, maxD)
}

// backoffDelay is full jitter applied after the cap: a uniform delay in
// [0, window). Applying the cap first keeps delays spread over the whole
// window instead of piling up at the cap. r is a float in [0,1).
func backoffDelay(attempt int, base, maxD time.Duration, r float64) time.Duration {
	w := backoffWindow(attempt, base, maxD)
	if r < 0 || r >= 1 {
		r = 0
	}
	return time.Duration(r * float64(w))
}

// nextDelay decides how long to wait after a failed session: the jittered
// backoff, raised to the server's Retry-After when it gave one (up to
// retryAfterMax). floor reports that the delay is a server order that a
// Kick must not cut short.
func nextDelay(err error, attempt int, c *Config) (d time.Duration, floor bool) {
	d = backoffDelay(attempt, c.BackoffBase, c.BackoffCap, c.Rand())
	if ra := nextFloor(err, c); ra > 0 {
		return max(d, ra), true
	}
	return d, false
}

// nextFloor is the server's Retry-After carried by err, capped at
// RetryAfterMax; 0 when there is none.
func nextFloor(err error, c *Config) time.Duration {
	var he *HTTPError
	if errors.As(err, &he) && he.RetryAfter > 0 {
		return min(he.RetryAfter, c.RetryAfterMax)
	}
	return 0
}

// restartGrid is the schedule a restarting server handed out: dials at
// start, start+every, start+2·every, … (left of them), whatever time the
// failed dials in between took. Every client of that server has its own
// start within one period, so their dials stay evenly spread.
type restartGrid struct {
	start time.Time
	every time.Duration
	left  int
}

// newRestartGrid starts a grid from a hint received at now; the period is
// raised to minEvery. A negative dials count gives an empty grid.
func newRestartGrid(now time.Time, h proto.RestartHint, dials int, minEvery time.Duration) restartGrid {
	return restartGrid{start: now.Add(h.RetryIn()), every: max(h.Every(), minEvery), left: max(dials, 0)}
}

// next is the wait from now until the grid's next dial, always a point
// later than now; false once the grid is used up (or was never set).
func (g *restartGrid) next(now time.Time) (time.Duration, bool) {
	if g.left <= 0 || g.every <= 0 {
		return 0, false
	}
	g.left--
	if now.Before(g.start) {
		return g.start.Sub(now), true
	}
	k := now.Sub(g.start)/g.every + 1
	return g.start.Add(k * g.every).Sub(now), true
}

// nextOr is the grid's next wait, or d (fromGrid false) once it is used up.
func (g *restartGrid) nextOr(now time.Time, d time.Duration) (time.Duration, bool) {
	if w, ok := g.next(now); ok {
		return w, true
	}
	return d, false
}

// gridAfter is the server's schedule that the end of a session calls for,
// if any: the slot of a 1012 close (a graceful restart), or, when a stable
// connection dropped and is to be dialled again after the backoff, the
// slot the server gave at its upgrade (HeaderDropSlot). Not after a short
// connection: a server that closes every socket soon after the upgrade
// would otherwise keep the backoff from growing.
func gridAfter(end sessionEnd, act action, c *Config) (restartGrid, bool) {
	var ce *CloseError
	switch {
	case errors.As(end.err, &ce) && ce.Restart != nil:
		return newRestartGrid(ce.Received, *ce.Restart, c.RestartDials, c.RestartMinEvery), true
	case end.up >= c.StableAfter && end.dropSlot != nil && act == actBackoff:
		at := end.readFailed
		if at.IsZero() {
			at = c.Now()
		}
		return newRestartGrid(at, *end.dropSlot, c.RestartDials, c.RestartMinEvery), true
	}
	return restartGrid{}, false
}
