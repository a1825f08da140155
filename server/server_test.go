package server

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tidings-app/tidings/internal/peak"
	"github.com/tidings-app/tidings/internal/testkit"
	"github.com/tidings-app/tidings/proto"
)

func TestLoginPublishAndDeliver(t *testing.T) {
	ts := startServer(t, t.TempDir(), testConfig())
	ts.addUser("alice", "correct horse")
	tok := ts.login("alice", "correct horse")
	if !strings.HasPrefix(tok, SessionPrefix) {
		t.Fatalf("token %q lacks prefix", tok[:4])
	}
	c := ts.dial(tok, 0)
	pub := ts.publisher()
	n := ts.publish(pub, proto.PublishRequest{To: "alice", Title: "Backup", Message: "done", Priority: 4,
		URL: "https://backup.test/1", Topic: "ci", ContentType: proto.ContentMarkdown})
	if n != 1 {
		t.Fatalf("recipients %d", n)
	}
	m := next(t, c)
	if m.ID != 1 || m.Title != "Backup" || m.Message != "done" || m.Priority != 4 || m.URL != "https://backup.test/1" ||
		m.Topic != "ci" || m.ContentType != proto.ContentMarkdown || time.Since(m.Time) > time.Minute {
		t.Fatalf("got %+v", m)
	}
	ts.publish(pub, proto.PublishRequest{To: "alice", Message: "second"})
	if m := next(t, c); m.ID != 2 || m.Priority != proto.PriorityDefault {
		t.Fatalf("second: %+v", m)
	}
}

func TestHeartBeatIsAnsweredWithHeartBeat(t *testing.T) {
	ts := startServer(t, t.TempDir(), testConfig())
	ts.addUser("alice", "pw")
	c := ts.dial(ts.login("alice", "pw"), 0)
	for range 3 {
		if err := c.WriteMessage(websocket.TextMessage, []byte(proto.HeartBeat)); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, b, err := c.ReadMessage()
		if err != nil || string(b) != proto.HeartBeat {
			t.Fatalf("answer %q err %v", b, err)
		}
	}
}

func TestSinceReplaysMissedMessagesInOrderAfterReconnect(t *testing.T) {
	ts := startServer(t, t.TempDir(), testConfig())
	ts.addUser("alice", "pw")
	tok, pub := ts.login("alice", "pw"), ts.publisher()
	for i := 1; i <= 3; i++ {
		ts.publish(pub, proto.PublishRequest{To: "alice", Message: fmt.Sprint("m", i)})
	}
	c := ts.dial(tok, 0)
	for want := uint64(1); want <= 3; want++ {
		if m := next(t, c); m.ID != want || m.Message != fmt.Sprint("m", want) {
			t.Fatalf("want %d got %+v", want, m)
		}
	}
	c.Close()
	for i := 4; i <= 5; i++ {
		ts.publish(pub, proto.PublishRequest{To: "alice", Message: fmt.Sprint("m", i)})
	}
	c = ts.dial(tok, 3)
	for want := uint64(4); want <= 5; want++ {
		if m := next(t, c); m.ID != want {
			t.Fatalf("want %d got %+v", want, m)
		}
	}
	ts.publish(pub, proto.PublishRequest{To: "alice", Message: "live"})
	if m := next(t, c); m.ID != 6 || m.Message != "live" {
		t.Fatalf("live: %+v", m)
	}
}

