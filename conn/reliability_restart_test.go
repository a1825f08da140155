package conn

import (
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/tidings-app/tidings/internal/testkit"
)

// pause is scenario pacing (how long a fault lasts), never synchronisation.
func pause(d time.Duration) { time.Sleep(d) }

func connectedCount(r *recorder) int { return r.countState(StateConnected) }

// restartTarget is what the restart loop kills: the native test server or
// the ntfy fake.
type restartTarget struct {
	publish func()     // one publish attempt every 2 ms (it may find the server down)
	live    func() int // sockets the server holds
	kill    func()
	restart func(testing.TB)
}

// restartLoop is check 1's scenario: 50 kills and restarts with 0–3 s
// (scaled) downtime while a publisher runs, each reconnect checked against
// downtime + backoff cap + slack. It returns when the publisher has
// stopped; the caller checks what was delivered.
func restartLoop(t *testing.T, rec *recorder, cfg Config, srv restartTarget) (restarts, late int, worst, worstBound time.Duration) {
	t.Helper()
	if !rec.waitFor(2*time.Second, func(r *recorder) bool { return r.state() == StateConnected }) {
		t.Fatal("never connected")
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { // the publisher
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				srv.publish()
			}
		}
	})
	restarts = 50
	slack := 5 * unit
	for i := range restarts {
		before := 0
		rec.waitFor(time.Second, func(r *recorder) bool {
			before = connectedCount(r)
			return r.state() == StateConnected && srv.live() == 1
		})
		pause(time.Duration(rand.Int64N(int64(2 * unit)))) // up a little while
		srv.kill()
		killed := time.Now()
		pause(time.Duration(rand.Int64N(int64(3 * unit)))) // down
		srv.restart(t)
		bound := time.Since(killed) + cfg.BackoffCap + slack
		ok := rec.waitFor(bound+time.Second, func(r *recorder) bool { return connectedCount(r) > before })
		took := time.Since(killed)
		if !ok {
			t.Fatalf("restart %d: never reconnected", i+1)
		}
		if took > bound {
			late++
			if testkit.Timed() {
				t.Errorf("restart %d: reconnected after %s, bound %s", i+1, took, bound)
			}
		}
		if took-bound > worst-worstBound || worst == 0 {
			worst, worstBound = took, bound
		}
	}
	close(stop)
	wg.Wait()
	return restarts, late, worst, worstBound
}

// Check 1: the server is killed and restarted 50 times with 0–3 s
// (scaled) downtime while a publisher runs.
func TestReliability01RestartLoopLosesAndRepeatsNothing(t *testing.T) {
	c := newCheck(t, 1, "restart loop")
	srv := newTestServer(t, testToken)
	rec := newRecorder()
	cfg := scaledConfig(srv.url(), unit)
	startSupervisor(t, cfg, rec)
	restarts, late, worst, worstBound := restartLoop(t, rec, cfg, restartTarget{
		publish: func() { srv.publishIfUp("m") }, live: srv.liveConns, kill: srv.kill, restart: srv.restart,
	})
	published := srv.stored()
	if !rec.waitFor(3*time.Second, func(r *recorder) bool { return len(r.msgs) >= published }) {
		t.Errorf("delivered %d of %d", len(rec.snapshotMsgs()), published)
	}
	delivered, dup := checkSequence(t, rec.snapshotMsgs(), published)
	c.fig("%d restarts, worst reconnect %s (bound downtime+cap+slack %s), %d late", restarts, worst.Round(time.Millisecond), worstBound.Round(time.Millisecond), late)
	c.fig("published %d delivered %d duplicated %d", published, delivered, dup)
}

// Check 2: the proxy stops forwarding on an idle connection.
func TestReliability02BlackHoleIsDetectedWithinPingPlusDeadline(t *testing.T) {
	c := newCheck(t, 2, "black hole")
	srv := newTestServer(t, testToken)
	px := testkit.StartProxy(t, srv.addr)
	rec := newRecorder()
	cfg := scaledConfig("ws://"+px.Addr(), unit)
	startSupervisor(t, cfg, rec)
	if !rec.waitFor(2*time.Second, func(r *recorder) bool { return r.state() == StateConnected }) {
		t.Fatal("never connected")
	}
	pause(cfg.PingInterval) // idle for a ping period
	px.SetMode(testkit.BlackHole)
	holed := time.Now()
	bound := time.Duration(float64(cfg.PingInterval+cfg.DeadAfter) * 1.1)
	var end Status
	if !rec.waitFor(bound+time.Second, func(r *recorder) bool {
		for _, s := range r.states {
			if s.Since.After(holed) && s.State == StateReconnecting {
				end = s
				return true
			}
		}
		return false
	}) {
		t.Fatal("black hole never detected")
	}
	detect := end.Since.Sub(holed)
	testkit.Within(t, "black hole detected", detect, bound)
	if !errors.Is(end.Err, ErrDeadLink) {
		t.Errorf("ended with %v, want ErrDeadLink", end.Err)
	}
	for range 3 {
		srv.publish("while black-holed")
	}
	pause(3 * cfg.HandshakeTimeout) // let a few dials die in the hole
	px.SetMode(testkit.Pass)
	healed := time.Now()
	before := 0
	rec.waitFor(0, func(r *recorder) bool { before = connectedCount(r); return true })
	recBound := cfg.HandshakeTimeout + cfg.BackoffCap + 5*unit
	if !rec.waitFor(recBound+time.Second, func(r *recorder) bool { return connectedCount(r) > before }) {
		t.Fatal("never reconnected after the path healed")
	}
	back := time.Since(healed)
	testkit.Within(t, "reconnected after the path healed", back, recBound)
	srv.publish("after")
	if !rec.waitFor(2*time.Second, func(r *recorder) bool { return len(r.msgs) == 4 }) {
		t.Errorf("delivered %d of 4", len(rec.snapshotMsgs()))
	}
	checkSequence(t, rec.snapshotMsgs(), 4)
	c.fig("dead declared after %s (bound (ping+deadline)·1.1 = %s)", detect.Round(time.Millisecond), bound)
	c.fig("reconnected %s after heal (bound %s), 4/4 delivered", back.Round(time.Millisecond), recBound)
}

