//go:build linux

// Command gotifyload is the peer baseline of bench/serverload: the same
// load — N idle stream WebSockets over 127.0.0.x source addresses, the
// server's RSS per connection, then one message to every user and the
// latency to each client — against Gotify's real stream handler
// (gotifyinterop: Gotify v2.9.1's api/stream, auth and message handlers,
// with an in-memory database). The server runs as a child process so its
// RSS is its own. It prints the same RESULT line as serverload.
//
//	go run ./cmd/gotifyload -n 10000
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	gotifyinterop "github.com/tidings-app/tidings/interop/gotify"
)

func main() {
	n := flag.Int("n", 10000, "idle streams to hold")
	users := flag.Int("users", 100, "users the streams are spread over")
	conc := flag.Int("c", 64, "concurrent dials")
	perIP := flag.Int("per-ip", 20000, "connections per 127.0.0.x source address")
	settle := flag.Duration("settle", 3*time.Second, "wait after connecting before measuring RSS")
	child := flag.Bool("child", false, "internal: run the server")
	flag.Parse()
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) == nil && l.Cur < l.Max {
		l.Cur = l.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
	if *child {
		if err := runChild(*users); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		return
	}
	if max := int(l.Cur) - 256; *n > max {
		fmt.Fprintf(os.Stderr, "gotifyload: RLIMIT_NOFILE is %d: holding only %d streams\n", l.Cur, max)
		*n = max
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *n, *users, *conc, *perIP, *settle); err != nil {
		fmt.Fprintln(os.Stderr, "gotifyload:", err)
		os.Exit(1)
	}
}

// runChild serves Gotify on loopback and prints its address and, per user,
// a client token and an application token.
func runChild(users int) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	srv, err := gotifyinterop.Start(gotifyinterop.Config{PingPeriod: 45 * time.Second, PongTimeout: 15 * time.Second}) // Gotify's defaults
	if err != nil {
		return err
	}
	fmt.Println("ADDR", srv.Addr)
	for i := range users {
		uid := srv.CreateUser(fmt.Sprintf("user%05d", i), "pw")
		_, ct := srv.CreateClient(uid, "desktop")
		_, at := srv.CreateApplication(uid, "bench", "")
		fmt.Println("TOKENS", ct, at)
	}
	fmt.Println("READY")
	for {
		select {
		case <-ctx.Done():
			srv.Kill()
			return nil
		case <-usr1:
			runtime.GC()
			debug.FreeOSMemory()
			fmt.Println("FREED")
		}
	}
}

func rssKiB(pid int) int64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return n
		}
	}
	return 0
}

func run(ctx context.Context, n, users, conc, perIP int, settle time.Duration) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, "-child", "-users", strconv.Itoa(users))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}()
	lines := bufio.NewScanner(out)
	var addr string
	var clients, apps []string
	for lines.Scan() {
		f := strings.Fields(lines.Text())
		switch {
		case len(f) == 2 && f[0] == "ADDR":
			addr = f[1]
		case len(f) == 3 && f[0] == "TOKENS":
			clients, apps = append(clients, f[1]), append(apps, f[2])
		}
		if lines.Text() == "READY" {
			break
		}
	}
	if addr == "" || len(clients) != users {
		return errors.New("child did not report its address and tokens")
	}
	freed := make(chan struct{}, 1)
	go func() {
		for lines.Scan() {
			if lines.Text() == "FREED" {
				freed <- struct{}{}
			}
		}
	}()
	pid := cmd.Process.Pid
	rssBefore := rssKiB(pid)
	fmt.Printf("gotify server pid %d on %s, RSS before connections %d KiB\n", pid, addr, rssBefore)

	recv := make([]time.Time, n)
	var got, next, dialErrs atomic.Int64
	conns := make([]*websocket.Conn, n)
	start := time.Now()
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				src := &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i/perIP))}
				d := websocket.Dialer{NetDialContext: (&net.Dialer{LocalAddr: src, Timeout: 10 * time.Second}).DialContext,
					HandshakeTimeout: 10 * time.Second, ReadBufferSize: 512, WriteBufferSize: 512}
				c, _, err := d.DialContext(ctx, "ws://"+addr+"/stream", http.Header{"X-Gotify-Key": {clients[i%users]}})
				if err != nil {
					dialErrs.Add(1)
					continue
				}
				conns[i] = c
				go func() {
					for {
						_, b, err := c.ReadMessage()
						if err != nil {
							return
						}
						var m struct{ ID uint }
						if json.Unmarshal(b, &m) == nil && m.ID != 0 {
							recv[i] = time.Now()
							got.Add(1)
						}
					}
				}()
			}
		}()
	}
	wg.Wait()
	held := 0
	for _, c := range conns {
		if c != nil {
			held++
		}
	}
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	fmt.Printf("connected %d of %d in %v (%d dial errors)\n", held, n, time.Since(start).Round(time.Millisecond), dialErrs.Load())
	if held == 0 {
		return errors.New("no connections")
	}
	select {
	case <-time.After(settle):
	case <-ctx.Done():
		return ctx.Err()
	}
	rssAfter := rssKiB(pid)
	_ = cmd.Process.Signal(syscall.SIGUSR1)
	select {
	case <-freed:
	case <-time.After(10 * time.Second):
	}
	rssFreed := rssKiB(pid)
	perConn := float64(rssAfter-rssBefore) / float64(held)
	perConnGC := float64(rssFreed-rssBefore) / float64(held)
	fmt.Printf("gotify RSS with %d idle streams: %d KiB → %.2f KiB per connection (after GC %.2f)\n", held, rssAfter, perConn, perConnGC)

	// One message to every user: Gotify has no broadcast, so one POST
	// /message per user's application, all at once.
	t0 := time.Now()
	var pw sync.WaitGroup
	var pubErr atomic.Value
	for _, app := range apps {
		pw.Add(1)
		go func() {
			defer pw.Done()
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/message",
				strings.NewReader(`{"title":"bench","message":"fan-out"}`))
			req.Header.Set("X-Gotify-Key", app)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				pubErr.CompareAndSwap(nil, err)
				return
			}
			resp.Body.Close()
		}()
	}
	pw.Wait()
	if e, ok := pubErr.Load().(error); ok {
		return fmt.Errorf("publish: %w", e)
	}
	deadline := time.Now().Add(30 * time.Second)
	for got.Load() < int64(held) && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond) // a benchmark program polling its own counter
	}
	var lat []time.Duration
	for i, c := range conns {
		if c != nil && !recv[i].IsZero() {
			lat = append(lat, recv[i].Sub(t0))
		}
	}
	if len(lat) == 0 {
		return errors.New("no client received the message")
	}
	slices.Sort(lat)
	q := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))]) / float64(time.Millisecond)
	}
	fmt.Printf("fan-out to %d streams (%d users): received %d, p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", held, users, len(lat), q(0.5), q(0.99), q(1))
	fmt.Printf("RESULT n=%d held=%d rss_kib_per_conn=%.2f rss_kib_per_conn_after_gc=%.2f p50_ms=%.1f p99_ms=%.1f max_ms=%.1f received=%d\n",
		n, held, perConn, perConnGC, q(0.5), q(0.99), q(1), len(lat))
	return nil
}