func TestConnectingDuringPublishingLosesAndDuplicatesNothing(t *testing.T) {
	cfg := testConfig()
	cfg.ReplayBatch = 7 // several replay queries while live messages arrive
	cfg.QueueLen = 1000
	ts := startServer(t, t.TempDir(), cfg)
	ts.addUser("alice", "pw")
	tok, pub := ts.login("alice", "pw"), ts.publisher()
	const total = 150
	var published sync.WaitGroup
	published.Add(1)
	progress := make(chan int, total)
	go func() {
		defer published.Done()
		for i := 1; i <= total; i++ {
			ts.publish(pub, proto.PublishRequest{To: "alice", Message: fmt.Sprint(i)})
			progress <- i
		}
	}()
	for i := range progress {
		if i == 40 {
			break
		}
	}
	c := ts.dial(tok, 0)
	for want := uint64(1); want <= total; want++ {
		m := next(t, c)
		if m.ID != want || m.Message != fmt.Sprint(want) {
			t.Fatalf("want id %d, got %+v", want, m)
		}
	}
	published.Wait()
	// Nothing after the last one: a HeartBeat round trip proves the queue is empty.
	c.WriteMessage(websocket.TextMessage, []byte(proto.HeartBeat))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, b, err := c.ReadMessage(); err != nil || string(b) != proto.HeartBeat {
		t.Fatalf("after the last message: %q %v", b, err)
	}
}

func TestUserNeverReceivesAnotherUsersMessages(t *testing.T) {
	ts := startServer(t, t.TempDir(), testConfig())
	ts.addUser("alice", "pw", "ops")
	ts.addUser("bob", "pw", "dev")
	pub := ts.publisher()
	ca := ts.dial(ts.login("alice", "pw"), 0)
	cb := ts.dial(ts.login("bob", "pw"), 0)
	ts.publish(pub, proto.PublishRequest{To: "bob", Message: "bob 1"})
	ts.publish(pub, proto.PublishRequest{Group: "dev", Message: "bob 2"})
	ts.publish(pub, proto.PublishRequest{To: "alice", Message: "alice 1"})
	ts.publish(pub, proto.PublishRequest{All: true, Message: "everyone"})
	for _, want := range []string{"alice 1", "everyone"} {
		if m := next(t, ca); m.Message != want {
			t.Fatalf("alice got %q, want %q", m.Message, want)
		}
	}
	for _, want := range []string{"bob 1", "bob 2", "everyone"} {
		if m := next(t, cb); m.Message != want {
			t.Fatalf("bob got %q, want %q", m.Message, want)
		}
	}
	// And a replay from 0 holds only alice's own messages.
	c := ts.dial(ts.login("alice", "pw"), 0)
	for _, want := range []string{"alice 1", "everyone"} {
		if m := next(t, c); m.Message != want {
			t.Fatalf("alice replay got %q, want %q", m.Message, want)
		}
	}
}

func TestLogoutRevokesTheTokenAndClosesItsSocketsWith4001(t *testing.T) {
	ts := startServer(t, t.TempDir(), testConfig())
	ts.addUser("alice", "pw")
	tok1, tok2, pub := ts.login("alice", "pw"), ts.login("alice", "pw"), ts.publisher()
	c1, c1b, c2 := ts.dial(tok1, 0), ts.dial(tok1, 0), ts.dial(tok2, 0)
	if code, _, body := ts.post(proto.PathLogout, tok1, ""); code != http.StatusNoContent {
		t.Fatalf("logout: %d %s", code, body)
	}
	for _, c := range []*websocket.Conn{c1, c1b} {
		if code := closeCode(t, c, 5*time.Second); code != proto.CloseTokenRevoked {
			t.Fatalf("close code %d, want %d", code, proto.CloseTokenRevoked)
		}
	}
	if _, code, err := ts.dialStatus(tok1, 0, nil); err == nil || code != http.StatusUnauthorized {
		t.Fatalf("revoked token dial: %d %v", code, err)
	}
	if code, _, _ := ts.post(proto.PathLogout, tok1, ""); code != http.StatusUnauthorized {
		t.Fatalf("second logout: %d", code)
	}
	ts.publish(pub, proto.PublishRequest{To: "alice", Message: "still here"})
	if m := next(t, c2); m.Message != "still here" {
		t.Fatalf("other session: %+v", m)
	}
}

