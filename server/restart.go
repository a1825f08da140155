package server

import (
	"time"

	"github.com/tidings-app/tidings/proto"
)

// restartSlot is when one client should dial again after a graceful
// shutdown, and how often after that.
type restartSlot struct {
	at    time.Time
	every time.Duration
}

// hint is the slot as the close reason sent at now: the first wait is
// counted from the moment the frame is written, so a close that leaves late
// (200 of them go out one after another) still names the same instant, or
// the same point of a later period if that instant has passed.
func (r restartSlot) hint(now time.Time) proto.RestartHint {
	wait := r.at.Sub(now)
	if wait < 0 {
		wait = r.every - (-wait)%r.every
	}
	wait = min(wait, r.every-time.Millisecond)
	return proto.RestartHint{RetryInMs: wait.Milliseconds(), EveryMs: r.every.Milliseconds()}
}

// restartSlots gives n clients their reconnect slots for a shutdown
// starting at start. The period is long enough for the clients to come back
// at rate dials per second, and at least spread; client i first dials
// (i+offset)/n of a period after start and then once a period, so their
// dials stay evenly spaced, one every period/n, however long the restart
// takes. offset in [0,1) shifts the whole grid (random per shutdown), so
// where the server's return falls within a period differs between restarts.
func restartSlots(n int, start time.Time, spread time.Duration, rate int, offset float64) []restartSlot {
	if n <= 0 {
		return nil
	}
	period := max(spread, time.Duration(float64(n)/float64(rate)*float64(time.Second)))
	period = min(max(period, time.Millisecond), proto.MaxRestartEvery).Truncate(time.Millisecond)
	slots := make([]restartSlot, n)
	for i := range slots {
		at := time.Duration((float64(i) + offset) / float64(n) * float64(period))
		slots[i] = restartSlot{at: start.Add(at), every: period}
	}
	return slots
}
