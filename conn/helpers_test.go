package conn

import (
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidings-app/tidings/internal/testkit"
)

// TestMain runs the server subprocess when asked to, and prints the
// reliability table after the tests when -v or CONN_RELIABILITY_TABLE=1.
func TestMain(m *testing.M) {
	if os.Getenv(envServerToken) != "" {
		serveSubprocess()
	}
	code := m.Run()
	// Secret hygiene (check 13, the conn part): every Supervisor of every
	// test logged into allLogs at debug level, errors included.
	logs := allLogs.String()
	if n := strings.Count(logs, testToken); len(logs) == 0 {
		// no Supervisor ran (a fuzz run, or -run selecting pure unit tests)
	} else if n > 0 {
		fmt.Printf("FAIL: the token appears %d times in %d bytes of logs\n", n, len(logs))
		code = 1
		table.rows = append(table.rows, checkRow{13, "secret hygiene (conn)", fmt.Sprintf("token found %d times in %d log bytes", n, len(logs)), false})
	} else {
		table.rows = append(table.rows, checkRow{13, "secret hygiene (conn)", fmt.Sprintf("token found 0 times in %d log bytes of all tests", len(logs)), true})
	}
	if testing.Verbose() || os.Getenv("CONN_RELIABILITY_TABLE") != "" {
		printTable()
	}
	os.Exit(code)
}

// unit is one real-world second in the scaled tests: every duration of a
// check is a multiple of it.
const unit = 25 * time.Millisecond

// scaledConfig is the defaults scaled down by u per second.
func scaledConfig(server string, u time.Duration) Config {
	return Config{
		Server:            server,
		Adapter:           NativeAdapter{},
		Token:             NewSecret(testToken),
		PingInterval:      15 * u,
		DeadAfter:         25 * u,
		HandshakeTimeout:  10 * u,
		WriteTimeout:      5 * u,
		ProbeTimeout:      u / 2,
		HeartbeatInterval: 30 * u,
		BackoffBase:       u / 2,
		BackoffCap:        30 * u,
		StableAfter:       30 * u,
		CatchUpRecheck:    20 * u,
		MaxAttempts:       -1,
		RestartMinEvery:   u / 4,
	}
}

const testToken = "tdt_s3cr3t-T0KEN-value"

// recorder is a Sink that keeps every event and lets a test wait for a
// predicate instead of sleeping.
type recorder struct {
	mu     sync.Mutex
	states []Status
	msgs   []Message
	notify chan struct{}
	calls  int

	inSink  atomic.Int32 // callers inside sink now, counted outside mu
	overlap atomic.Bool  // the Sink was called concurrently (a contract breach)
}

func newRecorder() *recorder { return &recorder{notify: make(chan struct{}, 1)} }

func (r *recorder) sink(e Event) {
	// The count is taken outside the recorder's own lock, and the caller
	// yields while inside, so two concurrent callers are seen as two: a
	// Supervisor that called its Sink from two goroutines at once would set
	// overlap here (TestSinkContract).
	if r.inSink.Add(1) > 1 {
		r.overlap.Store(true)
	}
	runtime.Gosched()
	r.mu.Lock()
	r.calls++
	switch e.Kind {
	case EventState:
		r.states = append(r.states, e.Status)
	case EventMessage:
		r.msgs = append(r.msgs, e.Message)
	}
	r.mu.Unlock()
	r.inSink.Add(-1)
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

// waitFor polls pred (under the recorder's lock) on every event and at
// least every 5 ms until it holds or timeout passes. The timeout is a
// liveness guard: testkit.Guard stretches it to a minute unless the run is
// timed (make reliability), so a busy machine never turns it red.
func (r *recorder) waitFor(timeout time.Duration, pred func(r *recorder) bool) bool {
	deadline := time.NewTimer(testkit.Guard(timeout))
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	check := func() bool { // unlock even if pred panics
		r.mu.Lock()
		defer r.mu.Unlock()
		return pred(r)
	}
	for {
		if check() {
			return true
		}
		select {
		case <-r.notify:
		case <-tick.C:
		case <-deadline.C:
			return check()
		}
	}
}

// waitUntil polls pred until it holds or the guard of timeout passes
// (testkit.Guard: a minute unless the run is timed).
func waitUntil(timeout time.Duration, pred func() bool) bool {
	return testkit.WaitUntil(testkit.Guard(timeout), pred)
}

func (r *recorder) last() Status {
	if len(r.states) == 0 {
		return Status{}
	}
	return r.states[len(r.states)-1]
}

func (r *recorder) state() State {
	if len(r.states) == 0 {
		return StateStopped
	}
	return r.states[len(r.states)-1].State
}

// countState counts entries into st.
func (r *recorder) countState(st State) int {
	n := 0
	for _, s := range r.states {
		if s.State == st {
			n++
		}
	}
	return n
}

func (r *recorder) snapshotMsgs() []Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Message(nil), r.msgs...)
}

func (r *recorder) snapshotStates() []Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Status(nil), r.states...)
}

// idsInOrder checks that messages carry ids 1..n exactly once, in order,
// and returns delivered and duplicated counts.
func checkSequence(t *testing.T, msgs []Message, want int) (delivered, dup int) {
	t.Helper()
	seen := map[string]int{}
	for i, m := range msgs {
		seen[m.ID]++
		if seen[m.ID] > 1 {
			dup++
		}
		if m.ID != fmt.Sprint(i+1) && dup == 0 {
			t.Errorf("message %d has id %s: out of order or a gap", i+1, m.ID)
		}
	}
	if len(seen) != want {
		t.Errorf("delivered %d distinct messages, want %d", len(seen), want)
	}
	if dup > 0 {
		t.Errorf("%d messages delivered twice", dup)
	}
	return len(seen), dup
}

var allLogs testkit.Buffer // every Supervisor in every test logs here

func testLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(&allLogs, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// startSupervisor builds, starts and registers Stop for cleanup.
func startSupervisor(t testing.TB, cfg Config, rec *recorder) *Supervisor {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = testLogger()
	}
	if rec != nil {
		cfg.Sink = rec.sink
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// The reliability table.
type checkRow struct {
	n      int
	name   string
	figure string
	pass   bool
}

var table struct {
	sync.Mutex
	rows []checkRow
}

// check registers a row for the table; its pass/fail is the test's.
type check struct {
	t      *testing.T
	mu     sync.Mutex
	figure []string
}

func newCheck(t *testing.T, n int, name string) *check {
	c := &check{t: t}
	t.Cleanup(func() {
		c.mu.Lock()
		fig := strings.Join(c.figure, "; ")
		c.mu.Unlock()
		table.Lock()
		table.rows = append(table.rows, checkRow{n, name, fig, !t.Failed()})
		table.Unlock()
	})
	return c
}

// fig adds a measured figure to the row and to the test log.
func (c *check) fig(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	c.t.Log(s)
	c.mu.Lock()
	c.figure = append(c.figure, s)
	c.mu.Unlock()
}

func printTable() {
	table.Lock()
	defer table.Unlock()
	if len(table.rows) == 0 {
		return
	}
	sort.SliceStable(table.rows, func(i, j int) bool { return table.rows[i].n < table.rows[j].n })
	fmt.Printf("\nRELIABILITY (scaled: 1 s = %s)\n", unit)
	fmt.Printf("%-3s %-22s %-4s %s\n", "#", "check", "ok", "figures")
	for _, r := range table.rows {
		ok := "PASS"
		if !r.pass {
			ok = "FAIL"
		}
		fmt.Printf("%-3d %-22s %-4s %s\n", r.n, r.name, ok, r.figure)
	}
}