func TestSlowClientIsDisconnectedWithoutBlockingOthers(t *testing.T) {
	cfg := testConfig()
	cfg.QueueLen = 4
	cfg.MaxMessage = 60 << 10
	cfg.MaxRequest = 128 << 10
	ts := startServer(t, t.TempDir(), cfg)
	ts.addUser("alice", "pw")
	tok, pub := ts.login("alice", "pw"), ts.publisher()
	slow := ts.dial(tok, 0) // never reads until the server gave up on it
	fast := ts.dial(tok, 0)
	body := strings.Repeat("x", 60<<10)
	received := make(chan uint64, 4096)
	go func() {
		for {
			fast.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, b, err := fast.ReadMessage()
			if err != nil {
				close(received)
				return
			}
			if k, m, err := proto.DecodeFrame(b); err == nil && k == proto.FrameMessage {
				received <- m.ID
			}
		}
	}()
	// Publishing never waits for the slow client: its queue (4) fills and it
	// is dropped, so a bounded number of publishes must get there. (How
	// long a publish takes is the benchmark's figure, not this test's.)
	published := 0
	for counter(t, ts, "tidings_slow_consumers_total") < 1 {
		if published == 2000 {
			t.Fatalf("slow client not dropped after %d messages", published)
		}
		ts.publish(pub, proto.PublishRequest{To: "alice", Message: body})
		published++
	}
	// The fast client got every message, in order, while the slow one was stuck.
	for want := uint64(1); want <= uint64(published); want++ {
		select {
		case id, ok := <-received:
			if !ok || id != want {
				t.Fatalf("fast client: got %d (open %v), want %d", id, ok, want)
			}
		case <-time.After(testkit.Patience()):
			t.Fatalf("fast client stalled at %d of %d", want, published)
		}
	}
	t.Logf("slow client dropped after %d messages of 60 KiB", published)
	// The slow client, once it reads, finds its socket closed with 4002.
	if code := closeCode(t, slow, 10*time.Second); code != proto.CloseSlowConsumer {
		t.Fatalf("slow client close code %d, want %d", code, proto.CloseSlowConsumer)
	}
	// It reconnects and catches up from the store.
	c := ts.dial(tok, uint64(published-1))
	if m := next(t, c); m.ID != uint64(published) {
		t.Fatalf("catch-up got %d want %d", m.ID, published)
	}
}

