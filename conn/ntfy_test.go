package conn

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidings-app/tidings/internal/testkit"
)

const ntfyToken = "tk_" + testToken // contains testToken, so TestMain's log check covers it

func ntfyConfig(t testing.TB, server string, topics ...string) Config {
	t.Helper()
	a, err := NewNtfyAdapter(topics)
	if err != nil {
		t.Fatal(err)
	}
	cfg := scaledConfig(server, unit)
	cfg.Adapter = a
	cfg.Token = NewSecret(ntfyToken)
	return cfg
}

// checkIDs checks that msgs carry exactly want, in order, once each.
func checkIDs(t *testing.T, msgs []Message, want []string) (dup int) {
	t.Helper()
	seen := map[string]int{}
	for _, m := range msgs {
		if seen[m.ID]++; seen[m.ID] > 1 {
			dup++
		}
	}
	if dup > 0 {
		t.Errorf("%d messages delivered twice", dup)
	}
	if len(msgs) != len(want) {
		t.Errorf("delivered %d messages, want %d", len(msgs), len(want))
		for i, id := range want {
			if seen[id] == 0 {
				t.Errorf("message %d of %d (%s) never delivered", i+1, len(want), id)
			}
		}
		return dup
	}
	for i := range want {
		if msgs[i].ID != want[i] {
			t.Errorf("message %d is %s, want %s: out of order or a gap", i, msgs[i].ID, want[i])
			return dup
		}
	}
	return dup
}

func TestNtfyDeliversLiveMessagesUpTo4096BytesAndNeverShowsTheOpenFrame(t *testing.T) {
	f := newNtfyFake(t, ntfyToken)
	f.set(func(f *ntfyFake) { f.keepalive = 5 * unit })
	rec := newRecorder()
	sup := startSupervisor(t, ntfyConfig(t, f.url(), "alerts", "backups"), rec)
	if !waitUntil(3*time.Second, func() bool { return f.liveSubs() == 1 }) {
		t.Fatal("never subscribed")
	}
	big := strings.Repeat("é", ntfyMaxMessage/2) // 4096 bytes of UTF-8
	ids := []string{f.publish("alerts", "one"), f.publish("other", "not mine"), f.publish("backups", big)}
	if f.publish("alerts", big+"x") != "" {
		t.Fatal("the fake accepted a message over 4096 bytes")
	}
	if !rec.waitFor(3*time.Second, func(r *recorder) bool { return len(r.msgs) == 2 }) {
		t.Fatalf("delivered %d of 2", len(rec.snapshotMsgs()))
	}
	msgs := rec.snapshotMsgs()
	checkIDs(t, msgs, []string{ids[0], ids[2]})
	if msgs[1].Body != big || msgs[1].Source != "backups" || msgs[0].Priority != PriorityDefault {
		t.Errorf("second message: %d bytes from %q, priority %v", len(msgs[1].Body), msgs[1].Source, msgs[0].Priority)
	}
	if st := sup.Stats(); st.BadFrames != 0 || st.Sessions != 1 {
		t.Errorf("stats %+v", st)
	}
	if sup.LastID() != ids[2] {
		t.Errorf("resume point %q, want the last delivered id", sup.LastID())
	}
}

func TestNtfyUpgradeErrorsWithEmptyBodiesLeadToTheRightState(t *testing.T) {
	tests := []struct {
		name  string
		setup func(f *ntfyFake)
		token string
		state State
		is    error
		code  int
	}{
		{"401 wrong token", nil, "tk_wrong", StateAuthFailed, nil, http.StatusUnauthorized},
		{"403 no access to a topic", func(f *ntfyFake) { f.denied["backups"] = true }, ntfyToken, StateAuthFailed, ErrNoTopicAccess, http.StatusForbidden},
		{"400 bad since", func(f *ntfyFake) { f.status = http.StatusBadRequest }, ntfyToken, StateOffline, ErrBadRequest, http.StatusBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newNtfyFake(t, ntfyToken)
			if tc.setup != nil {
				f.set(tc.setup)
			}
			rec := newRecorder()
			cfg := ntfyConfig(t, f.url(), "alerts", "backups")
			cfg.Token = NewSecret(tc.token)
			sup := startSupervisor(t, cfg, rec)
			if !rec.waitFor(3*time.Second, func(r *recorder) bool { return r.state() == tc.state }) {
				t.Fatalf("state %v, want %v", rec.snapshotStates(), tc.state)
			}
			pause(20 * unit) // nothing more may happen: no retry loop
			st := rec.snapshotStates()
			last := st[len(st)-1]
			var he *HTTPError
			if !errors.As(last.Err, &he) || he.Status != tc.code {
				t.Errorf("error %v, want HTTP %d", last.Err, tc.code)
			}
			if tc.is != nil && !errors.Is(last.Err, tc.is) {
				t.Errorf("error %v is not %v", last.Err, tc.is)
			}
			if n := sup.Stats().Dials; n != 1 {
				t.Errorf("%d dials, want 1", n)
			}
			t.Logf("%s → %s: %s", tc.name, last.State, Explain(last.Err))
		})
	}
}

