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
	period := restartPeriod(n, spread, rate)
	slots := make([]restartSlot, n)
	for i := range slots {
		at := time.Duration((float64(i) + offset) / float64(n) * float64(period))
		slots[i] = restartSlot{at: start.Add(at), every: period}
	}
	return slots
}

// restartPeriod is long enough for n clients to come back at rate dials
// per second, and at least spread.
func restartPeriod(n int, spread time.Duration, rate int) time.Duration {
	period := max(spread, time.Duration(float64(n)/float64(rate)*float64(time.Second)))
	return min(max(period, time.Millisecond), proto.MaxRestartEvery).Truncate(time.Millisecond)
}

// golden is 2^64 divided by the golden ratio: k·golden mod 2^64, read as a
// fraction of 2^64, is the golden-ratio sequence k·0.618… mod 1 computed
// exactly for any k (Fibonacci hashing); any run of consecutive k spreads
// evenly over [0,1).
const golden = 0x9E3779B97F4A7C15

// dropSlot is the slot the k-th socket is given at its upgrade, for a drop
// without a close frame, among n open sockets: the sockets open at any
// time hold slots spread over the period as evenly as a run of the
// golden-ratio sequence, so if the server's process dies they come back
// spread as after a graceful shutdown.
func dropSlot(k uint64, n int, spread time.Duration, rate int) proto.RestartHint {
	period := restartPeriod(max(n, 1), spread, rate)
	frac := float64((k*golden)>>11) / (1 << 53)
	at := min(int64(frac*float64(period.Milliseconds())), period.Milliseconds()-1)
	return proto.RestartHint{RetryInMs: at, EveryMs: period.Milliseconds()}
}