func TestRestartKeepsStoredMessagesAndGivesEachSocketItsOwnReconnectSlot(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig()
	cfg.RestartSpread = 2 * time.Second
	// The server's clock stops when the shutdown begins, so every close
	// reason is written at the same instant and the slots it names are
	// exactly what restartSlots decided, whatever the machine's load.
	var frozen atomic.Pointer[time.Time]
	clock := func() time.Time {
		if at := frozen.Load(); at != nil {
			return *at
		}
		return time.Now()
	}
	ts := startServerWith(t, dir, cfg, "127.0.0.1:0", &testkit.Buffer{}, nil, clock)
	ts.addUser("alice", "pw")
	tok, pub := ts.login("alice", "pw"), ts.publisher()
	c := ts.dial(tok, 0)
	for i := 1; i <= 3; i++ {
		ts.publish(pub, proto.PublishRequest{To: "alice", Message: fmt.Sprint(i)})
		next(t, c)
	}
	const others = 3 // four desktops of one user
	socks := []*websocket.Conn{c}
	for range others {
		socks = append(socks, ts.dial(tok, 3))
	}
	// registered: a socket still being set up when the shutdown begins is
	// refused with 1001 instead (no slot was made for it)
	testkit.Eventually(t, "4 sockets registered", func() bool { return ts.s.ConnectedClients() == len(socks) })
	type frame struct {
		code int
		text string
		at   time.Time
	}
	frames := make(chan frame, len(socks))
	for _, s := range socks {
		go func() { code, text := closeFrame(t, s, testkit.Patience()); frames <- frame{code, text, time.Now()} }()
	}
	stopped := time.Now()
	frozen.Store(&stopped)
	ts.close()
	var slots []time.Time // the instant each was told to dial, on the server's stopped clock
	for range socks {
		f := <-frames
		if f.code != proto.CloseServiceRestart {
			t.Fatalf("close code %d (%q), want 1012", f.code, f.text)
		}
		h, err := proto.ParseRestartHint(f.text)
		if err != nil {
			t.Fatalf("close reason %q: %v", f.text, err)
		}
		if h.Every() != cfg.RestartSpread {
			t.Errorf("period %v, want the configured %v", h.Every(), cfg.RestartSpread)
		}
		slots = append(slots, stopped.Add(h.RetryIn()))
	}
	slices.SortFunc(slots, func(a, b time.Time) int { return a.Compare(b) })
	for i := 1; i < len(slots); i++ { // evenly spaced: 2 s / 4, to the millisecond of the hint
		if gap := slots[i].Sub(slots[i-1]); gap < 499*time.Millisecond || gap > 501*time.Millisecond {
			t.Errorf("slot %d: %v after the one before, want 500 ms", i, gap)
		}
	}
	if first := slots[0].Sub(stopped); first < 0 || first > 500*time.Millisecond {
		t.Errorf("first slot %v after the shutdown, want within the first quarter of the period", first)
	}
	ts2 := startServer(t, dir, testConfig())
	c2 := ts2.dial(tok, 1) // the session survives the restart too
	for want := uint64(2); want <= 3; want++ {
		if m := next(t, c2); m.ID != want || m.Message != fmt.Sprint(want) {
			t.Fatalf("after restart got %+v want %d", m, want)
		}
	}
	ts2.publish(pub, proto.PublishRequest{To: "alice", Message: "4"})
	if m := next(t, c2); m.ID != 4 {
		t.Fatalf("ids continue after restart: %+v", m)
	}
}

func TestRestartSlotsSpreadClientsEvenlyOverAPeriodThatGrowsWithThem(t *testing.T) {
	spread := 1750 * time.Millisecond
	for _, tt := range []struct {
		name    string
		n, rate int
		offset  float64
		every   time.Duration
	}{
		{"one client", 1, 1000, 0.5, spread},
		{"200 clients: the minimum period", 200, 1000, 0.3, spread},
		{"10 000 clients at 1 000 dials/s", 10_000, 1000, 0.999, 10 * time.Second},
		{"1 000 clients at 1 dial/s: the period is capped", 1000, 1, 0, proto.MaxRestartEvery},
	} {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Unix(1_800_000_000, 0)
			slots := restartSlots(tt.n, start, spread, tt.rate, tt.offset)
			if len(slots) != tt.n {
				t.Fatalf("%d slots for %d clients", len(slots), tt.n)
			}
			hints := make([]proto.RestartHint, tt.n)
			per100ms := map[int64]int{}
			for i, slot := range slots {
				h := slot.hint(start)
				hints[i] = h
				// a close written a period and 2 s late names the point of
				// the slot's grid that comes next
				late := slot.hint(start.Add(tt.every + 2*time.Second))
				want := (h.RetryIn() - 2*time.Second%tt.every + tt.every) % tt.every
				if got := late.RetryIn(); got != want && want != 0 {
					t.Fatalf("slot %d sent late: first wait %v, want %v (the same point of a later period)", i, got, want)
				}
				if h.Every() != tt.every {
					t.Fatalf("hint %d: period %v, want %v", i, h.Every(), tt.every)
				}
				if _, err := proto.ParseRestartHint(h.String()); err != nil {
					t.Fatalf("hint %d does not parse: %v", i, err)
				}
				if i > 0 && h.RetryInMs < hints[i-1].RetryInMs {
					t.Fatalf("slots out of order at %d", i)
				}
				per100ms[h.RetryInMs/100]++
			}
			limit := max(1, int(math.Ceil(float64(tt.n)*0.1/tt.every.Seconds()*1.01)))
			for b, k := range per100ms {
				if k > limit {
					t.Errorf("%d of %d clients dial in the 100 ms from %d ms; even spacing allows %d", k, tt.n, b*100, limit)
				}
			}
		})
	}
}

