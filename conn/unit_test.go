package conn

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tidings-app/tidings/proto"
)

func TestSecretPrintsRedactedEverywhere(t *testing.T) {
	const tok = "tdt_very-secret"
	s := NewSecret(tok)
	type holder struct {
		Token Secret
	}
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "token", s, "holder", holder{s})
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "token", s, "holder", holder{s})
	j, _ := json.Marshal(holder{s})
	outs := []string{
		s.String(), fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s %q %x %X %d", s, s, s, s, s, s, s, s),
		fmt.Sprintf("%v %+v %#v", holder{s}, &holder{s}, holder{s}),
		fmt.Errorf("dial with %v failed", s).Error(), logs.String(), string(j),
	}
	for _, o := range outs {
		if strings.Contains(o, tok) || strings.Contains(o, fmt.Sprintf("%x", tok)) {
			t.Fatalf("secret leaked: %s", o)
		}
	}
	if s.Reveal() != tok {
		t.Fatal("Reveal lost the value")
	}
}

func TestTokenTravelsOnlyInAHeader(t *testing.T) {
	base, _ := url.Parse("wss://push.example/base/")
	ntfy, err := NewNtfyAdapter([]string{"alerts"})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []Adapter{NativeAdapter{}, NewGotifyAdapter(), ntfy} {
		u, h := a.Endpoint(base, NewSecret(testToken), "41")
		if strings.Contains(u.String(), testToken) {
			t.Errorf("%T: token in URL %s", a, u)
		}
		found := false
		for _, v := range h {
			found = found || strings.Contains(strings.Join(v, ""), testToken)
		}
		if !found {
			t.Errorf("%T: token not in headers", a)
		}
		if !strings.HasPrefix(u.Path, "/base/") || h.Get("Origin") != "" {
			t.Errorf("%T: url %s origin %q", a, u, h.Get("Origin"))
		}
	}
	u, _ := NativeAdapter{}.Endpoint(base, NewSecret("x"), "41")
	if u.String() != "wss://push.example/base/ws?since=41" {
		t.Errorf("native endpoint %s", u)
	}
}

func TestBackoffWindowDoublesUpToTheCap(t *testing.T) {
	base, capD := 500*time.Millisecond, 30*time.Second
	for _, tt := range []struct {
		attempt int
		want    time.Duration
	}{{0, base}, {1, base}, {2, time.Second}, {3, 2 * time.Second}, {7, capD}, {8, capD}, {1000, capD}} {
		if got := backoffWindow(tt.attempt, base, capD); got != tt.want {
			t.Errorf("attempt %d: %s, want %s", tt.attempt, got, tt.want)
		}
	}
	if d := backoffDelay(3, base, capD, 0.5); d != time.Second {
		t.Errorf("delay %s", d)
	}
}

func TestEveryEndingIsClassified(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want action
	}{
		{"stop", ErrStopped, actStop},
		{"401", &HTTPError{Status: 401}, actAuth},
		{"403", &HTTPError{Status: 403}, actAuth},
		{"429", &HTTPError{Status: 429, RetryAfter: time.Second}, actBackoff},
		{"503", &HTTPError{Status: 503}, actBackoff},
		{"4001 token revoked", &CloseError{Code: proto.CloseTokenRevoked}, actAuth},
		{"4002 slow consumer", &CloseError{Code: proto.CloseSlowConsumer}, actBackoff},
		{"4003 retry elsewhere", &CloseError{Code: proto.CloseRetryElsewhere}, actNow},
		{"1001 going away", &CloseError{Code: websocket.CloseGoingAway}, actBackoff},
		{"1009 too big", &CloseError{Code: websocket.CloseMessageTooBig}, actBackoff},
		{"3501 do not reconnect", &CloseError{Code: 3501}, actOffline},
		{"4501 do not reconnect", &CloseError{Code: 4501}, actOffline},
		{"dead link", ErrDeadLink, actBackoff},
		{"probe", ErrProbeFailed, actNow},
		{"wrapped tls", fmt.Errorf("%w: x", ErrTLS), actBackoff},
		{"insecure url", ErrInsecureURL, actOffline},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := classify(tt.err); got != tt.want {
				t.Fatalf("classify = %d, want %d", got, tt.want)
			}
			if tt.err != ErrStopped && Explain(tt.err) == "" {
				t.Fatal("no explanation")
			}
		})
	}
}

