// Package testkit is what the test suites share: waits that fail only when
// something is really stuck (Eventually), timing figures that are asserted
// only when the run is timed (Within), a synchronised log buffer, leak
// checks (goleak) and a TCP fault proxy.
//
// `make test` must pass on a busy machine, so it never asserts elapsed
// time: a wait there is a liveness guard (Patience, a minute by default)
// and a timing figure is only logged. `make reliability` and `make bench`
// set TIDINGS_TIMING=1, and then Within fails a figure over its bound and
// Guard keeps a wait at the duration the test gave.
package testkit

import (
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// Timed reports whether this run asserts timing (TIDINGS_TIMING=1).
func Timed() bool { return os.Getenv("TIDINGS_TIMING") == "1" }

// Patience is how long a liveness wait waits before it calls the thing
// stuck: 60 s, or TIDINGS_PATIENCE (a Go duration).
func Patience() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("TIDINGS_PATIENCE")); err == nil && d > 0 {
		return d
	}
	return time.Minute
}

// Guard is the time to wait for something a test expects within d: d
// itself when the run is timed, else at least Patience, so that a slow
// machine makes the test slower, never red.
func Guard(d time.Duration) time.Duration {
	if Timed() {
		return d
	}
	return max(d, Patience())
}

// Within logs a timing figure and, when the run is timed, fails t if got
// is over bound. It reports whether the figure is within bound (always true
// in an untimed run, so callers may use it to decide a table row).
func Within(t testing.TB, what string, got, bound time.Duration) bool {
	t.Helper()
	if got <= bound {
		t.Logf("%s: %v (bound %v)", what, got.Round(time.Millisecond), bound)
		return true
	}
	if Timed() {
		t.Errorf("%s: %v, over the bound of %v", what, got.Round(time.Millisecond), bound)
		return false
	}
	t.Logf("%s: %v, over the bound of %v (not asserted: an untimed run; make reliability and make bench time it)",
		what, got.Round(time.Millisecond), bound)
	return true
}

// WaitUntil polls cond every couple of milliseconds until it holds (true)
// or within passes (false, after one last look).
func WaitUntil(within time.Duration, cond func() bool) bool {
	if cond() {
		return true
	}
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			runtime.Gosched()
			if cond() {
				return true
			}
		case <-deadline.C:
			return cond()
		}
	}
}

// Eventually fails t (Fatal) unless cond holds within Patience.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	if !WaitUntil(Patience(), cond) {
		t.Fatalf("still waiting after %v for %s", Patience(), what)
	}
}

// Seed is the seed of a randomised test: TIDINGS_SEED when set, else
// fallback (the test's fresh seed). It is always logged, so that a failing
// run can be replayed with TIDINGS_SEED.
func Seed(t testing.TB, fallback uint64) uint64 {
	t.Helper()
	seed := fallback
	if s := os.Getenv("TIDINGS_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("TIDINGS_SEED=%q: %v", s, err)
		}
		seed = v
	}
	t.Logf("seed %d (replay with TIDINGS_SEED=%d)", seed, seed)
	return seed
}

// ModeBits reports whether this OS keeps Unix permission bits. Windows
// does not (os.Stat shows 0666 or 0444): an ACL decides who may read a
// file there, and the per-user AppData folders are private by theirs. Tests
// of 0600/0700 modes check them only where they exist.
const ModeBits = runtime.GOOS != "windows"