func TestRetentionKeepsOnlyTheNewestMessages(t *testing.T) {
	cfg := testConfig()
	cfg.Retention.MaxCount = 2
	cfg.PruneEvery = 5 * time.Millisecond
	ts := startServer(t, t.TempDir(), cfg)
	ts.addUser("alice", "pw")
	tok, pub := ts.login("alice", "pw"), ts.publisher()
	for i := 1; i <= 5; i++ {
		ts.publish(pub, proto.PublishRequest{To: "alice", Message: fmt.Sprint(i)})
	}
	testkit.Eventually(t, "retention", func() bool {
		msgs, err := ts.st.Since(t.Context(), "alice", 0, 10)
		return err == nil && len(msgs) == 2
	})
	c := ts.dial(tok, 0)
	for want := uint64(4); want <= 5; want++ {
		if m := next(t, c); m.ID != want {
			t.Fatalf("got %+v want %d", m, want)
		}
	}
}

func TestSilentClientIsDroppedAfterPongWait(t *testing.T) {
	cfg := testConfig()
	cfg.PingPeriod = 30 * time.Millisecond
	cfg.PongWait = 150 * time.Millisecond
	ts := startServer(t, t.TempDir(), cfg)
	ts.addUser("alice", "pw")
	c := ts.dial(ts.login("alice", "pw"), 0)
	c.SetPingHandler(func(string) error { return nil }) // never answers
	testkit.Eventually(t, "the silent client to be dropped", func() bool { return ts.s.ConnectedClients() == 0 })
	// A client that answers pings stays.
	c2 := ts.dial(ts.login("alice", "pw"), 0)
	go func() {
		for {
			if _, _, err := c2.ReadMessage(); err != nil {
				return
			}
		}
	}()
	testkit.Eventually(t, "the second client to register", func() bool { return ts.s.ConnectedClients() == 1 })
	deadline := time.After(600 * time.Millisecond) // four pong waits
	for {
		select {
		case <-deadline:
			return
		default:
			if ts.s.ConnectedClients() != 1 {
				t.Fatal("a client answering pings was dropped")
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

func TestTheDropSlotsOfTheSocketsOpenAtAnyTimeAreSpreadEvenly(t *testing.T) {
	spread := 1750 * time.Millisecond
	const n = 200
	for _, first := range []uint64{1, 12_345, 1 << 40, 1<<63 - 77, rand.Uint64()} { // any run of consecutive upgrades
		var at []time.Time
		t0 := time.Unix(0, 0)
		for k := first; k < first+n; k++ {
			h := dropSlot(k, n, spread, 1000)
			if h.Every() != spread || h.RetryIn() < 0 || h.RetryIn() >= spread {
				t.Fatalf("socket %d: %+v", k, h)
			}
			at = append(at, t0.Add(h.RetryIn()))
			// the grid repeats every period: count the wrap-around too
			at = append(at, t0.Add(h.RetryIn()+spread))
		}
		// evenly spaced would be 200·0.1/1.75 ≈ 11.4 per 100 ms
		p := peak.PerWindow(at, 100*time.Millisecond)
		t.Logf("upgrades %d…: peak %d slots per 100 ms", first, p)
		if p > 13 {
			t.Errorf("upgrades %d…: %d of %d slots within 100 ms, want at most 13 (evenly spaced: 11.4)", first, p, n)
		}
	}
	if h := dropSlot(7, 10_000, spread, 1000); h.Every() != 10*time.Second {
		t.Errorf("10 000 sockets at 1 000 dials/s: period %v, want 10 s", h.Every())
	}
}