func TestNtfy429WaitsForRetryAfter(t *testing.T) {
	f := newNtfyFake(t, ntfyToken)
	f.set(func(f *ntfyFake) { f.status, f.retry = http.StatusTooManyRequests, "1" })
	rec := newRecorder()
	sup := startSupervisor(t, ntfyConfig(t, f.url(), "alerts"), rec)
	if !rec.waitFor(2*time.Second, func(r *recorder) bool { return r.state() == StateReconnecting }) {
		t.Fatal("429 not seen")
	}
	refused := time.Now()
	sup.Kick() // must not cut a server's Retry-After short
	f.set(func(f *ntfyFake) { f.status = 0 })
	if !rec.waitFor(3*time.Second, func(r *recorder) bool { return r.state() == StateConnected }) {
		t.Fatal("never connected after the 429")
	}
	if waited := time.Since(refused); waited < 900*time.Millisecond {
		t.Errorf("reconnected %s after a 429 with Retry-After: 1", waited)
	}
}

// A busy ntfy registers a subscription a moment after the upgrade: a
// message published in between must still arrive, even on the first
// connection of a fresh login (no id to resume from yet).
func TestNtfyAMessagePublishedBeforeTheSubscriptionIsRegisteredArrives(t *testing.T) {
	f := newNtfyFake(t, ntfyToken)
	gate := make(chan struct{})
	f.set(func(f *ntfyFake) { f.registerGate = gate })
	rec := newRecorder()
	startSupervisor(t, ntfyConfig(t, f.url(), "alerts"), rec)
	if !rec.waitFor(2*time.Second, func(r *recorder) bool { return r.state() == StateConnected }) {
		t.Fatal("never connected")
	}
	gap := f.publish("alerts", "published while the subscription was being registered")
	f.set(func(f *ntfyFake) { f.registerGate = nil })
	close(gate)
	if !rec.waitFor(3*time.Second, func(r *recorder) bool { return len(r.msgs) == 1 }) {
		t.Fatal("the message published before the registration never arrived")
	}
	checkIDs(t, rec.snapshotMsgs(), []string{gap})
}

// Issue 19.5: a message published with "Cache: no" arrives live but ntfy
// never stores it. Resuming since=<its id> would make ntfy replay its whole
// cache, so messages from before the login would pop up as new; the
// reconnect resumes from its time instead and replays nothing old.
func TestNtfyAnUncachedMessageIsNotAResumePointThatReplaysTheCache(t *testing.T) {
	f := newNtfyFake(t, ntfyToken)
	old := f.publish("alerts", "an hour before the login")
	f.set(func(f *ntfyFake) {
		for i := range f.cache {
			if f.cache[i].ID == old {
				f.cache[i].Time -= 3600
			}
		}
	})
	px := testkit.StartProxy(t, f.addr)
	rec := newRecorder()
	startSupervisor(t, ntfyConfig(t, "ws://"+px.Addr(), "alerts"), rec)
	if !waitUntil(3*time.Second, func() bool { return f.liveSubs() == 1 }) {
		t.Fatal("never subscribed")
	}
	uncached := f.publishUncached("alerts", "Cache: no")
	if !rec.waitFor(3*time.Second, func(r *recorder) bool { return len(r.msgs) == 1 }) {
		t.Fatal("the uncached message did not arrive live")
	}
	px.Reset()
	if !rec.waitFor(3*time.Second, func(r *recorder) bool { return r.countState(StateConnected) >= 2 }) {
		t.Fatal("no reconnect after the reset")
	}
	after := f.publish("alerts", "after the reconnect")
	if !rec.waitFor(3*time.Second, func(r *recorder) bool { return len(r.msgs) >= 2 }) {
		t.Fatal("the live message after the reconnect never arrived")
	}
	checkIDs(t, rec.snapshotMsgs(), []string{uncached, after})
}

