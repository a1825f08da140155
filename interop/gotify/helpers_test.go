package gotifyinterop

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tidings-app/tidings/conn"
	"github.com/tidings-app/tidings/internal/testkit"
)

// unit is one real-world second in the scaled tests.
const unit = 10 * time.Millisecond

var logs struct {
	sync.Mutex
	bytes.Buffer
	tokens []string
}

type logWriter struct{}

func (logWriter) Write(p []byte) (int, error) {
	logs.Lock()
	defer logs.Unlock()
	return logs.Buffer.Write(p)
}

func remember(token string) {
	logs.Lock()
	logs.tokens = append(logs.tokens, token)
	logs.Unlock()
}

// TestMain checks, after every test, that no client token reached a log
// line and that no goroutine was left behind.
func TestMain(m *testing.M) {
	code := m.Run()
	logs.Lock()
	text := logs.String()
	for _, tok := range logs.tokens {
		if n := strings.Count(text, tok); n > 0 {
			fmt.Printf("FAIL: a client token appears %d times in %d bytes of logs\n", n, len(text))
			code = 1
		}
	}
	fmt.Printf("secret hygiene: %d tokens, 0 found in %d bytes of debug logs\n", len(logs.tokens), len(text))
	logs.Unlock()
	if code == 0 {
		// http.DefaultClient's idle connections close on their own
		http.DefaultClient.CloseIdleConnections()
		if err := testkit.FindLeaks(goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
			goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop")); err != nil {
			fmt.Printf("FAIL: goroutines left behind: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// waitUntil polls pred until it holds or the guard of timeout passes
// (testkit.Guard: a minute unless the run is timed).
func waitUntil(timeout time.Duration, pred func() bool) bool {
	return testkit.WaitUntil(testkit.Guard(timeout), pred)
}

// pause paces a scenario (how long a fault lasts); never synchronisation.
func pause(d time.Duration) { time.Sleep(d) }

// recorder is a conn.Sink keeping every event.
type recorder struct {
	mu     sync.Mutex
	states []conn.Status
	msgs   []conn.Message
	shorts []conn.ShortCatchUp
}

func (r *recorder) sink(e conn.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch e.Kind {
	case conn.EventState:
		r.states = append(r.states, e.Status)
	case conn.EventMessage:
		r.msgs = append(r.msgs, e.Message)
	case conn.EventShort:
		r.shorts = append(r.shorts, *e.Short)
	}
}

func (r *recorder) waitFor(timeout time.Duration, pred func(r *recorder) bool) bool {
	return waitUntil(timeout, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return pred(r)
	})
}

func (r *recorder) state() conn.State {
	if len(r.states) == 0 {
		return conn.StateStopped
	}
	return r.states[len(r.states)-1].State
}

func (r *recorder) connected() int {
	n := 0
	for _, s := range r.states {
		if s.State == conn.StateConnected {
			n++
		}
	}
	return n
}

func (r *recorder) messages() []conn.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]conn.Message(nil), r.msgs...)
}

func (r *recorder) statesSince(t time.Time) []conn.Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []conn.Status
	for _, s := range r.states {
		if s.Since.After(t) {
			out = append(out, s)
		}
	}
	return out
}

// fixture is a real Gotify server with one user, one client token and one
// application.
type fixture struct {
	srv      *Server
	user     uint
	clientID uint
	token    string
	appToken string
}

func newFixture(t *testing.T, cfg Config) *fixture {
	t.Helper()
	srv, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Kill)
	f := &fixture{srv: srv, user: srv.CreateUser("alice", "pw")}
	f.clientID, f.token = srv.CreateClient(f.user, "Tidings")
	_, f.appToken = srv.CreateApplication(f.user, "Backups", "")
	remember(f.token)
	return f
}

func (f *fixture) publish(t *testing.T, body string) uint {
	t.Helper()
	id, err := f.srv.Publish(f.appToken, map[string]any{"title": "t", "message": body})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func gotifyTiming() Config { return Config{PingPeriod: 45 * unit, PongTimeout: 15 * unit} }

// clientConfig is conn's defaults scaled by unit, with the Gotify adapter.
func clientConfig(server, token string) conn.Config {
	return conn.Config{
		Server:           server,
		Adapter:          conn.NewGotifyAdapter(),
		Token:            conn.NewSecret(token),
		PingInterval:     15 * unit,
		DeadAfter:        25 * unit,
		HandshakeTimeout: 10 * unit,
		WriteTimeout:     5 * unit,
		ProbeTimeout:     unit / 2,
		BackoffBase:      unit / 2,
		BackoffCap:       30 * unit,
		StableAfter:      30 * unit,
		CatchUpRecheck:   20 * unit,
		MaxAttempts:      -1,
		Logger:           slog.New(slog.NewTextHandler(logWriter{}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

func start(t *testing.T, cfg conn.Config, rec *recorder) *conn.Supervisor {
	t.Helper()
	cfg.Sink = rec.sink
	sup, err := conn.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := sup.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sup.Stop)
	return sup
}

// checkSequence checks that msgs are exactly the ids want, in order.
func checkSequence(t *testing.T, msgs []conn.Message, want []uint) (dup int) {
	t.Helper()
	seen := map[string]int{}
	for _, m := range msgs {
		if seen[m.ID]++; seen[m.ID] > 1 {
			dup++
		}
	}
	if dup > 0 {
		t.Errorf("%d messages shown twice", dup)
	}
	if len(msgs) != len(want) {
		t.Errorf("delivered %d, want %d", len(msgs), len(want))
		return dup
	}
	for i, id := range want {
		if msgs[i].ID != strconv.FormatUint(uint64(id), 10) {
			t.Errorf("message %d has id %s, want %d: out of order or a gap", i, msgs[i].ID, id)
			return dup
		}
	}
	return dup
}
