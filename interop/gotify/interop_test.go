package gotifyinterop

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidings-app/tidings/account"
	"github.com/tidings-app/tidings/conn"
	"github.com/tidings-app/tidings/internal/testkit"
)

func TestRealGotifyStreamDeliversLiveMessagesWithNamesExtrasAndPriority(t *testing.T) {
	f := newFixture(t, gotifyTiming())
	rec := &recorder{}
	cfg := clientConfig(f.srv.URL(), f.token)
	cfg.Adapter = &conn.GotifyAdapter{AppRefreshGap: time.Nanosecond} // the bound itself is unit-tested in conn
	sup := start(t, cfg, rec)
	if !waitUntil(3*time.Second, func() bool { return f.srv.Streams() == 1 }) {
		t.Fatal("never connected to the real /stream")
	}
	_, err := f.srv.Publish(f.appToken, map[string]any{"title": "Disk", "message": "**90%** full", "priority": 8,
		"extras": map[string]any{"client::display": map[string]any{"contentType": "text/markdown"},
			"client::notification": map[string]any{"click": map[string]any{"url": "https://example.com/disk"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if !rec.waitFor(3*time.Second, func(r *recorder) bool { return len(r.msgs) == 1 }) {
		t.Fatal("message not delivered")
	}
	m := rec.messages()[0]
	if m.Title != "Disk" || m.Body != "**90%** full" || !m.Markdown || m.URL != "https://example.com/disk" ||
		m.Priority != conn.PriorityHigh || m.Source != "Backups" || time.Since(m.Sent) > time.Minute || m.CatchUp {
		t.Errorf("got %+v", m)
	}
	if m.Extra == nil || m.Extra.Icon != "static/defaultapp.png" {
		t.Errorf("application icon %+v", m.Extra)
	}
	// A second application appears after the first name fetch: its unknown
	// appid refreshes the cache through the real GET /application.
	_, app2 := f.srv.CreateApplication(f.user, "Cron", "x.png")
	if _, err := f.srv.Publish(app2, map[string]any{"message": "ran"}); err != nil {
		t.Fatal(err)
	}
	// Several real ping periods: the client never sends a frame Gotify's
	// 64-byte read limit would refuse, and answers every ping.
	pause(3 * gotifyTiming().PingPeriod)
	if !rec.waitFor(time.Second, func(r *recorder) bool { return len(r.msgs) == 2 }) {
		t.Fatal("second message not delivered")
	}
	if got := rec.messages()[1]; got.Title != "Cron" || got.Source != "Cron" || got.Priority != conn.PriorityDefault ||
		got.Extra == nil || got.Extra.Icon != "image/x.png" {
		t.Errorf("second message: title %q source %q priority %v extra %+v", got.Title, got.Source, got.Priority, got.Extra)
	}
	if st := sup.Stats(); st.Sessions != 1 || st.BadFrames != 0 {
		t.Errorf("stats %+v: the real server dropped us or sent something we could not read", st)
	}
}

// Gotify writes the 101 before it registers the stream; a message stored
// in between is pushed to nobody. The harness publishes one exactly there,
// after the client's catch-up asked for the newest id: only the re-check
// can find it, within the same session.
func TestAMessageStoredBetweenGotifysUpgradeAndItsRegistrationIsFoundByTheRecheck(t *testing.T) {
	for _, tt := range []struct {
		name  string
		first bool // a message delivered before the race (resume) or none (fresh login)
	}{{"fresh login", false}, {"resuming", true}} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, gotifyTiming())
			rec := &recorder{}
			cfg := clientConfig(f.srv.URL(), f.token)
			var want []uint
			var sup *conn.Supervisor
			if tt.first {
				sup = start(t, cfg, rec)
				if !waitUntil(3*time.Second, func() bool { return f.srv.Streams() == 1 }) {
					t.Fatal("never connected")
				}
				want = append(want, f.publish(t, "before"))
				if !rec.waitFor(3*time.Second, func(r *recorder) bool { return len(r.msgs) == 1 }) {
					t.Fatal("first message not delivered")
				}
				raced := f.srv.RaceNextStream(f.appToken, map[string]any{"message": "in the window"}, 2*time.Second)
				f.srv.Kill()
				if err := f.srv.Restart(); err != nil {
					t.Fatal(err)
				}
				want = append(want, raceID(t, raced))
			} else {
				raced := f.srv.RaceNextStream(f.appToken, map[string]any{"message": "in the window"}, 2*time.Second)
				sup = start(t, cfg, rec)
				want = append(want, raceID(t, raced))
			}
			sessions := 0
			if !rec.waitFor(3*time.Second, func(r *recorder) bool { sessions = r.connected(); return len(r.msgs) == len(want) }) {
				t.Fatalf("the message published in the window never arrived (delivered %d of %d)", len(rec.messages()), len(want))
			}
			checkSequence(t, rec.messages(), want)
			if got := rec.messages()[len(want)-1]; got.CatchUp {
				t.Error("the message found by the re-check is fresh: it must pop like a live one, not wait in a catch-up summary")
			}
			// A live message after it: the stream is registered now, and
			// order is kept (the re-check runs before held frames go out).
			want = append(want, f.publish(t, "after"))
			if !rec.waitFor(3*time.Second, func(r *recorder) bool { return len(r.msgs) == len(want) }) {
				for _, st := range rec.statesSince(time.Time{}) {
					t.Log(st)
				}
				t.Fatalf("the live message after the race never arrived: delivered %d, stats %+v", len(rec.messages()), sup.Stats())
			}
			checkSequence(t, rec.messages(), want)
			wantSessions := 1
			if tt.first {
				wantSessions = 2
			}
			if sessions != wantSessions {
				t.Errorf("%d sessions, want %d: the message must arrive without a reconnect", sessions, wantSessions)
			}
		})
	}
}

// raceID waits for an armed race and checks it really hit the window.
func raceID(t *testing.T, raced <-chan RaceResult) uint {
	t.Helper()
	select {
	case r := <-raced:
		if r.Err != nil || !r.Listed {
			t.Fatalf("race not reproduced: %+v", r)
		}
		return r.ID
	case <-time.After(testkit.Patience()):
		t.Fatal("the client never upgraded")
	}
	return 0
}

func TestRealGotifyDropsASilentClientWhichReconnectsAndLosesNothing(t *testing.T) {
	timing := Config{PingPeriod: 10 * unit, PongTimeout: 20 * unit}
	f := newFixture(t, timing)
	px := testkit.StartProxy(t, f.srv.Addr)
	rec := &recorder{}
	cfg := clientConfig("http://"+px.Addr(), f.token)
	cfg.PingInterval, cfg.DeadAfter = 100*unit, 300*unit // the client would notice late: the server must act
	start(t, cfg, rec)
	if !waitUntil(3*time.Second, func() bool { return f.srv.Streams() == 1 }) {
		t.Fatal("never connected")
	}
	want := []uint{f.publish(t, "before")}
	if !rec.waitFor(3*time.Second, func(r *recorder) bool { return len(r.msgs) == 1 }) {
		t.Fatal("first message not delivered")
	}
	px.MuteClients() // our pongs vanish from now on
	muted := time.Now()
	want = append(want, f.publish(t, "while silent"))
	bound := timing.PingPeriod + timing.PongTimeout + 10*unit
	var end conn.Status
	if !rec.waitFor(bound+2*time.Second, func(r *recorder) bool {
		for _, s := range r.states {
			if s.Since.After(muted) && s.State == conn.StateReconnecting {
				end = s
				return true
			}
		}
		return false
	}) {
		t.Fatal("the real server never dropped the silent client")
	}
	dropped := end.Since.Sub(muted)
	testkit.Within(t, "the real server dropped the silent client (bound ping+pong+slack)", dropped, bound)
	if !errors.Is(end.Err, conn.ErrConnLost) {
		t.Errorf("ended with %v, want ErrConnLost (1006, no close frame)", end.Err)
	}
	if !rec.waitFor(3*time.Second, func(r *recorder) bool { return r.state() == conn.StateConnected && r.connected() == 2 }) {
		t.Fatal("did not reconnect")
	}
	want = append(want, f.publish(t, "after"))
	if !rec.waitFor(3*time.Second, func(r *recorder) bool { return len(r.msgs) == 3 }) {
		t.Fatalf("delivered %d of 3", len(rec.messages()))
	}
	checkSequence(t, rec.messages(), want)
	t.Logf("silent client dropped by the real server after %s (ping %s + pong %s), reconnected; 3/3 delivered once",
		dropped.Round(time.Millisecond), timing.PingPeriod, timing.PongTimeout)
}

// Check 9 against the real server: catch-up after downtime, a last-seen id
// the server no longer has, and a restart of the client.
func TestReliability09RealGotifyCatchUpAfterDowntimeLosesAndRepeatsNothing(t *testing.T) {
	f := newFixture(t, gotifyTiming())
	px := testkit.StartProxy(t, f.srv.Addr)
	rec := &recorder{}
	cfg := clientConfig("http://"+px.Addr(), f.token)
	cfg.Adapter = &conn.GotifyAdapter{PageSize: 30} // several pages
	sup := start(t, cfg, rec)
	if !waitUntil(3*time.Second, func() bool { return f.srv.Streams() == 1 }) {
		t.Fatal("never connected")
	}
	var want []uint
	for range 10 {
		want = append(want, f.publish(t, "live"))
	}
	if !rec.waitFor(3*time.Second, func(r *recorder) bool { return len(r.msgs) == 10 }) {
		var got []string
		for _, m := range rec.messages() {
			got = append(got, fmt.Sprintf("%s(cu=%v)", m.ID, m.CatchUp))
		}
		t.Fatalf("first 10 not delivered: delivered %v of %v, state %v, stats %+v", got, want, rec.state(), sup.Stats())
	}
	px.SetMode(testkit.Refuse)
	px.Reset()
	if !rec.waitFor(3*time.Second, func(r *recorder) bool { return r.state() == conn.StateReconnecting }) {
		t.Fatal("the outage was not noticed")
	}
	// Publish once Gotify has dropped the stream: its client.NotifyClose
	// closes the write channel without the lock Notify sends under (an
	// upstream race the detector would report, not ours).
	if !waitUntil(3*time.Second, func() bool { return f.srv.Streams() == 0 }) {
		t.Fatal("Gotify kept the cut stream")
	}
	for range 100 {
		want = append(want, f.publish(t, "missed"))
	}
	px.SetMode(testkit.Pass)
	if !rec.waitFor(5*time.Second, func(r *recorder) bool { return len(r.msgs) >= 110 }) {
		t.Fatalf("delivered %d of 110", len(rec.messages()))
	}
	checkSequence(t, rec.messages(), want)
	catchUp := 0
	for _, m := range rec.messages()[10:] {
		if m.CatchUp && m.Source == "Backups" {
			catchUp++
		}
	}
	if catchUp != 100 {
		t.Errorf("%d of 100 marked CatchUp with their application name", catchUp)
	}

	// The client stops; the last message it saw is deleted on the server;
	// more arrive; a new run resumes from the persisted LastID.
	last := sup.LastID()
	sup.Stop()
	if !waitUntil(3*time.Second, func() bool { return f.srv.Streams() == 0 }) {
		t.Fatal("Gotify kept the stream of the stopped client")
	}
	n, _ := strconv.ParseUint(last, 10, 64)
	f.srv.DeleteMessage(uint(n))
	var want2 []uint
	for range 45 {
		want2 = append(want2, f.publish(t, "while the app was closed"))
	}
	rec2 := &recorder{}
	cfg2 := clientConfig("http://"+px.Addr(), f.token)
	cfg2.Adapter = &conn.GotifyAdapter{PageSize: 20}
	cfg2.LastID = last
	sup2 := start(t, cfg2, rec2)
	if !rec2.waitFor(5*time.Second, func(r *recorder) bool { return len(r.msgs) >= 45 }) {
		t.Fatalf("second run delivered %d of 45", len(rec2.messages()))
	}
	want2 = append(want2, f.publish(t, "live again"))
	if !rec2.waitFor(3*time.Second, func(r *recorder) bool { return len(r.msgs) >= 46 }) {
		t.Fatal("live message after the second catch-up missing")
	}
	pause(5 * unit) // a repeat would arrive now
	dup := checkSequence(t, rec2.messages(), want2)
	t.Logf("check 9 (real Gotify): 100 missed → 100 caught up in order in windows of 30 (%d marked CatchUp); last seen id %s deleted on the server, next run caught up 45 in windows of 20 and went live, %d repeats, %d dropped as overlap", catchUp, last, dup, sup2.Stats().Repeats)
}

// Check 1 against the real server: killed and restarted 50 times while a
// publisher runs.
func TestReliability01RealGotifyRestartLoopLosesAndRepeatsNothing(t *testing.T) {
	f := newFixture(t, gotifyTiming())
	rec := &recorder{}
	cfg := clientConfig(f.srv.URL(), f.token)
	cfg.Adapter = loggingAdapter{conn.NewGotifyAdapter(), t}
	start(t, cfg, rec)
	if !waitUntil(3*time.Second, func() bool { return f.srv.Streams() == 1 }) {
		t.Fatal("never connected")
	}
	var mu sync.Mutex
	var published []uint
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if !f.srv.Up() {
					continue
				}
				if id, err := f.srv.Publish(f.appToken, map[string]any{"message": "m"}); err == nil {
					mu.Lock()
					published = append(published, id)
					mu.Unlock()
				}
			}
		}
	})
	const restarts = 50
	var worst time.Duration
	late := 0
	for i := range restarts {
		before := 0
		rec.waitFor(time.Second, func(r *recorder) bool {
			before = r.connected()
			return r.state() == conn.StateConnected && f.srv.Streams() == 1
		})
		pause(time.Duration(rand.Int64N(int64(2 * unit))))
		f.srv.Kill()
		killed := time.Now()
		pause(time.Duration(rand.Int64N(int64(3 * unit))))
		if err := f.srv.Restart(); err != nil {
			t.Fatal(err)
		}
		bound := time.Since(killed) + cfg.BackoffCap + 5*unit
		ok := rec.waitFor(bound+time.Second, func(r *recorder) bool { return r.connected() > before })
		took := time.Since(killed)
		if !ok {
			t.Fatalf("restart %d: never reconnected", i+1)
		}
		if !testkit.Within(t, fmt.Sprintf("restart %d: reconnected", i+1), took, bound) || took > bound {
			late++
		}
		worst = max(worst, took)
	}
	close(stop)
	wg.Wait()
	// Every stored message must arrive, including those whose publish
	// request was cut by a kill after the server had stored it.
	mu.Lock()
	acked := len(published)
	mu.Unlock()
	var want []uint
	for id := range uint(f.srv.Stored()) {
		want = append(want, id+1)
	}
	if !rec.waitFor(5*time.Second, func(r *recorder) bool { return len(r.msgs) >= len(want) }) {
		t.Errorf("delivered %d of %d", len(rec.messages()), len(want))
	}
	dup := checkSequence(t, rec.messages(), want)
	if t.Failed() {
		got := map[string]bool{}
		for _, m := range rec.messages() {
			got[m.ID] = true
		}
		var missing []uint
		for _, id := range want {
			if !got[strconv.FormatUint(uint64(id), 10)] {
				missing = append(missing, id)
			}
		}
		if len(missing) > 20 {
			missing = append(missing[:10], missing[len(missing)-10:]...)
		}
		t.Logf("missing (first and last 10): %v; last delivered %s", missing, rec.messages()[len(rec.messages())-1].ID)
		for _, s := range rec.statesSince(time.Time{}) {
			if s.Err != nil {
				t.Log(s)
			}
		}
	}
	t.Logf("check 1 (real Gotify): %d restarts, worst reconnect %s, %d late; stored %d (%d acknowledged to the publisher) delivered %d duplicated %d",
		restarts, worst.Round(time.Millisecond), late, len(want), acked, len(rec.messages()), dup)
}

