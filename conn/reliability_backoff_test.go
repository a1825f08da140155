package conn

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tidings-app/tidings/internal/testkit"
)

// Check 4: the server closes every socket right after the upgrade.
func TestReliability04AcceptThenCloseStaysInsideTheBackoffEnvelope(t *testing.T) {
	c := newCheck(t, 4, "accept-then-close")
	srv := newTestServer(t, testToken)
	srv.set(func(s *testServer) { s.acceptThenClose, s.closeCode = true, websocket.CloseNormalClosure })
	rec := newRecorder()
	cfg := scaledConfig(srv.url(), unit)
	cfg.MaxAttempts = 12
	cpu0, wall0 := cpuTime(), time.Now()
	sup := startSupervisor(t, cfg, rec)
	if !rec.waitFor(10*time.Second, func(r *recorder) bool { return r.state() == StateOffline }) {
		t.Fatalf("never went offline; states %d", len(rec.snapshotStates()))
	}
	cpu := float64(cpuTime()-cpu0) / float64(time.Since(wall0))
	ups := srv.upgradeTimes()
	if len(ups) != cfg.MaxAttempts {
		t.Errorf("%d upgrades before Offline, want %d", len(ups), cfg.MaxAttempts)
	}
	// Each gap is the jittered wait for attempt i plus one dial: it must lie
	// inside [0, window(i)] + dial slack, and the windows must keep growing
	// (no reset, since no connection stayed up StableAfter).
	// The gaps are timing (a busy machine stretches them): asserted only in
	// a timed run. What the engine decided, the wait it planned for each
	// attempt (NextRetry − Since), must lie inside the window in every run.
	slack := 3 * unit
	outside := 0
	for i := 1; i < len(ups); i++ {
		gap := ups[i].Sub(ups[i-1])
		w := backoffWindow(i, cfg.BackoffBase, cfg.BackoffCap)
		if !testkit.Within(t, fmt.Sprintf("gap %d (window %s + slack)", i, w), gap, w+slack) || gap > w+slack {
			outside++
		}
	}
	attempt := 0
	for _, s := range rec.snapshotStates() {
		if s.State == StateReconnecting {
			if s.Attempt != attempt+1 {
				t.Errorf("backoff attempt went %d → %d: reset or skipped", attempt, s.Attempt)
			}
			attempt = s.Attempt
			if w, planned := backoffWindow(s.Attempt, cfg.BackoffBase, cfg.BackoffCap), s.NextRetry.Sub(s.Since); planned > w {
				t.Errorf("attempt %d planned a wait of %s, outside its window %s", s.Attempt, planned, w)
			}
		}
	}
	// Offline means no more dials until a Kick.
	pause(cfg.BackoffCap)
	if _, n := srv.counts(); n != cfg.MaxAttempts {
		t.Errorf("dialled %d times while offline", n-cfg.MaxAttempts)
	}
	sup.Kick()
	if !rec.waitFor(2*time.Second, func(r *recorder) bool { _, n := srv.counts(); return n > cfg.MaxAttempts }) {
		t.Error("Kick did not dial from Offline")
	}
	if cpu > 0.2 {
		t.Errorf("CPU %.0f%% while retrying", cpu*100)
	}
	c.fig("%d dials over %s, %d gaps outside the envelope, attempts 1→%d without reset, CPU %.1f%%, then Offline until Kick",
		len(ups), ups[len(ups)-1].Sub(ups[0]).Round(time.Millisecond), outside, attempt, cpu*100)
}