// With nothing delivered yet there is no id to resume from; a message
// published while the first connection is down must still arrive, and the
// server's older cache must not be replayed.
func TestNtfyMessagesPublishedBeforeTheFirstDeliveryAreNotLostToAReconnect(t *testing.T) {
	f := newNtfyFake(t, ntfyToken)
	old := f.publish("alerts", "before the login")
	f.set(func(f *ntfyFake) { // a minute old
		for i := range f.cache {
			if f.cache[i].ID == old {
				f.cache[i].Time -= 60
			}
		}
	})
	rec := newRecorder()
	startSupervisor(t, ntfyConfig(t, f.url(), "alerts"), rec)
	if !rec.waitFor(2*time.Second, func(r *recorder) bool { return r.state() == StateConnected }) {
		t.Fatal("never connected")
	}
	f.kill()
	// the client cannot subscribe yet: set before the restart, or it may
	// be back on the restarted server before the 503 (it failed 9 of 30)
	f.set(func(f *ntfyFake) { f.status = http.StatusServiceUnavailable })
	f.restart(t)
	if !rec.waitFor(2*time.Second, func(r *recorder) bool { return r.state() == StateReconnecting }) {
		t.Fatalf("the drop was not noticed: %v", rec.snapshotStates())
	}
	missed := f.publish("alerts", "while the client was away")
	f.set(func(f *ntfyFake) { f.status = 0 })
	if !rec.waitFor(3*time.Second, func(r *recorder) bool { return len(r.msgs) == 1 }) {
		t.Fatal("the message published while the client was away never arrived")
	}
	checkIDs(t, rec.snapshotMsgs(), []string{missed})
	f.mu.Lock()
	sinces := slices.Clone(f.sinces)
	f.mu.Unlock()
	if sinces[0] != sinces[len(sinces)-1] {
		t.Errorf("the first dial asked for since=%q and the reconnect for %q, want the same unix time", sinces[0], sinces[len(sinces)-1])
	}
	if _, err := strconv.ParseInt(sinces[len(sinces)-1], 10, 64); err != nil {
		t.Errorf("the reconnect asked for since=%q, want the unix time of the first dial", sinces[len(sinces)-1])
	}
}

// Check 1 through the ntfy adapter.
func TestReliability01NtfyRestartLoopLosesAndRepeatsNothing(t *testing.T) {
	c := newCheck(t, 1, "restart loop (ntfy)")
	f := newNtfyFake(t, ntfyToken)
	rec := newRecorder()
	cfg := ntfyConfig(t, f.url(), "alerts")
	startSupervisor(t, cfg, rec)
	var published []string // only the publisher goroutine appends, until restartLoop returns
	restarts, late, worst, worstBound := restartLoop(t, rec, cfg, restartTarget{
		publish: func() {
			if id := f.publish("alerts", "m"); id != "" {
				published = append(published, id)
			}
		},
		live: f.liveSubs, kill: f.kill, restart: f.restart,
	})
	if !rec.waitFor(3*time.Second, func(r *recorder) bool { return len(r.msgs) >= len(published) }) {
		t.Errorf("delivered %d of %d", len(rec.snapshotMsgs()), len(published))
	}
	dup := checkIDs(t, rec.snapshotMsgs(), published)
	c.fig("ntfy: %d restarts, worst reconnect %s (bound %s), %d late", restarts, worst.Round(time.Millisecond), worstBound.Round(time.Millisecond), late)
	c.fig("ntfy: published %d delivered %d duplicated %d", len(published), len(rec.snapshotMsgs()), dup)
}

// Check 2 through the ntfy adapter: only protocol pings keep the link.
func TestReliability02NtfyBlackHoleIsDetectedWithinPingPlusDeadline(t *testing.T) {
	c := newCheck(t, 2, "black hole (ntfy)")
	f := newNtfyFake(t, ntfyToken)
	f.set(func(f *ntfyFake) { f.keepalive = 45 * unit; f.dropAfter = 15 * unit })
	px := testkit.StartProxy(t, f.addr)
	rec := newRecorder()
	cfg := ntfyConfig(t, "ws://"+px.Addr(), "alerts")
	startSupervisor(t, cfg, rec)
	if !rec.waitFor(2*time.Second, func(r *recorder) bool { return r.state() == StateConnected }) {
		t.Fatal("never connected")
	}
	first := f.publish("alerts", "before")
	pause(cfg.PingInterval)
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
	testkit.Within(t, "ntfy black hole detected", detect, bound)
	if !errors.Is(end.Err, ErrDeadLink) {
		t.Errorf("detected with %v, want ErrDeadLink", end.Err)
	}
	missed := []string{f.publish("alerts", "hole 1"), f.publish("alerts", "hole 2")}
	pause(3 * cfg.HandshakeTimeout)
	px.SetMode(testkit.Pass)
	healed := time.Now()
	recBound := cfg.HandshakeTimeout + cfg.BackoffCap + 5*unit
	if !rec.waitFor(recBound+time.Second, func(r *recorder) bool { return len(r.msgs) == 3 }) {
		t.Fatalf("delivered %d of 3 after the heal", len(rec.snapshotMsgs()))
	}
	back := time.Since(healed)
	testkit.Within(t, "ntfy missed messages back after the heal", back, recBound)
	checkIDs(t, rec.snapshotMsgs(), append([]string{first}, missed...))
	c.fig("ntfy: dead declared after %s (bound %s); missed messages back %s after heal (bound %s), 3/3 once", detect.Round(time.Millisecond), bound, back.Round(time.Millisecond), recBound)
}