// Check 3: the server process is SIGSTOPped (it still accepts TCP), later
// SIGCONTed.
func TestReliability03FrozenServerIsDetectedAndDialsTimeOut(t *testing.T) {
	c := newCheck(t, 3, "frozen server")
	cfg := scaledConfig("", unit)
	p := startServerProcess(t, testToken, cfg.PingInterval)
	cfg.Server = "ws://" + p.addr
	rec := newRecorder()
	startSupervisor(t, cfg, rec)
	p.publish(t, "one")
	if !rec.waitFor(3*time.Second, func(r *recorder) bool { return r.state() == StateConnected && len(r.msgs) == 1 }) {
		t.Fatal("never connected")
	}
	p.freeze(t)
	stopped := time.Now()
	bound := cfg.DeadAfter + 5*unit
	var end Status
	if !rec.waitFor(bound+time.Second, func(r *recorder) bool {
		for _, s := range r.states {
			if s.Since.After(stopped) && s.State == StateReconnecting {
				end = s
				return true
			}
		}
		return false
	}) {
		t.Fatal("frozen server never detected")
	}
	detect := end.Since.Sub(stopped)
	testkit.Within(t, "frozen server detected", detect, bound)
	if !errors.Is(end.Err, ErrDeadLink) {
		t.Errorf("detected with %v, want ErrDeadLink", end.Err)
	}
	// Dials now connect (the kernel accepts) but the upgrade never comes:
	// each must give up at the handshake timeout.
	var dials []time.Duration
	rec.waitFor(3*time.Second, func(r *recorder) bool {
		dials = dials[:0]
		for i := 1; i < len(r.states); i++ {
			a, b := r.states[i-1], r.states[i]
			if a.State == StateConnecting && a.Since.After(end.Since) && b.State == StateReconnecting {
				if !errors.Is(b.Err, ErrHandshake) {
					t.Errorf("dial to a frozen server ended with %v", b.Err)
				}
				dials = append(dials, b.Since.Sub(a.Since))
			}
		}
		return len(dials) >= 3
	})
	if len(dials) < 3 {
		t.Fatalf("only %d dials timed out", len(dials))
	}
	var longest time.Duration
	for _, d := range dials {
		longest = max(longest, d)
		if d < cfg.HandshakeTimeout {
			t.Errorf("dial gave up after %s, before the handshake timeout %s", d, cfg.HandshakeTimeout)
		}
		testkit.Within(t, "a dial to a frozen server gave up", d, cfg.HandshakeTimeout+5*unit)
	}
	p.thaw(t)
	resumed := time.Now()
	before := 0
	rec.waitFor(0, func(r *recorder) bool { before = connectedCount(r); return true })
	backBound := cfg.BackoffCap + 5*unit
	if !rec.waitFor(backBound+time.Second, func(r *recorder) bool { return connectedCount(r) > before }) {
		t.Fatal("never came back after SIGCONT")
	}
	back := time.Since(resumed)
	testkit.Within(t, "back after SIGCONT", back, backBound)
	p.publish(t, "two")
	if !rec.waitFor(3*time.Second, func(r *recorder) bool { return len(r.msgs) == 2 }) {
		t.Error("message after SIGCONT not delivered")
	}
	checkSequence(t, rec.snapshotMsgs(), 2)
	c.fig("detected after %s (deadline %s)", detect.Round(time.Millisecond), cfg.DeadAfter)
	c.fig("%d dials gave up after ≤%s (handshake timeout %s)", len(dials), longest.Round(time.Millisecond), cfg.HandshakeTimeout)
	c.fig("back %s after SIGCONT (cap %s)", back.Round(time.Millisecond), cfg.BackoffCap)
}