// Check 5: 401 / 403 / 429 and 503 with Retry-After on the upgrade.
func TestReliability05AuthFailureStopsRetryingAndRateLimitIsHonoured(t *testing.T) {
	c := newCheck(t, 5, "auth and rate limits")
	for _, status := range []int{http.StatusUnauthorized, http.StatusForbidden} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			srv := newTestServer(t, testToken)
			srv.set(func(s *testServer) { s.status = status })
			rec := newRecorder()
			cfg := scaledConfig(srv.url(), unit)
			cfg.Token = NewSecret("wrong")
			sup := startSupervisor(t, cfg, rec)
			var st Status
			if !rec.waitFor(2*time.Second, func(r *recorder) bool {
				if r.state() != StateAuthFailed {
					return false
				}
				st = r.states[len(r.states)-1]
				return true
			}) {
				t.Fatal("never AuthFailed")
			}
			var he *HTTPError
			if !errors.As(st.Err, &he) || he.Status != status {
				t.Errorf("err %v", st.Err)
			}
			pause(10 * cfg.BackoffBase)
			if n, _ := srv.counts(); n != 1 {
				t.Errorf("%d attempts, want 1", n)
			}
			srv.set(func(s *testServer) { s.status = 0 })
			sup.SetCredentials(NewSecret(testToken))
			if !rec.waitFor(2*time.Second, func(r *recorder) bool { return r.state() == StateConnected }) {
				t.Fatal("new credentials did not connect")
			}
			n, _ := srv.counts()
			c.fig("%d: %d attempt then %q, connected after SetCredentials", status, n-1, StateAuthFailed)
		})
	}
	for _, status := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			srv := newTestServer(t, testToken)
			rec := newRecorder()
			cfg := scaledConfig(srv.url(), unit)
			sup := startSupervisor(t, cfg, rec)
			if !rec.waitFor(2*time.Second, func(r *recorder) bool { return r.state() == StateConnected && srv.liveConns() == 1 }) {
				t.Fatal("never connected")
			}
			srv.set(func(s *testServer) { s.status, s.retryAfter = status, "1" })
			srv.closeAll(websocket.CloseGoingAway)
			if !rec.waitFor(2*time.Second, func(r *recorder) bool { n, _ := srv.counts(); return n >= 2 }) {
				t.Fatal("no dial after the close")
			}
			srv.mu.Lock()
			refused := srv.requests[1]
			srv.mu.Unlock()
			sup.Kick() // a Kick must not cut a server's Retry-After short
			srv.set(func(s *testServer) { s.status = 0 })
			if !rec.waitFor(3*time.Second, func(r *recorder) bool { n, _ := srv.counts(); return n >= 3 }) {
				t.Fatal("no dial after Retry-After")
			}
			srv.mu.Lock()
			gap := srv.requests[2].Sub(refused)
			srv.mu.Unlock()
			if gap < time.Second {
				t.Errorf("next attempt %s after %d with Retry-After: 1", gap, status)
			}
			c.fig("%d Retry-After 1 s: next attempt after %s (Kick ignored)", status, gap.Round(time.Millisecond))
		})
	}
}

// Check 6: the shape of 10 000 computed delays.
func TestReliability06JitterIsSpreadOverTheWholeWindow(t *testing.T) {
	c := newCheck(t, 6, "jitter shape")
	base, capD := DefaultBackoffBase, DefaultBackoffCap
	const n = 10000
	var atCap, topPercent, over int
	var sum time.Duration
	r := rand.New(rand.NewPCG(1, 2))
	for i := range n {
		attempt := 10 + i%10 // every one of these windows is at the cap
		d := backoffDelay(attempt, base, capD, r.Float64())
		if d < 0 || d > capD {
			over++
		}
		if d == capD {
			atCap++
		}
		if d >= capD-capD/100 {
			topPercent++
		}
		sum += d
	}
	mean := sum / n
	if over > 0 {
		t.Errorf("%d delays outside [0, cap]", over)
	}
	if atCap > 0 || topPercent > 2*n/100 {
		t.Errorf("pile-up at the cap: %d exactly at it, %d in its top 1%%", atCap, topPercent)
	}
	if mean < capD*45/100 || mean > capD*55/100 {
		t.Errorf("mean %s, want about cap/2", mean)
	}
	// Small attempts stay inside their own windows.
	for attempt := 1; attempt <= 8; attempt++ {
		w := backoffWindow(attempt, base, capD)
		for range 1000 {
			if d := backoffDelay(attempt, base, capD, r.Float64()); d < 0 || d > w {
				t.Fatalf("attempt %d: %s outside [0,%s]", attempt, d, w)
			}
		}
	}
	c.fig("%d delays at the cap: all in [0,%s], %d exactly at the cap, %.2f%% in its top 1%%, mean %.3f·cap",
		n, capD, atCap, float64(topPercent)*100/n, float64(mean)/float64(capD))
}
