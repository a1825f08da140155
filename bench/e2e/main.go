//go:build linux

// Command e2e is the end-to-end benchmark harness behind `make bench`. In
// one private desktop (internal/desktoptest: D-Bus session, keyring, Xvfb,
// a recording notification server, a tray watcher) and against a real
// reference server (internal/servertest), it runs the built tidings binary
// and, next to every figure, a baseline measured in the same invocation:
//
//   - latency: publish → server → WebSocket → tidings → Notify, against a
//     raw gorilla/websocket client that calls Notify itself (the floor);
//   - idle cost: tidings connected and idle, against a bare Fyne tray app;
//   - burst: 10 000 messages as fast as possible;
//   - history scale: cold start with 100 000 stored messages, search and
//     first page, against the same with an empty / 1 000-message history;
//   - reconnect: server back up and an injected wake-up, against the
//     original design's fixed 6 s retry;
//   - server capacity: bench/serverload, against the same with 100 clients.
//
// It writes BENCHMARKS.md. BENCH_QUICK=1 scales every duration down.
//
//	go run ./bench/e2e -app out/tidings -bare out/baretray -serverload out/serverload
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/tidings-app/tidings/internal/desktoptest"
)

// scale holds every size and duration, full or quick.
type scale struct {
	quick          bool
	latency        []rateDur
	idle           time.Duration
	burst          int
	historyN       int
	reconnects     int
	core           time.Duration
	serverClients  int
	serverBaseline int
}

type rateDur struct {
	rate float64
	dur  time.Duration
}

func scaleFor(quick bool) scale {
	if quick {
		return scale{quick: true, latency: []rateDur{{1, 10 * time.Second}, {100, 10 * time.Second}, {1000, 5 * time.Second}},
			idle: 15 * time.Second, burst: 2000, historyN: 20_000, reconnects: 2, core: 5 * time.Second, serverClients: 2000, serverBaseline: 100}
	}
	return scale{latency: []rateDur{{1, 60 * time.Second}, {100, 60 * time.Second}, {1000, 15 * time.Second}},
		idle: 60 * time.Second, burst: 10_000, historyN: 100_000, reconnects: 5, core: 20 * time.Second, serverClients: 10_000, serverBaseline: 100}
}

// opts are the harness's inputs.
type opts struct {
	app, bare, serverload string
	historyBench          string
	gotifyload            string
	out, logDir           string
	only                  []string
}

func main() {
	var o opts
	var only string
	flag.StringVar(&o.app, "app", "out/tidings", "the tidings binary")
	flag.StringVar(&o.bare, "bare", "out/baretray", "the bare Fyne tray app (bench/baretray)")
	flag.StringVar(&o.serverload, "serverload", "out/serverload", "the bench/serverload binary (\"\" skips server capacity)")
	flag.StringVar(&o.historyBench, "history", "out/history-bench", "the bench/history binary (\"\" skips it)")
	flag.StringVar(&o.gotifyload, "gotifyload", "out/gotifyload", "the interop/gotify/cmd/gotifyload binary, the Gotify peer (\"\" skips it)")
	flag.StringVar(&o.out, "out", "BENCHMARKS.md", "report file")
	flag.StringVar(&o.logDir, "logs", "out/bench", "directory for the programs' logs")
	flag.StringVar(&only, "only", "", "comma-separated subset: latency,idle,core,burst,scale,reconnect,server,history")
	flag.Parse()
	if only != "" {
		o.only = strings.Split(only, ",")
	}
	if path := os.Getenv("BENCH_CPUPROFILE"); path != "" { // where the harness itself spends its CPU
		f, err := os.Create(path)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer pprof.StopCPUProfile()
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, scaleFor(os.Getenv("BENCH_QUICK") == "1")); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func run(ctx context.Context, o opts, sc scale) error {
	for _, p := range []*string{&o.app, &o.bare, &o.serverload, &o.historyBench, &o.gotifyload} {
		if *p == "" {
			continue
		}
		abs, err := filepath.Abs(*p)
		if err != nil {
			return err
		}
		if _, err := os.Stat(abs); err != nil {
			return fmt.Errorf("%s: %w (run `make bench`, which builds it)", *p, err)
		}
		*p = abs
	}
	if err := os.MkdirAll(o.logDir, 0o755); err != nil {
		return err
	}
	o.logDir, _ = filepath.Abs(o.logDir)
	env, err := desktoptest.Start(desktoptest.Needs{Keyring: true, Display: true})
	if err != nil {
		return fmt.Errorf("private desktop: %w (run scripts/deps)", err)
	}
	defer env.Close()
	desktoptest.Adopt(env)

	r := &report{started: time.Now(), sc: sc}
	want := func(name string) bool { return len(o.only) == 0 || slices.Contains(o.only, name) }
	steps := []struct {
		name string
		fn   func(ctx context.Context, t *tb, o opts, sc scale, r *report)
	}{
		{"idle", benchIdle}, {"latency", benchLatency}, {"core", benchCore}, {"burst", benchBurst},
		{"scale", benchScale}, {"reconnect", benchReconnect}, {"server", benchServer}, {"history", benchHistoryProgram},
	}
	for _, s := range steps {
		if !want(s.name) || ctx.Err() != nil {
			continue
		}
		fmt.Fprintf(os.Stderr, "== %s (load average %s)\n", s.name, loadAvg())
		begin := time.Now()
		if err := guard(s.name, func(t *tb) { s.fn(ctx, t, o, sc, r) }); err != nil {
			fmt.Fprintln(os.Stderr, "  FAILED:", err)
			r.failures = append(r.failures, err.Error())
		}
		r.took = append(r.took, fmt.Sprintf("%s %v", s.name, time.Since(begin).Round(time.Second)))
	}
	r.finished = time.Now()
	if err := r.write(o.out); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s\n", o.out)
	if len(r.failures) > 0 {
		return fmt.Errorf("%d benchmark(s) failed: %s", len(r.failures), strings.Join(r.failures, "; "))
	}
	return nil
}