func TestRetryAfterIsReadAsSecondsOrDate(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"": 0, "7": 7 * time.Second, "-3": 0, "soon": 0,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Hour).Format(http.TimeFormat):       0,
	} {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("%q: %s, want %s", in, got, want)
		}
	}
}

func TestRetryAfterRaisesTheDelayAndIsCapped(t *testing.T) {
	c := Config{Rand: func() float64 { return 0.5 }}.withDefaults()
	if d, floor := nextDelay(&HTTPError{Status: 429, RetryAfter: 20 * time.Second}, 1, &c); d != 20*time.Second || !floor {
		t.Errorf("%s %v", d, floor)
	}
	if d, _ := nextDelay(&HTTPError{Status: 503, RetryAfter: 24 * time.Hour}, 1, &c); d != DefaultRetryAfterMax {
		t.Errorf("huge Retry-After gave %s", d)
	}
	if d, floor := nextDelay(ErrDeadLink, 3, &c); d != time.Second || floor {
		t.Errorf("%s %v", d, floor)
	}
}

func TestServerURLPolicy(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		insecure bool
		err      error
	}{
		{in: "https://push.example", want: "wss://push.example"},
		{in: "wss://push.example:8443/sub", want: "wss://push.example:8443/sub"},
		{in: "http://127.0.0.1:8080", want: "ws://127.0.0.1:8080"},
		{in: "ws://localhost", want: "ws://localhost"},
		{in: "http://push.example", err: ErrInsecureURL},
		{in: "http://push.example", insecure: true, want: "ws://push.example"},
		{in: "ws://127.0.0.1.evil.example", err: ErrInsecureURL},
		{in: "https://user:pw@push.example", err: ErrBadURL},
		{in: "ftp://push.example", err: ErrBadURL},
		{in: "push.example", err: ErrBadURL},
		{in: "https://push.example/?token=x", want: "wss://push.example/"},
	} {
		u, err := serverURL(tt.in, tt.insecure)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("%s: err %v, want %v", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || u.String() != tt.want {
			t.Errorf("%s: %v %v, want %s", tt.in, u, err, tt.want)
		}
	}
}

func TestLedgerDropsRepeatsForOrderedAndUnorderedIds(t *testing.T) {
	l := newLedger(true, 4, "10")
	for _, tt := range []struct {
		id     string
		repeat bool
	}{
		{"9", true},   // older than everything remembered
		{"10", true},  // the resume point
		{"11", false}, // new
		{"13", false}, // new, skipping 12
		{"12", false}, // late but never delivered (two publishers, a re-check): new
		{"12", true},
		{"14", false},
		{"15", false}, // 10 and 11 leave the window of 4
		{"11", true},  // older than the window: assumed delivered
	} {
		if got := l.repeat(tt.id); got != tt.repeat {
			t.Errorf("ordered %s: repeat %v, want %v", tt.id, got, tt.repeat)
		}
		if !tt.repeat {
			l.record(tt.id)
		}
	}
	if l.last != "15" {
		t.Errorf("last %s, want the highest id", l.last)
	}
	u := newLedger(false, 3, "")
	for _, id := range []string{"Zx1", "aB2", "c3C"} {
		u.record(id)
	}
	if !u.repeat("aB2") || u.repeat("new") || u.last != "c3C" {
		t.Error("unordered ledger")
	}
	u.record("d4") // pushes Zx1 out of the window
	if u.repeat("Zx1") {
		t.Error("window not bounded")
	}
}

func TestDecodeErrorsNeverContainFrameContent(t *testing.T) {
	secret := "PRIVATE-content-91"
	for _, a := range []Adapter{NativeAdapter{}, NewGotifyAdapter()} {
		for _, in := range []string{secret, `{"id":"` + secret + `"}`, `{"id":1,"title":["` + secret + `"]}`, `{"id":1,"priority":"` + secret + `"}`} {
			if _, err := a.Decode([]byte(in)); err == nil || strings.Contains(err.Error(), secret) {
				t.Errorf("%T %q: %v", a, in, err)
			}
		}
	}
}

