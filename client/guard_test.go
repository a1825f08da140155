package client

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/tidings-app/tidings/account"
	"github.com/tidings-app/tidings/conn"
	"github.com/tidings-app/tidings/history"
	"github.com/tidings-app/tidings/internal/desktoptest"
	"github.com/tidings-app/tidings/internal/servertest"
	"github.com/tidings-app/tidings/internal/testkit"
	"github.com/tidings-app/tidings/notifier"
)

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd on this OS")
	}
	return len(ents)
}

// The regression guard `make test` keeps for the benchmarks' cheap
// invariants (not timing-based): reconnecting again and again through the
// whole client — supervisor, pipeline, history, notifier — leaves no
// goroutine and no file descriptor behind.
func TestReconnectCyclesLeaveNoGoroutinesOrOpenFilesBehind(t *testing.T) {
	desktoptest.Require(t)
	dir := t.TempDir()
	cfg := servertest.Config(200 * time.Millisecond)
	srv := servertest.StartAt(t, filepath.Join(dir, "server"), "127.0.0.1:0", cfg)
	addr := srv.Addr
	srv.AddUser("gina", "pw-gina-123")
	pub := srv.Publisher()
	r := newRig(t, filepath.Join(dir, "client"), testkit.NewRecorder[notifier.Popup]())
	if err := r.c.Login(context.Background(), account.LoginInput{Server: srv.URL, Protocol: account.Native,
		Username: "gina", Password: account.NewSecret("pw-gina-123")}); err != nil {
		t.Fatal(err)
	}
	r.waitState(conn.StateConnected)
	stored := 0
	cycle := func() {
		srv.Close()
		r.waitState(conn.StateReconnecting)
		srv = servertest.StartAt(t, filepath.Join(dir, "server"), addr, cfg)
		r.waitState(conn.StateConnected)
		srv.Send(pub, servertest.Message{To: "gina", Title: fmt.Sprintf("after restart %d", stored), Body: "b"})
		stored++
		testkit.Eventually(t, "the message stored", func() bool { return count(t, r.hist) == stored })
	}
	cycle() // warm-up: lazily started goroutines and pooled connections exist from here on
	baseG, baseFD := runtime.NumGoroutine(), openFDs(t)
	const cycles = 10
	for range cycles {
		cycle()
	}
	// A leak of one per cycle would show as ≥ 10; the slack of 2 covers
	// goroutines that come and go (an idle HTTP connection of the last
	// publish being closed).
	const slack = 2
	var g, fd int
	if !testkit.WaitUntil(testkit.Patience(), func() bool {
		g, fd = runtime.NumGoroutine(), openFDs(t)
		return g <= baseG+slack && fd <= baseFD+slack
	}) {
		buf := make([]byte, 1<<20)
		t.Fatalf("after %d reconnect cycles: %d goroutines (was %d), %d fds (was %d)\n%s",
			cycles, g, baseG, fd, baseFD, buf[:runtime.Stack(buf, true)])
	}
}

// A burst far larger than one history batch goes through the pipeline in
// batches of at most batchMax, and leaves its queue empty with the burst's
// backing array released. (The notifier's own queue is bounded; notifier's
// tests check that what does not fit is kept in history only.)
func TestABurstDrainsThePipelineInBoundedBatchesAndReleasesItsQueue(t *testing.T) {
	hist, err := history.Open(context.Background(), history.Config{Path: filepath.Join(t.TempDir(), history.FileName)})
	if err != nil {
		t.Fatal(err)
	}
	defer hist.Close()
	rec := testkit.NewRecorder[notifier.Popup]()
	disp, err := notifier.NewDispatcher(notifier.Config{Notifier: rec, QueueSize: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer disp.Close()
	p := newPipeline(hist, disp, slog.New(slog.DiscardHandler), 0, nil, nil)
	const n = 5 * batchMax
	for i := range n {
		p.push(conn.Message{Server: "s", ID: fmt.Sprint(i + 1), Title: "t", Body: "b", Source: "burst"})
	}
	if got := len(p.queue); got != n {
		t.Fatalf("queue holds %d, want %d (push must never drop)", got, n)
	}
	batches := 0
	for b, _, _ := p.take(); b != nil; b, _, _ = p.take() {
		if len(b) > batchMax {
			t.Fatalf("a batch of %d, more than %d", len(b), batchMax)
		}
		p.store1(context.Background(), b)
		batches++
	}
	if batches != n/batchMax {
		t.Fatalf("%d batches, want %d", batches, n/batchMax)
	}
	if p.queue != nil {
		t.Fatalf("queue not released after the burst: len %d cap %d", len(p.queue), cap(p.queue))
	}
	if c := count(t, hist); c != n {
		t.Fatalf("%d stored, want %d", c, n)
	}
}
