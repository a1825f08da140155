package conn

import (
	"net/http"
	"testing"
	"time"
)

// After MaxAttempts failed dials the Supervisor is Offline, but it goes on
// dialling about once per SlowRetry, so a server that was away longer than
// the rapid attempts is found again without a Kick, a network-up or a
// resume event (which a server-only outage never brings).
func TestOfflineAfterTheRapidAttemptsKeepsProbingSlowlyAndComesBackAlone(t *testing.T) {
	srv := newTestServer(t, testToken)
	srv.set(func(s *testServer) { s.status = http.StatusBadGateway })
	rec := newRecorder()
	cfg := scaledConfig(srv.url(), unit)
	cfg.MaxAttempts = 3
	cfg.SlowRetry = 4 * unit
	cfg.QuickDials = -1
	startSupervisor(t, cfg, rec)

	// three slow probes while the server still refuses
	if !rec.waitFor(10*time.Second, func(r *recorder) bool { return r.countState(StateOffline) >= 3 }) {
		t.Fatalf("Offline %d times, want 3 slow probes", rec.countState(StateOffline))
	}
	if reqs, _ := srv.counts(); reqs <= cfg.MaxAttempts {
		t.Fatalf("%d dials: none after going Offline", reqs)
	}
	for _, s := range rec.snapshotStates() {
		if s.State != StateOffline {
			continue
		}
		planned := s.NextRetry.Sub(s.Since)
		if planned < cfg.SlowRetry/2 || planned >= cfg.SlowRetry*3/2 {
			t.Errorf("an Offline probe planned in %s, outside [%s, %s)", planned, cfg.SlowRetry/2, cfg.SlowRetry*3/2)
		}
		if s.Attempt < cfg.MaxAttempts {
			t.Errorf("Offline at attempt %d, before the %d rapid attempts were spent", s.Attempt, cfg.MaxAttempts)
		}
	}
	srv.set(func(s *testServer) { s.status = 0 })
	if !rec.waitFor(10*time.Second, func(r *recorder) bool { return r.state() == StateConnected }) {
		t.Fatalf("not back after the server recovered; last state %v", rec.last().State)
	}
}

// When a connection that was up a while drops (a server restart), the next
// QuickDials dials wait less than QuickWindow each instead of the growing
// backoff; then the backoff starts from its first window, and only the
// dials after the quick ones count toward MaxAttempts.
func TestADropAfterALongConnectionIsRedialledQuicklyThenBacksOff(t *testing.T) {
	srv := newTestServer(t, testToken)
	rec := newRecorder()
	cfg := scaledConfig(srv.url(), unit)
	cfg.Rand = func() float64 { return 0.99 } // every wait at the top of its window
	cfg.QuickDials = 4
	cfg.QuickAfter = 2 * unit
	cfg.QuickWindow = unit
	cfg.MaxAttempts = 3
	cfg.SlowRetry = time.Hour
	startSupervisor(t, cfg, rec)
	if !rec.waitFor(10*time.Second, func(r *recorder) bool { return r.state() == StateConnected }) {
		t.Fatal("never connected")
	}
	pause(4 * unit) // up longer than QuickAfter
	srv.kill()
	if !rec.waitFor(10*time.Second, func(r *recorder) bool { return r.state() == StateOffline }) {
		t.Fatalf("never went Offline; last state %v", rec.last().State)
	}
	var planned []time.Duration
	var offline Status
	for _, s := range rec.snapshotStates() {
		switch s.State {
		case StateReconnecting:
			if s.Attempt != len(planned)+1 {
				t.Fatalf("Reconnecting attempt %d after %d waits", s.Attempt, len(planned))
			}
			planned = append(planned, s.NextRetry.Sub(s.Since))
		case StateOffline:
			offline = s
		}
	}
	want := []time.Duration{cfg.QuickWindow, cfg.QuickWindow, cfg.QuickWindow, cfg.QuickWindow,
		backoffWindow(1, cfg.BackoffBase, cfg.BackoffCap), backoffWindow(2, cfg.BackoffBase, cfg.BackoffCap)}
	if len(planned) != len(want) {
		t.Fatalf("%d waits before Offline (%v), want %d: 4 quick and 2 of the backoff", len(planned), planned, len(want))
	}
	for i, w := range want {
		if planned[i] > w || planned[i] < w*9/10 {
			t.Errorf("wait %d planned %s, want 0.99 of its window %s", i+1, planned[i], w)
		}
	}
	if offline.Attempt != 7 {
		t.Errorf("Offline at attempt %d, want 7 (4 quick dials do not count toward MaxAttempts 3)", offline.Attempt)
	}
}