func TestClockJumpDetectorKicksOnlyOnAJump(t *testing.T) {
	ticks := make(chan time.Time)
	var mu sync.Mutex
	wall := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mono time.Duration
	kicks := make(chan string, 4)
	d := &ClockJumpDetector{Threshold: 3 * time.Second, ticks: ticks,
		wall: func() time.Time { mu.Lock(); defer mu.Unlock(); return wall },
		mono: func() time.Duration { mu.Lock(); defer mu.Unlock(); return mono }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- d.Watch(ctx, func(r string) { kicks <- r }) }()
	// The clocks move, then a tick makes the detector compare them.
	advance := func(w, m time.Duration) {
		mu.Lock()
		wall, mono = wall.Add(w), mono+m
		mu.Unlock()
		ticks <- time.Time{}
	}
	advance(5*time.Second, 5*time.Second)           // normal tick
	advance(7*time.Second, 5*time.Second)           // 2 s drift: under the threshold
	advance(time.Hour+5*time.Second, 5*time.Second) // slept an hour
	advance(-10*time.Second, 5*time.Second)         // clock set back 15 s
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(kicks) != 2 {
		t.Fatalf("%d kicks, want 2 (sleep and clock change)", len(kicks))
	}
}

func TestSinkContract(t *testing.T) {
	srv := newTestServer(t, testToken)
	rec := newRecorder()
	sup := startSupervisor(t, scaledConfig(srv.url(), unit), rec)
	for range 200 {
		srv.publish("x")
	}
	if !rec.waitFor(3*time.Second, func(r *recorder) bool { return len(r.msgs) == 200 }) {
		t.Fatal("not delivered")
	}
	sup.Kick() // probes from another goroutine while messages flow
	sup.Stop()
	sup.Stop() // idempotent
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.overlap.Load() {
		t.Error("Sink was called concurrently")
	}
	if rec.state() != StateStopped {
		t.Errorf("last event %v, want stopped", rec.state())
	}
	if err := sup.Start(); !errors.Is(err, ErrAlreadyStart) {
		t.Errorf("Start after Stop: %v", err)
	}
}

// The recorder behind TestSinkContract must see a breach: called from
// eight goroutines at once, it reports the overlap. (The recorder before
// this one set its flag under its own lock and never could.)
func TestTheRecorderSeesConcurrentSinkCalls(t *testing.T) {
	rec := newRecorder()
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 8 {
		wg.Go(func() {
			<-start
			for i := 0; i < 2000 && !rec.overlap.Load(); i++ {
				rec.sink(Event{Kind: EventMessage, Message: Message{ID: "x"}})
			}
		})
	}
	close(start)
	wg.Wait()
	if !rec.overlap.Load() {
		t.Fatal("8 goroutines called the Sink at once and the recorder saw no overlap")
	}
}

func TestNewRejectsAMissingAdapter(t *testing.T) {
	if _, err := New(Config{Server: "wss://x.example"}); !errors.Is(err, ErrNoAdapter) {
		t.Fatal(err)
	}
}

