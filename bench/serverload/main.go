//go:build linux

// Command serverload is the load benchmark of tidings-server (not a test).
// It runs the server as a child process (so its RSS is honest), holds N idle
// WebSocket clients from this process over several 127.0.0.x source
// addresses, then publishes one message to "all" and measures the fan-out
// latency from the publish request to the frame's arrival at each client.
//
//	go run ./bench/serverload -n 10000
package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/crypto/bcrypt"

	"github.com/tidings-app/tidings/proto"
	"github.com/tidings-app/tidings/server"
	"github.com/tidings-app/tidings/server/store"
)

func main() {
	n := flag.Int("n", 10000, "idle clients to hold")
	users := flag.Int("users", 100, "users the clients log in as (sockets are spread over them)")
	conc := flag.Int("c", 64, "concurrent dials")
	perIP := flag.Int("per-ip", 20000, "connections per 127.0.0.x source address")
	settle := flag.Duration("settle", 3*time.Second, "wait after connecting before measuring RSS")
	timeout := flag.Duration("timeout", 4*time.Minute, "bound on the whole run")
	child := flag.Bool("child", false, "internal: run the server")
	data := flag.String("data", "", "internal: data dir of the child")
	flag.Parse()
	if got := raiseNoFile(uint64(*n + 4096)); got < uint64(*n+256) && !*child {
		*n = int(got) - 256
		fmt.Fprintf(os.Stderr, "serverload: RLIMIT_NOFILE is %d: holding only %d connections\n", got, *n)
	}
	if *child {
		if err := runChild(*data); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *n, *users, *conc, *perIP, *settle); err != nil {
		fmt.Fprintln(os.Stderr, "serverload:", err)
		os.Exit(1)
	}
}

// raiseNoFile raises the open-file limit to want if it can, and returns the
// limit in force.
func raiseNoFile(want uint64) uint64 {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0
	}
	if l.Cur >= want {
		return l.Cur
	}
	l.Cur = want
	if l.Max < want {
		l.Max = want // needs root or CAP_SYS_RESOURCE
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		fmt.Fprintf(os.Stderr, "serverload: cannot raise RLIMIT_NOFILE to %d: %v\n", want, err)
		l.Max = min(l.Max, want)
		l.Cur = l.Max // at least up to the hard limit
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
		syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l)
	}
	return l.Cur
}

// runChild serves on a loopback port, prints it, and frees memory on SIGUSR1.
var profiling atomic.Bool

