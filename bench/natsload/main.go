// Command natsload compares the fan-out of tidings-server's two backends on
// the same load, in one process on loopback: "embedded" (one instance,
// SQLite + in-process hub) and "nats" (two instances over an embedded
// one-node NATS JetStream, clients split between them, publishes on the
// first). It is a benchmark, not a test.
//
//	go run ./bench/natsload -n 2000 -users 100 -rate 200 -for 5s
//
// Two loads: one message to "all" (every client gets one frame), then
// -rate messages per second to single users for -for. Latency is the
// message's server time (set when the publish request is handled) to its
// arrival at the client.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/crypto/bcrypt"

	"github.com/tidings-app/tidings/proto"
	"github.com/tidings-app/tidings/server"
	"github.com/tidings-app/tidings/server/natsjs"
	"github.com/tidings-app/tidings/server/natsjs/natstest"
	"github.com/tidings-app/tidings/server/store"
)

type options struct {
	clients, users, rate int
	dur, timeout         time.Duration
}

func main() {
	var o options
	flag.IntVar(&o.clients, "n", 2000, "WebSocket clients (bounded by 20000)")
	flag.IntVar(&o.users, "users", 100, "users the clients are spread over")
	flag.IntVar(&o.rate, "rate", 200, "messages per second to single users")
	flag.DurationVar(&o.dur, "for", 5*time.Second, "duration of the single-user load")
	flag.DurationVar(&o.timeout, "timeout", 60*time.Second, "bound of each phase")
	flag.Parse()
	o.clients = min(max(o.clients, 1), 20000)
	o.users = min(max(o.users, 1), o.clients)
	fmt.Printf("natsload: %d clients over %d users; 1 message to all, then %d msg/s to single users for %s\n\n",
		o.clients, o.users, o.rate, o.dur)
	var rows []row
	for _, kind := range []string{"embedded", "nats"} {
		r, err := runBackend(kind, o)
		if err != nil {
			fmt.Fprintf(os.Stderr, "natsload: %s: %v\n", kind, err)
			os.Exit(1)
		}
		rows = append(rows, r...)
	}
	fmt.Printf("%-9s %-22s %9s %9s %9s %9s %11s\n", "backend", "load", "frames", "p50", "p99", "max", "frames/s")
	for _, r := range rows {
		fmt.Printf("%-9s %-22s %9d %9s %9s %9s %11.0f\n", r.backend, r.load, r.frames,
			r.p50.Round(10*time.Microsecond), r.p99.Round(10*time.Microsecond), r.max.Round(10*time.Microsecond), r.perSec)
	}
}

type row struct {
	backend, load string
	frames        int
	p50, p99, max time.Duration
	perSec        float64
}

// deployment is one or more instances sharing a backend.
type deployment struct {
	bases   []string
	stores  []store.Store
	cleanup []func()
}

func (d *deployment) close() {
	for i := len(d.cleanup) - 1; i >= 0; i-- {
		d.cleanup[i]()
	}
}

func deploy(kind string) (*deployment, error) {
	d := &deployment{}
	log := slog.New(slog.DiscardHandler)
	cfg := server.Config{BcryptCost: bcrypt.MinCost, QueueLen: 256}
	serve := func(s *server.Server) error {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { s.Serve(ctx, ln); close(done) }()
		d.bases = append(d.bases, ln.Addr().String())
		d.cleanup = append(d.cleanup, func() { cancel(); <-done })
		return nil
	}
	switch kind {
	case "embedded":
		dir, err := os.MkdirTemp("", "natsload-sqlite-")
		if err != nil {
			return nil, err
		}
		d.cleanup = append(d.cleanup, func() { os.RemoveAll(dir) })
		st, err := store.OpenSQLite(context.Background(), dir)
		if err != nil {
			return nil, err
		}
		d.cleanup = append(d.cleanup, func() { st.Close() })
		s, err := server.New(cfg, st, nil, log)
		if err != nil {
			return nil, err
		}
		d.stores = append(d.stores, st)
		return d, serve(s)
	case "nats":
		dir, err := os.MkdirTemp("", "natsload-nats-")
		if err != nil {
			return nil, err
		}
		d.cleanup = append(d.cleanup, func() { os.RemoveAll(dir) })
		n, err := natstest.StartNode(dir)
		if err != nil {
			return nil, err
		}
		d.cleanup = append(d.cleanup, n.Stop)
		for range 2 {
			b, err := natsjs.Open(context.Background(), natsjs.Config{URL: n.URL()}, log)
			if err != nil {
				return nil, err
			}
			d.cleanup = append(d.cleanup, func() { b.Close() })
			s, err := server.New(cfg, b, b, log)
			if err != nil {
				return nil, err
			}
			d.stores = append(d.stores, b)
			if err := serve(s); err != nil {
				return nil, err
			}
		}
		return d, nil
	}
	return nil, errors.New("unknown backend")
}