func FuzzNativeAdapterDecode(f *testing.F) {
	f.Add([]byte("HeartBeat\n"))
	f.Add([]byte(`{"id":1,"time":"2026-11-25T10:00:00Z","title":"t","message":"b","priority":3,"url":"javascript:x","content_type":"text/markdown"}`))
	f.Add([]byte(`{"id":18446744073709551615,"message":"\u202e"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := NativeAdapter{}.Decode(b)
		if err != nil {
			if !errors.Is(err, ErrBadFrame) {
				t.Fatalf("error not wrapped: %v", err)
			}
			return
		}
		if fr.Kind == FrameMessage && (fr.Message.ID == "" || fr.Message.ID == "0" || fr.Message.Priority < PriorityMin || fr.Message.Priority > PriorityUrgent) {
			t.Fatalf("accepted invalid %+v", fr.Message)
		}
	})
}

func TestARestartScheduleDialsOnItsGridAndThenStepsAside(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	ms := time.Millisecond
	g := newRestartGrid(t0, proto.RestartHint{RetryInMs: 300, EveryMs: 1500}, 4, 250*ms)
	for _, tt := range []struct {
		name string
		now  time.Time
		want time.Duration
	}{
		{"right after the close: wait for the slot", t0.Add(10 * ms), 290 * ms},
		{"the slot's dial failed at once: the next period", t0.Add(301 * ms), 1499 * ms},
		{"a dial that took 2 s skips to the next point after it", t0.Add(2300 * ms), 1000 * ms},
		{"exactly on a point: the one after", t0.Add(3300 * ms), 1500 * ms},
	} {
		got, ok := g.next(tt.now)
		if !ok || got != tt.want {
			t.Errorf("%s: %v %v, want %v", tt.name, got, ok, tt.want)
		}
	}
	if d, ok := g.next(t0.Add(5 * time.Second)); ok {
		t.Errorf("after its 4 dials the grid still gave %v", d)
	}
	var none restartGrid
	if _, ok := none.next(t0); ok {
		t.Error("an unset grid gave a dial time")
	}
	fast := newRestartGrid(t0, proto.RestartHint{RetryInMs: 0, EveryMs: 1}, 3, 250*ms)
	fast.next(t0)
	if d, _ := fast.next(t0.Add(ms)); d != 249*ms {
		t.Errorf("a 1 ms period from the server was not raised to 250 ms: next in %v", d)
	}
}

func TestOnlyAWellFormed1012CloseCarriesARestartSchedule(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	for _, tt := range []struct {
		name  string
		code  int
		text  string
		every time.Duration // 0: no schedule
	}{
		{"1012 with a hint", proto.CloseServiceRestart, `{"retry_in_ms":5,"every_ms":1500}`, 1500 * time.Millisecond},
		{"1012 from another server, plain text", proto.CloseServiceRestart, "restarting", 0},
		{"1012 with a hostile hint", proto.CloseServiceRestart, `{"retry_in_ms":9999,"every_ms":10}`, 0},
		{"1001 with a hint is still 1001", websocket.CloseGoingAway, `{"retry_in_ms":5,"every_ms":1500}`, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := readError(&websocket.CloseError{Code: tt.code, Text: tt.text}, now)
			var ce *CloseError
			if !errors.As(err, &ce) || ce.Code != tt.code {
				t.Fatalf("got %v", err)
			}
			switch {
			case tt.every == 0 && ce.Restart != nil:
				t.Fatalf("schedule %+v from %q", *ce.Restart, tt.text)
			case tt.every != 0 && (ce.Restart == nil || ce.Restart.Every() != tt.every || !ce.Received.Equal(now)):
				t.Fatalf("schedule %+v received %v", ce.Restart, ce.Received)
			}
			if strings.Contains(err.Error(), tt.text) {
				t.Fatalf("the error quotes the server's text: %v", err)
			}
		})
	}
}

func TestTheServersScheduleIsFollowedOnlyWhereItApplies(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	cfg := Config{StableAfter: 30 * time.Second, RestartDials: 8, RestartMinEvery: 250 * time.Millisecond, Now: func() time.Time { return t0 }}
	slot := &proto.RestartHint{RetryInMs: 400, EveryMs: 1750}
	restart := &CloseError{Code: proto.CloseServiceRestart, Restart: &proto.RestartHint{RetryInMs: 100, EveryMs: 2000}, Received: t0}
	for _, tt := range []struct {
		name  string
		end   sessionEnd
		act   action
		first time.Duration // wait before the first dial; 0: no schedule
	}{
		{"graceful restart: the close's slot", sessionEnd{up: time.Second, err: restart, dropSlot: slot}, actBackoff, 100 * time.Millisecond},
		{"stable connection reset: the upgrade's slot, from the reset", sessionEnd{up: time.Minute, err: ErrConnLost, dropSlot: slot, readFailed: t0.Add(-50 * time.Millisecond)}, actBackoff, 350 * time.Millisecond},
		{"stable connection gone silent (writer noticed): from now", sessionEnd{up: time.Minute, err: ErrDeadLink, dropSlot: slot}, actBackoff, 400 * time.Millisecond},
		{"a short connection: the usual backoff", sessionEnd{up: 2 * time.Second, err: ErrConnLost, dropSlot: slot}, actBackoff, 0},
		{"a server that gave no slot", sessionEnd{up: time.Minute, err: ErrConnLost}, actBackoff, 0},
		{"a failed dial", sessionEnd{err: ErrConnLost, dropSlot: slot}, actBackoff, 0},
		{"retry elsewhere at once", sessionEnd{up: time.Minute, err: &CloseError{Code: proto.CloseRetryElsewhere}, dropSlot: slot}, actNow, 0},
		{"token revoked", sessionEnd{up: time.Minute, err: &CloseError{Code: proto.CloseTokenRevoked}, dropSlot: slot}, actAuth, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g, ok := gridAfter(tt.end, tt.act, &cfg)
			if tt.first == 0 {
				if ok {
					t.Fatalf("a schedule: %+v", g)
				}
				return
			}
			if d, dialled := g.next(t0); !ok || !dialled || d != tt.first {
				t.Fatalf("first dial in %v (%v, %v), want %v", d, ok, dialled, tt.first)
			}
		})
	}
}