// Check 2 against the real server: the path black-holes on an idle link.
func TestReliability02RealGotifyBlackHoleIsDetectedWithinPingPlusDeadline(t *testing.T) {
	f := newFixture(t, gotifyTiming())
	px := testkit.StartProxy(t, f.srv.Addr)
	rec := &recorder{}
	cfg := clientConfig("http://"+px.Addr(), f.token)
	start(t, cfg, rec)
	if !waitUntil(3*time.Second, func() bool { return f.srv.Streams() == 1 }) {
		t.Fatal("never connected")
	}
	want := []uint{f.publish(t, "before")}
	pause(cfg.PingInterval)
	px.SetMode(testkit.BlackHole)
	holed := time.Now()
	bound := time.Duration(float64(cfg.PingInterval+cfg.DeadAfter) * 1.1)
	var end conn.Status
	if !waitUntil(bound+time.Second, func() bool {
		for _, s := range rec.statesSince(holed) {
			if s.State == conn.StateReconnecting {
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
	if !errors.Is(end.Err, conn.ErrDeadLink) {
		t.Errorf("detected with %v, want ErrDeadLink", end.Err)
	}
	// Publish once Gotify has dropped the held stream (its own ping
	// timeout): its NotifyClose closes the write channel without the lock
	// Notify sends under, an upstream race the detector reports (seen
	// once in three runs under stress-ng) that is not ours.
	if !waitUntil(5*time.Second, func() bool { return f.srv.Streams() == 0 }) {
		t.Fatal("Gotify kept the black-holed stream")
	}
	for range 3 {
		want = append(want, f.publish(t, "in the hole"))
	}
	pause(3 * cfg.HandshakeTimeout)
	px.SetMode(testkit.Pass)
	healed := time.Now()
	recBound := cfg.HandshakeTimeout + cfg.BackoffCap + 5*unit
	if !rec.waitFor(recBound+time.Second, func(r *recorder) bool { return len(r.msgs) == 4 }) {
		t.Fatalf("delivered %d of 4", len(rec.messages()))
	}
	back := time.Since(healed)
	testkit.Within(t, "back after the heal", back, recBound)
	checkSequence(t, rec.messages(), want)
	t.Logf("check 2 (real Gotify): dead declared after %s (bound %s); missed messages back %s after heal (bound %s); 4/4 once",
		detect.Round(time.Millisecond), bound, back.Round(time.Millisecond), recBound)
}

// Login through the real POST /client, then logout through the real
// DELETE /client/<id>: Gotify closes the open stream and the reconnect gets
// 401, which must stop the client in AuthFailed (one attempt, no loop).
func TestDeletedGotifyClientTokenLeadsToAuthFailed(t *testing.T) {
	f := newFixture(t, gotifyTiming())
	authn, err := account.NewAuthenticator(account.Gotify, account.HTTPConfig{ClientName: "Tidings on test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := authn.Login(ctx, f.srv.URL(), "alice", account.NewSecret("wrong")); !errors.Is(err, account.ErrUnauthorized) {
		t.Errorf("wrong password: %v", err)
	}
	grant, err := authn.Login(ctx, f.srv.URL(), "alice", account.NewSecret("pw"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(grant.Token.Reveal(), "C") || grant.RevokeID == "" {
		t.Fatalf("grant: client id %q", grant.RevokeID)
	}
	if name, err := authn.Check(ctx, f.srv.URL(), grant.Token, nil); err != nil || name != "alice" {
		t.Fatalf("Check of the new client token: %q, %v", name, err)
	}
	remember(grant.Token.Reveal())
	rec := &recorder{}
	sup := start(t, clientConfig(f.srv.URL(), grant.Token.Reveal()), rec)
	if !waitUntil(3*time.Second, func() bool { return f.srv.Streams() == 1 }) {
		t.Fatal("never connected with the new client token")
	}
	f.publish(t, "hello")
	if !rec.waitFor(3*time.Second, func(r *recorder) bool { return len(r.msgs) == 1 }) {
		t.Fatal("not delivered")
	}
	if err := authn.Logout(ctx, f.srv.URL(), grant); err != nil {
		t.Fatal(err)
	}
	if !rec.waitFor(3*time.Second, func(r *recorder) bool { return r.state() == conn.StateAuthFailed }) {
		t.Fatalf("state %v, want AuthFailed", sup.State())
	}
	dials := sup.Stats().Dials
	pause(30 * unit)
	st := sup.State()
	var he *conn.HTTPError
	if !errors.As(st.Err, &he) || he.Status != 401 || sup.Stats().Dials != dials {
		t.Errorf("state %v, dials %d then %d", st, dials, sup.Stats().Dials)
	}
	if strings.Contains(st.Err.Error(), grant.Token.Reveal()) {
		t.Error("the token is in the error")
	}
	if err := authn.Logout(ctx, f.srv.URL(), grant); err != nil {
		t.Errorf("second logout: %v", err)
	}
	t.Logf("deleted client: stream closed by the server, reconnect refused with 401 → %s (%q)", st.State, conn.Explain(st.Err))
}

// Issue 19.6: a newest page of 200 ordinary 6 KB messages is over the 1 MiB
// read limit, and one message of 1.5 MB is over it on its own. The page
// size adapts, the big message becomes a visible "too large" entry with its
// id, and the catch-up and the live stream go on: all 201 arrive, then a
// live one. (Before: the body was cut without an error, the JSON failed and
// the session looped, delivering nothing.)
func TestReliability18RealGotifyCatchUpOverTheReadLimitAdaptsAndMarksTheOversizedMessage(t *testing.T) {
	f := newFixture(t, gotifyTiming())
	rec := &recorder{}
	cfg := clientConfig("http://"+f.srv.Addr, f.token)
	sup := start(t, cfg, rec)
	if !waitUntil(3*time.Second, func() bool { return f.srv.Streams() == 1 }) {
		t.Fatal("never connected")
	}
	want := []uint{f.publish(t, "first")}
	if !rec.waitFor(3*time.Second, func(r *recorder) bool { return len(r.msgs) == 1 }) {
		t.Fatal("first message not delivered")
	}
	last := sup.LastID()
	sup.Stop()
	if !waitUntil(3*time.Second, func() bool { return f.srv.Streams() == 0 }) {
		t.Fatal("Gotify kept the stream of the stopped client")
	}
	six := strings.Repeat("6 KB of text. ", 6<<10/14)
	var big uint
	for i := range 200 {
		if i == 100 {
			big = f.publish(t, strings.Repeat("x", 1500<<10))
			want = append(want, big)
		}
		want = append(want, f.publish(t, six))
	}
	rec2 := &recorder{}
	cfg2 := clientConfig("http://"+f.srv.Addr, f.token)
	cfg2.LastID = last
	start(t, cfg2, rec2)
	if !rec2.waitFor(10*time.Second, func(r *recorder) bool { return len(r.msgs) >= 201 }) {
		t.Fatalf("delivered %d of 201 after the catch-up over the read limit; state %v", len(rec2.messages()), rec2.state())
	}
	want = append(want, f.publish(t, "live after"))
	if !rec2.waitFor(3*time.Second, func(r *recorder) bool { return len(r.msgs) >= 202 }) {
		t.Fatal("the live message after the catch-up never arrived")
	}
	msgs := rec2.messages()
	checkSequence(t, msgs, want[1:])
	for _, m := range msgs {
		switch {
		case m.ID == strconv.FormatUint(uint64(big), 10):
			if m.Title != "A message too large to show" || !strings.Contains(m.Body, m.ID) || m.Source != "Backups" {
				t.Errorf("the oversized message arrived as %q / %.80q from %q", m.Title, m.Body, m.Source)
			}
		case m.Body != six && m.Body != "live after":
			t.Errorf("message %s arrived with a body of %d bytes, want it whole", m.ID, len(m.Body))
		}
	}
	t.Logf("figures: %d of 202 delivered (200 × 6 KB over the 1 MiB limit, one 1.5 MB marked too large, one live), %d repeats",
		len(msgs), repeatedIDs(msgs))
}

// repeatedIDs counts ids delivered more than once.
func repeatedIDs(msgs []conn.Message) int {
	seen, n := map[string]bool{}, 0
	for _, m := range msgs {
		if seen[m.ID] {
			n++
		}
		seen[m.ID] = true
	}
	return n
}

// Issue 19.7: Gotify's ids are shared by all users. Alice misses 5, Bob
// gets 1 500, Alice misses 5 more: her catch-up window (1 000) counts her
// own messages, so all 10 arrive (before: the window counted ids and she
// got the last 5). With a window of 8 she gets her newest 8 and is told
// that 10 were missed.
func TestReliability19RealGotifyCatchUpCountsThisUsersMessagesNotSharedIDs(t *testing.T) {
	f := newFixture(t, gotifyTiming())
	bob := f.srv.CreateUser("bob", "pw-bob")
	_, bobApp := f.srv.CreateApplication(bob, "Bob's jobs", "")
	rec := &recorder{}
	sup := start(t, clientConfig("http://"+f.srv.Addr, f.token), rec)
	if !waitUntil(3*time.Second, func() bool { return f.srv.Streams() == 1 }) {
		t.Fatal("never connected")
	}
	f.publish(t, "seen")
	if !rec.waitFor(3*time.Second, func(r *recorder) bool { return len(r.msgs) == 1 }) {
		t.Fatal("first message not delivered")
	}
	last := sup.LastID()
	sup.Stop()
	if !waitUntil(3*time.Second, func() bool { return f.srv.Streams() == 0 }) {
		t.Fatal("Gotify kept the stream of the stopped client")
	}
	var missed []uint
	for range 5 {
		missed = append(missed, f.publish(t, "missed before Bob's burst"))
	}
	for range 1500 {
		if _, err := f.srv.Publish(bobApp, map[string]any{"message": "for Bob"}); err != nil {
			t.Fatal(err)
		}
	}
	for range 5 {
		missed = append(missed, f.publish(t, "missed after Bob's burst"))
	}

	for _, c := range []struct {
		name   string
		window int
		want   []uint
		short  *conn.ShortCatchUp
	}{
		{"the default window holds all ten", 0, missed, nil},
		{"a window of eight fetches the newest eight and says so", 8, missed[2:], &conn.ShortCatchUp{Fetched: 8, Missed: 10}},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := &recorder{}
			cfg := clientConfig("http://"+f.srv.Addr, f.token)
			cfg.Adapter = &conn.GotifyAdapter{MaxCatchUp: c.window, PageSize: 3} // several pages back
			cfg.LastID = last
			sup := start(t, cfg, rec)
			if !rec.waitFor(5*time.Second, func(r *recorder) bool { return len(r.msgs) >= len(c.want) }) {
				t.Fatalf("delivered %d of %d", len(rec.messages()), len(c.want))
			}
			pause(5 * unit) // a repeat or a stray would arrive now
			checkSequence(t, rec.messages(), c.want)
			rec.mu.Lock()
			shorts := append([]conn.ShortCatchUp(nil), rec.shorts...)
			rec.mu.Unlock()
			switch {
			case c.short == nil && len(shorts) != 0:
				t.Errorf("told of a short catch-up %+v, nothing was left", shorts)
			case c.short != nil && (len(shorts) != 1 || shorts[0] != *c.short):
				t.Errorf("short catch-ups %+v, want one %+v", shorts, *c.short)
			}
			t.Logf("figures: window %d: %d of %d missed delivered among 1 510 shared ids, short catch-ups told %+v",
				c.window, len(rec.messages()), len(missed), shorts)
			sup.Stop()
			if !waitUntil(3*time.Second, func() bool { return f.srv.Streams() == 0 }) {
				t.Fatal("Gotify kept the stream of the stopped client")
			}
		})
	}
}