func runChild(dir string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	go func() {
		for range usr1 {
			runtime.GC()
			debug.FreeOSMemory()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			fmt.Printf("MEM goroutines=%d stacks=%d heap=%d other=%d\n", runtime.NumGoroutine(), ms.StackInuse, ms.HeapInuse, ms.Sys-ms.HeapSys-ms.StackSys)
			fmt.Println("FREED")
			if f := os.Getenv("SERVERLOAD_HEAPPROFILE"); f != "" { // what an idle connection holds
				if out, err := os.Create(f); err == nil {
					pprof.Lookup("heap").WriteTo(out, 0)
					out.Close()
				}
			}
			if f := os.Getenv("SERVERLOAD_CPUPROFILE"); f != "" { // the fan-out, for a look with go tool pprof
				if out, err := os.Create(f); err == nil && pprof.StartCPUProfile(out) == nil {
					profiling.Store(true)
					time.AfterFunc(time.Second, func() { // the fan-out, not the shutdown
						if profiling.CompareAndSwap(true, false) {
							pprof.StopCPUProfile()
						}
					})
				}
			}
		}
	}()
	st, err := store.OpenSQLite(ctx, dir)
	if err != nil {
		return err
	}
	defer st.Close()
	log := slog.New(slog.NewTextHandler(grepWriter{cmp.Or(os.Getenv("SERVERLOAD_LOG"), "fan-out")}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := server.New(server.Config{BcryptCost: bcrypt.MinCost}, st, nil, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Println("ADDR", ln.Addr().String())
	err = srv.Serve(ctx, ln)
	if profiling.CompareAndSwap(true, false) {
		pprof.StopCPUProfile()
	}
	return err
}

// grepWriter passes to stderr only the log lines containing a word.
type grepWriter struct{ word string }

func (g grepWriter) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(g.word)) {
		os.Stderr.Write(p)
	}
	return len(p), nil
}

type account struct {
	user  string
	token string
}

// setup creates the users, a session token each and a publisher token.
func setup(ctx context.Context, dir string, users int) ([]account, string, error) {
	st, err := store.OpenSQLite(ctx, dir)
	if err != nil {
		return nil, "", err
	}
	defer st.Close()
	hash, _ := bcrypt.GenerateFromPassword([]byte(server.NewToken("").Reveal()[:32]), bcrypt.MinCost)
	accts := make([]account, users)
	for i := range accts {
		name := fmt.Sprintf("user%05d", i)
		if err := st.AddUser(ctx, name, hash, nil); err != nil {
			return nil, "", err
		}
		tok := server.NewToken(server.SessionPrefix)
		if err := st.AddToken(ctx, store.Token{Hash: server.HashToken(tok), Kind: store.KindSession, User: name}); err != nil {
			return nil, "", err
		}
		accts[i] = account{name, tok.Reveal()}
	}
	pub := server.NewToken(server.PublisherPrefix)
	if err := st.AddToken(ctx, store.Token{Hash: server.HashToken(pub), Kind: store.KindPublisher, Name: "bench"}); err != nil {
		return nil, "", err
	}
	return accts, pub.Reveal(), nil
}

func run(ctx context.Context, n, users, conc, perIP int, settle time.Duration) error {
	dir, err := os.MkdirTemp("", "serverload-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	accts, pub, err := setup(ctx, dir, users)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, "-child", "-data", dir, "-n", strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}()
	lines := bufio.NewScanner(out)
	if !lines.Scan() || !strings.HasPrefix(lines.Text(), "ADDR ") {
		return errors.New("child did not report its address")
	}
	addr := strings.TrimPrefix(lines.Text(), "ADDR ")
	freed := make(chan struct{}, 1)
	go func() {
		for lines.Scan() {
			if strings.HasPrefix(lines.Text(), "MEM ") {
				fmt.Println("server", lines.Text())
			}
			if lines.Text() == "FREED" {
				freed <- struct{}{}
			}
		}
	}()
	base := "http://" + addr
	pid := cmd.Process.Pid
	rssBefore := rssKiB(pid)
	fmt.Printf("server pid %d on %s, RSS before connections %d KiB\n", pid, addr, rssBefore)

	// Connect.
	recv := make([]time.Time, n)
	var got atomic.Int64
	conns := make([]*websocket.Conn, n)
	start := time.Now()
	var next atomic.Int64
	var dialErrs atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	// A random 127.0.X.0/24 per run: the ports of the last run's sources
	// linger in TIME_WAIT for a minute.
	third := byte(1 + time.Now().UnixNano()%250)
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				src := &net.TCPAddr{IP: net.IPv4(127, 0, third, byte(2+i/perIP))}
				d := websocket.Dialer{
					NetDialContext:   (&net.Dialer{LocalAddr: src, Timeout: 10 * time.Second}).DialContext,
					HandshakeTimeout: 10 * time.Second, ReadBufferSize: 512, WriteBufferSize: 512,
				}
				a := accts[i%len(accts)]
				c, _, err := d.DialContext(ctx, "ws://"+addr+proto.PathWS, http.Header{"Authorization": {"Bearer " + a.token}})
				if err != nil {
					dialErrs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				conns[i] = c
				go func() {
					for {
						_, b, err := c.ReadMessage()
						if err != nil {
							return
						}
						if k, _, err := proto.DecodeFrame(b); err == nil && k == proto.FrameMessage {
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
	fmt.Printf("connected %d of %d in %v (%d dial errors", held, n, time.Since(start).Round(time.Millisecond), dialErrs.Load())
	if e := firstErr.Load(); e != nil {
		fmt.Printf(", first: %v", e)
	}
	fmt.Println(")")
	if held == 0 {
		return errors.New("no connections")
	}
	if v, err := waitMetric(ctx, base, "tidings_connected_clients", float64(held), 15*time.Second); err != nil {
		return err
	} else if int(v) != held {
		fmt.Printf("the server holds %d of the %d connections (the rest were closed)\n", int(v), held)
		held = int(v)
	}
	select {
	case <-time.After(settle):
	case <-ctx.Done():
		return ctx.Err()
	}
	rssAfter := rssKiB(pid)
	cmd.Process.Signal(syscall.SIGUSR1)
	select {
	case <-freed:
	case <-time.After(10 * time.Second):
	}
	rssFreed := rssKiB(pid)
	fmt.Printf("server RSS with %d idle connections: %d KiB → %.2f KiB per connection\n",
		held, rssAfter, float64(rssAfter-rssBefore)/float64(held))
	fmt.Printf("server RSS after GC + FreeOSMemory: %d KiB → %.2f KiB per connection\n",
		rssFreed, float64(rssFreed-rssBefore)/float64(held))

	// Fan out one message to all.
	body, _ := json.Marshal(proto.PublishRequest{All: true, Title: "bench", Message: "fan-out"})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+proto.PathPublish, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+pub)
	srvCPU0, cliCPU0 := cpuTicks(pid), cpuTicks(os.Getpid())
	t0 := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("publish: %s", resp.Status)
	}
	publishRTT := time.Since(t0)
	deadline := time.Now().Add(30 * time.Second)
	for got.Load() < int64(held) && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	var lat []time.Duration
	for i, c := range conns {
		if c != nil && !recv[i].IsZero() {
			lat = append(lat, recv[i].Sub(t0))
		}
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(float64(len(lat))*p))]
	}
	srvCPU, cliCPU := cpuTicks(pid)-srvCPU0, cpuTicks(os.Getpid())-cliCPU0
	fmt.Printf("fan-out CPU time (10 ms ticks, both processes on the same cores): server %d ms, the clients' process %d ms\n", srvCPU*10, cliCPU*10)
	fmt.Printf("fan-out to %d clients (%d users): received %d, publish request %v, p50 %v, p99 %v, max %v\n",
		held, len(accts), len(lat), publishRTT.Round(time.Microsecond), pct(0.50).Round(time.Microsecond),
		pct(0.99).Round(time.Microsecond), pct(1).Round(time.Microsecond))
	fmt.Printf("RESULT n=%d held=%d rss_kib_per_conn=%.2f rss_kib_per_conn_after_gc=%.2f p50_ms=%.1f p99_ms=%.1f max_ms=%.1f received=%d server_cpu_ms=%d clients_cpu_ms=%d\n",
		n, held, float64(rssAfter-rssBefore)/float64(held), float64(rssFreed-rssBefore)/float64(held),
		ms(pct(.5)), ms(pct(.99)), ms(pct(1)), len(lat), srvCPU*10, cliCPU*10)
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// rssKiB reads VmRSS of pid from /proc.
// cpuTicks is the process's utime+stime in clock ticks (10 ms here).
func cpuTicks(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:]) // fields from 3 (state) on
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	k, _ := strconv.ParseInt(f[12], 10, 64)
	return u + k
}

func rssKiB(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			v, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return v
		}
	}
	return 0
}

// waitMetric polls /metrics until name reaches want or within has passed,
// and returns the last value seen.
func waitMetric(ctx context.Context, base, name string, want float64, within time.Duration) (float64, error) {
	var last float64
	deadline := time.Now().Add(within)
	for ctx.Err() == nil && time.Now().Before(deadline) {
		resp, err := http.Get(base + proto.PathMetrics)
		if err == nil {
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				if rest, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
					last, _ = strconv.ParseFloat(rest, 64)
					if last >= want {
						resp.Body.Close()
						return last, nil
					}
				}
			}
			resp.Body.Close()
		}
		time.Sleep(50 * time.Millisecond)
	}
	return last, ctx.Err()
}