type recorder struct {
	mu   sync.Mutex
	lats []time.Duration
	n    atomic.Int64
}

func (r *recorder) add(d time.Duration) {
	r.mu.Lock()
	r.lats = append(r.lats, d)
	r.mu.Unlock()
	r.n.Add(1)
}

func (r *recorder) reset() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.lats
	r.lats = nil
	r.n.Store(0)
	return out
}

func runBackend(kind string, o options) ([]row, error) {
	d, err := deploy(kind)
	if err != nil {
		return nil, err
	}
	defer d.close()
	ctx := context.Background()
	st := d.stores[0]
	hash, _ := bcrypt.GenerateFromPassword([]byte("x"), bcrypt.MinCost)
	for u := range o.users {
		if err := st.AddUser(ctx, fmt.Sprintf("u%d", u), hash, nil); err != nil {
			return nil, err
		}
	}
	pub := server.NewToken(server.PublisherPrefix)
	if err := st.AddToken(ctx, store.Token{Hash: server.HashToken(pub), Kind: store.KindPublisher, Name: "bench"}); err != nil {
		return nil, err
	}
	rec := &recorder{}
	var wg sync.WaitGroup
	var conns []*websocket.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
		wg.Wait()
	}()
	tokens := map[int]string{}
	for i := range o.clients {
		u := i % o.users
		if tokens[u] == "" {
			tok := server.NewToken(server.SessionPrefix)
			if err := st.AddToken(ctx, store.Token{Hash: server.HashToken(tok), Kind: store.KindSession, User: fmt.Sprintf("u%d", u)}); err != nil {
				return nil, err
			}
			tokens[u] = tok.Reveal()
		}
		base := d.bases[i%len(d.bases)]
		ws, _, err := (&websocket.Dialer{HandshakeTimeout: 10 * time.Second}).Dial("ws://"+base+proto.PathWS,
			http.Header{"Authorization": {"Bearer " + tokens[u]}})
		if err != nil {
			return nil, fmt.Errorf("dial %d: %w", i, err)
		}
		conns = append(conns, ws)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				_, b, err := ws.ReadMessage()
				if err != nil {
					return
				}
				now := time.Now()
				if kind, m, err := proto.DecodeFrame(b); err == nil && kind == proto.FrameMessage {
					rec.add(now.Sub(m.Time))
				}
			}
		}()
	}
	publishTo := "http://" + d.bases[0] + proto.PathPublish
	httpc := &http.Client{Timeout: 30 * time.Second}
	post := func(req proto.PublishRequest) error {
		body, _ := json.Marshal(req)
		r, _ := http.NewRequest(http.MethodPost, publishTo, bytes.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+pub.Reveal())
		resp, err := httpc.Do(r)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("publish: %s", resp.Status)
		}
		return nil
	}
	wait := func(want int64) {
		deadline := time.Now().Add(o.timeout)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for rec.n.Load() < want && time.Now().Before(deadline) {
			<-t.C
		}
	}
	var rows []row

	start := time.Now()
	if err := post(proto.PublishRequest{All: true, Message: "to all"}); err != nil {
		return nil, err
	}
	wait(int64(o.clients))
	took := time.Since(start)
	lats := rec.reset()
	rows = append(rows, summarise(kind, "1 msg to all", lats, took))

	// Single users at a fixed rate: every socket of the user gets the frame.
	perUser := o.clients / o.users
	sent := 0
	start = time.Now()
	tick := time.NewTicker(time.Second / time.Duration(max(o.rate, 1)))
	for time.Since(start) < o.dur {
		<-tick.C
		if err := post(proto.PublishRequest{To: fmt.Sprintf("u%d", rand.IntN(o.users)), Message: "one"}); err != nil {
			tick.Stop()
			return nil, err
		}
		sent++
	}
	tick.Stop()
	wait(int64(sent * perUser))
	took = time.Since(start)
	lats = rec.reset()
	rows = append(rows, summarise(kind, fmt.Sprintf("%d/s to single users", sent*int(time.Second)/int(o.dur)), lats, took))
	return rows, nil
}

func summarise(kind, load string, lats []time.Duration, took time.Duration) row {
	r := row{backend: kind, load: load, frames: len(lats)}
	if len(lats) == 0 {
		return r
	}
	slices.Sort(lats)
	r.p50 = lats[len(lats)/2]
	r.p99 = lats[min(len(lats)-1, len(lats)*99/100)]
	r.max = lats[len(lats)-1]
	r.perSec = float64(len(lats)) / took.Seconds()
	return r
}
