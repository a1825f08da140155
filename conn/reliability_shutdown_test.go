package conn

import (
	"net"
	"os"
	"runtime"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tidings-app/tidings/internal/testkit"
)

// Check 14: 2 s ± 0.5 s latency (scaled) for a while.
func TestReliability14SlowNetworkCausesNoSpuriousReconnects(t *testing.T) {
	c := newCheck(t, 14, "slow network")
	srv := newTestServer(t, testToken)
	px := testkit.StartProxy(t, srv.addr)
	rec := newRecorder()
	cfg := scaledConfig("ws://"+px.Addr(), unit)
	sup := startSupervisor(t, cfg, rec)
	if !rec.waitFor(3*time.Second, func(r *recorder) bool { return r.state() == StateConnected }) {
		t.Fatal("never connected")
	}
	px.SetLatency(2*unit, unit/2)
	const lasting = 100 * unit // 100 s scaled: several ping and heartbeat periods
	tick := time.NewTicker(3 * unit)
	end := time.After(lasting)
	published := 0
loop:
	for {
		select {
		case <-tick.C:
			srv.publish("slow")
			published++
		case <-end:
			break loop
		}
	}
	tick.Stop()
	if !rec.waitFor(3*time.Second, func(r *recorder) bool { return len(r.msgs) == published }) {
		t.Errorf("delivered %d of %d", len(rec.snapshotMsgs()), published)
	}
	spurious := rec.countState(StateConnected) - 1
	if spurious != 0 || sup.Stats().Dials != 1 {
		t.Errorf("%d spurious reconnects, %d dials", spurious, sup.Stats().Dials)
	}
	delivered, dup := checkSequence(t, rec.snapshotMsgs(), published)
	c.fig("%s of 2 s ± 0.5 s latency (scaled): %d spurious reconnects; published %d delivered %d duplicated %d",
		lasting, spurious, published, delivered, dup)
}

func fdNames() []string {
	ents, _ := os.ReadDir("/proc/self/fd")
	var out []string
	for _, e := range ents {
		l, _ := os.Readlink("/proc/self/fd/" + e.Name())
		out = append(out, e.Name()+"="+l)
	}
	return out
}

func openFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

// Check 15: many reconnect cycles, then Stop during dial, handshake and
// backoff; goroutines and fds must come back to baseline.
func TestReliability15StopLeavesNoGoroutinesOrFds(t *testing.T) {
	c := newCheck(t, 15, "leaks and shutdown")
	srv := newTestServer(t, testToken)
	px := testkit.StartProxy(t, srv.addr)
	// Silent listeners: one accepts and never answers the upgrade (stuck in
	// the handshake), one is dialled with wss:// and never answers TLS
	// (stuck in the dial).
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	held := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			held <- c
		}
	}()
	t.Cleanup(func() {
		_ = silent.Close()
		for len(held) > 0 {
			_ = (<-held).Close()
		}
	})
	runtime.GC()
	baseG, baseFD, ignore := runtime.NumGoroutine(), openFDs(), goleak.IgnoreCurrent()

	// Many reconnect cycles.
	rec := newRecorder()
	cfg := scaledConfig("ws://"+px.Addr(), unit)
	sup := startSupervisor(t, cfg, rec)
	const cycles = 20
	for i := range cycles {
		if !rec.waitFor(3*time.Second, func(r *recorder) bool { return connectedCount(r) == i+1 && srv.liveConns() == 1 }) {
			t.Fatalf("cycle %d: not connected", i)
		}
		px.Reset()
	}
	if !rec.waitFor(3*time.Second, func(r *recorder) bool { return r.state() == StateConnected }) {
		t.Fatal("not connected after the cycles")
	}
	stopTimes := map[string]time.Duration{}
	timeStop := func(name string, s *Supervisor) {
		t0 := time.Now()
		s.Stop()
		stopTimes[name] = time.Since(t0)
		// Decided: Stop cut the wait short (the handshake timeout is a
		// minute). The latency figure is timed in make reliability.
		if d := stopTimes[name]; d >= time.Minute {
			t.Errorf("Stop while %s took %s: it waited out a timeout", name, d)
		}
		testkit.Within(t, "Stop while "+name, stopTimes[name], time.Second)
	}
	timeStop("connected", sup)

	// Stop during the dial (TLS never answered), the handshake (upgrade
	// never answered) and the backoff wait.
	slow := scaledConfig("", unit)
	slow.HandshakeTimeout = time.Minute
	slow.BackoffBase, slow.BackoffCap = time.Minute, time.Minute
	for _, tc := range []struct{ name, url string }{
		{"dialling (TLS)", "wss://" + silent.Addr().String()},
		{"in the handshake", "ws://" + silent.Addr().String()},
		{"in backoff", "ws://127.0.0.1:1"},
	} {
		cfg := slow
		cfg.Server = tc.url
		r := newRecorder()
		s := startSupervisor(t, cfg, r)
		want := StateConnecting
		if tc.name == "in backoff" {
			want = StateReconnecting
		}
		if !r.waitFor(3*time.Second, func(r *recorder) bool { return r.state() == want }) {
			t.Fatalf("%s: state %v", tc.name, r.snapshotStates())
		}
		var srvSide net.Conn
		if want == StateConnecting {
			srvSide = <-held // the TCP connection is open: the dial is under way
		}
		timeStop(tc.name, s)
		if srvSide != nil {
			_ = srvSide.Close()
		}
		if st := s.State().State; st != StateStopped {
			t.Errorf("%s: state after Stop %v", tc.name, st)
		}
	}
	for len(held) > 0 {
		_ = (<-held).Close()
	}
	if err := testkit.FindLeaks(ignore); err != nil {
		t.Errorf("goroutines left after Stop: %v", err)
	}
	g := runtime.NumGoroutine()
	var fd int
	okFD := waitUntil(3*time.Second, func() bool { fd = openFDs(); return fd <= baseFD })
	if !okFD {
		t.Errorf("fds %d, baseline %d: %v", fd, baseFD, fdNames())
	}
	var worst time.Duration
	for _, d := range stopTimes {
		worst = max(worst, d)
	}
	c.fig("%d reconnect cycles; Stop took %s connected, %s dialling, %s in handshake, %s in backoff (limit 1 s)",
		cycles, stopTimes["connected"].Round(time.Microsecond), stopTimes["dialling (TLS)"].Round(time.Microsecond),
		stopTimes["in the handshake"].Round(time.Microsecond), stopTimes["in backoff"].Round(time.Microsecond))
	c.fig("goroutines %d (baseline %d), fds %d (baseline %d)", g, baseG, fd, baseFD)
}