// Check 9 through the ntfy adapter, with the forgotten-id replay in the
// same run and across a restart of the client.
func TestReliability09NtfyCatchUpAndForgottenIDRepeatNothing(t *testing.T) {
	c := newCheck(t, 9, "catch-up (ntfy)")
	f := newNtfyFake(t, ntfyToken)
	px := testkit.StartProxy(t, f.addr)
	rec := newRecorder()
	sup := startSupervisor(t, ntfyConfig(t, "ws://"+px.Addr(), "alerts", "backups"), rec)
	if !waitUntil(3*time.Second, func() bool { return f.liveSubs() == 1 }) {
		t.Fatal("never subscribed")
	}
	var want []string
	for i := range 10 {
		want = append(want, f.publish([]string{"alerts", "backups"}[i%2], "live"))
	}
	if !rec.waitFor(3*time.Second, func(r *recorder) bool { return len(r.msgs) == 10 }) {
		t.Fatal("first 10 not delivered")
	}
	px.SetMode(testkit.Refuse)
	px.Reset()
	if !rec.waitFor(3*time.Second, func(r *recorder) bool { return r.state() == StateReconnecting }) {
		t.Fatal("reset not noticed")
	}
	for i := range 100 {
		f.set(func(f *ntfyFake) { f.clock += int64(i % 2) }) // several per second, like a burst
		want = append(want, f.publish([]string{"alerts", "backups"}[i%2], "missed"))
	}
	px.SetMode(testkit.Pass)
	if !rec.waitFor(5*time.Second, func(r *recorder) bool { return len(r.msgs) >= 110 }) {
		t.Fatalf("delivered %d of 110", len(rec.snapshotMsgs()))
	}
	checkIDs(t, rec.snapshotMsgs(), want)
	caughtUp := 0
	for _, m := range rec.snapshotMsgs()[10:] {
		if m.CatchUp {
			caughtUp++
		}
	}

	// The cache forgets the resume id (or never had it: "Cache: no"): the
	// reconnect asks since=<time of the latest message>, which ntfy always
	// knows, so only that second's messages come again, dropped as repeats.
	f.forget(sup.LastID())
	before := sup.Stats().Repeats
	f.mu.Lock()
	dials, latest := len(f.sinces), strconv.FormatInt(f.clock, 10)
	f.mu.Unlock()
	px.Reset()
	if !waitUntil(5*time.Second, func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return len(f.sinces) > dials && len(f.subs) == 1
	}) {
		t.Fatal("no reconnect after the reset")
	}
	f.mu.Lock()
	since := f.sinces[len(f.sinces)-1]
	f.mu.Unlock()
	if since != latest {
		t.Fatalf("the reconnect asked since=%s, want the latest message's time %s", since, latest)
	}
	for range 5 {
		want = append(want, f.publish("alerts", "after"))
	}
	if !rec.waitFor(3*time.Second, func(r *recorder) bool { return len(r.msgs) >= 115 }) {
		t.Fatalf("delivered %d of 115", len(rec.snapshotMsgs()))
	}
	dup := checkIDs(t, rec.snapshotMsgs(), want)
	repeats := sup.Stats().Repeats - before

	// Across a restart of the client: LastID and RecentIDs from history,
	// and the server forgot LastID too.
	last := sup.LastID()
	sup.Stop()
	f.forget(last)
	var recent []string
	for _, m := range rec.snapshotMsgs() {
		recent = append(recent, m.ID)
	}
	rec2 := newRecorder()
	cfg2 := ntfyConfig(t, "ws://"+px.Addr(), "alerts", "backups")
	cfg2.LastID, cfg2.RecentIDs = last, recent
	sup2 := startSupervisor(t, cfg2, rec2)
	if !waitUntil(3*time.Second, func() bool { return f.liveSubs() == 1 && sup2.Stats().Repeats >= 113 }) {
		t.Fatalf("second run: %d repeats dropped, want 113", sup2.Stats().Repeats)
	}
	fresh := f.publish("backups", "new run")
	if !rec2.waitFor(3*time.Second, func(r *recorder) bool { return len(r.msgs) == 1 }) {
		t.Fatal("new run got nothing")
	}
	checkIDs(t, rec2.snapshotMsgs(), []string{fresh})
	c.fig("ntfy: 100 missed while down delivered once in publish order (%d marked CatchUp)", caughtUp)
	c.fig("ntfy: forgotten id, same run: resumed since= the latest time, %d repeats of that second dropped, 115 published, %d duplicated; next run from a forgotten id (RecentIDs from history) dropped %d, showed only the new one", repeats, dup, sup2.Stats().Repeats)
}
