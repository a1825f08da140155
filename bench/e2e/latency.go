//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/gorilla/websocket"

	"github.com/tidings-app/tidings/internal/servertest"
	"github.com/tidings-app/tidings/proto"
	"github.com/tidings-app/tidings/server"
	"github.com/tidings-app/tidings/server/store"
)

// publisher posts messages to the server's publish API over keep-alive
// connections, from this process.
type publisher struct {
	url, token string
	hc         *http.Client
}

func newPublisher(srv *servertest.Server, token string) *publisher {
	tr := &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}
	return &publisher{url: srv.URL + proto.PathPublish, token: token, hc: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

func (p *publisher) publish(ctx context.Context, req proto.PublishRequest) error {
	body, _ := json.Marshal(req)
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	r.Header.Set("Authorization", "Bearer "+p.token)
	r.Header.Set("Content-Type", "application/json")
	resp, err := p.hc.Do(r)
	if err != nil {
		return err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("publish: %s: %s", resp.Status, b)
	}
	return nil
}

// paced publishes n messages at rate per second, open loop: message i is
// due at start + i/rate whatever happened to the earlier ones, sent by a
// pool of workers. It returns each message's send time (zero if it failed)
// and the achieved rate.
func (p *publisher) paced(ctx context.Context, n int, rate float64, mk func(i int) proto.PublishRequest) ([]time.Time, float64, error) {
	sent := make([]time.Time, n)
	jobs := make(chan int, n)
	var wg sync.WaitGroup
	var firstErr atomic.Value
	workers := min(64, max(1, int(rate/20)+1))
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				req := mk(i)
				at := time.Now()
				if err := p.publish(ctx, req); err != nil {
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				sent[i] = at
			}
		}()
	}
	start := time.Now()
	period := time.Duration(float64(time.Second) / rate)
	timer := time.NewTimer(0)
	for i := 0; i < n; i++ {
		if d := time.Until(start.Add(time.Duration(i) * period)); d > 0 {
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-ctx.Done():
				i = n
				continue
			}
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	achieved := float64(n) / time.Since(start).Seconds()
	if e, ok := firstErr.Load().(error); ok {
		return sent, achieved, e
	}
	return sent, achieved, ctx.Err()
}

// sessionToken makes a session token for user directly in the server's
// store, as a login would.
func sessionToken(t *tb, srv *servertest.Server, user string) string {
	tok := server.NewToken(server.SessionPrefix)
	if err := srv.Store.AddToken(context.Background(), store.Token{Hash: server.HashToken(tok), Kind: store.KindSession, User: user}); err != nil {
		t.Fatal(err)
	}
	return tok.Reveal()
}

// floorClient is the baseline of the latency benchmark: the least a client
// can do on this path — a raw gorilla/websocket reader that decodes each
// frame and calls org.freedesktop.Notifications.Notify at once, with the
// same hints as the app (its image-path names the app's own icon file), no history, no
// policy. Its app name is "floor".
type floorClient struct {
	ws   *websocket.Conn
	bus  *dbus.Conn
	done chan struct{}
	got  atomic.Int64

	mu      sync.Mutex
	arrived map[string]time.Time // title → when its frame was decoded
}

// arrivedAt returns when the frame titled title was decoded.
func (f *floorClient) arrivedAt(title string) (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	at, ok := f.arrived[title]
	return at, ok
}

const floorApp = "floor"

// startFloor connects the floor client; with notify false it only decodes
// and counts frames (the burst's baseline needs no popups).
func startFloor(t *tb, srv *servertest.Server, token string, busAddr string, notify bool) *floorClient {
	h := http.Header{"Authorization": {"Bearer " + token}}
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+srv.Addr+proto.PathWS, h)
	if err != nil {
		t.Fatalf("floor client: dial: %v", err)
	}
	bus, err := dbus.Connect(busAddr)
	if err != nil {
		t.Fatalf("floor client: bus: %v", err)
	}
	f := &floorClient{ws: ws, bus: bus, done: make(chan struct{}), arrived: map[string]time.Time{}}
	var icon dbus.Variant
	if notify {
		icon = dbus.MakeVariant(appIconURI(t))
	}
	obj := bus.Object("org.freedesktop.Notifications", "/org/freedesktop/Notifications")
	go func() {
		defer close(f.done)
		for {
			_, b, err := ws.ReadMessage()
			if err != nil {
				return
			}
			kind, m, err := proto.DecodeFrame(b)
			if err != nil || kind != proto.FrameMessage {
				continue
			}
			f.mu.Lock()
			f.arrived[m.Title] = time.Now()
			f.mu.Unlock()
			if !notify {
				f.got.Add(1)
				continue
			}
			hints := map[string]dbus.Variant{"urgency": dbus.MakeVariant(byte(1)),
				"desktop-entry": dbus.MakeVariant("floor"), "image-path": icon}
			var id uint32
			_ = obj.Call("org.freedesktop.Notifications.Notify", 0, floorApp, uint32(0), "", m.Title, m.Message,
				[]string{}, hints, int32(-1)).Store(&id)
			f.got.Add(1)
		}
	}()
	t.Cleanup(f.close)
	return f
}

func (f *floorClient) close() {
	f.ws.Close()
	<-f.done
	f.bus.Close()
}

// dist is a latency distribution.
type dist struct {
	n, missing   int
	p50, p99, mx time.Duration
}

func distOf(ds []time.Duration, missing int) dist {
	if len(ds) == 0 {
		return dist{missing: missing}
	}
	slices.Sort(ds)
	q := func(p float64) time.Duration { return ds[min(len(ds)-1, int(p*float64(len(ds))))] }
	return dist{n: len(ds), missing: missing, p50: q(0.50), p99: q(0.99), mx: ds[len(ds)-1]}
}

// latencyRun is one rate's figures.
type latencyRun struct {
	rate, achieved float64
	dur            time.Duration
	app, floor     dist
	frame          dist // publish → the floor client decoded the frame
	n              int
}

// pairLatency runs the rate twice, in turn: to appUser (whom the app or
// core client is logged in as) and to floorUser (the floor client's), so
// each has the notification daemon to itself. It returns the app's figures
// from the first run and the floor's from the second.
func pairLatency(ctx context.Context, t *tb, pub *publisher, bus endpoint, floor *floorClient, appUser, floorUser string, rate float64, dur time.Duration) latencyRun {
	quiet(ctx, bus)
	a := runLatency(ctx, t, pub, bus, floor, appUser, rate, dur)
	quiet(ctx, bus)
	f := runLatency(ctx, t, pub, bus, floor, floorUser, rate, dur)
	a.floor, a.frame = f.floor, f.frame
	a.achieved = min(a.achieved, f.achieved)
	return a
}

// runLatency publishes at rate for dur, each message with its own title and
// source (so the app's per-source burst control never summarises them),
// and matches each to the Notify calls of the app and of the floor client.
func runLatency(ctx context.Context, t *tb, pub *publisher, bus endpoint, floor *floorClient, user string, rate float64, dur time.Duration) latencyRun {
	n := max(1, int(rate*dur.Seconds()))
	prefix := fmt.Sprintf("L%g-", rate)
	title := func(i int) string { return fmt.Sprintf("%s%06d", prefix, i) }
	before := bus.Len()
	sent, achieved, err := pub.paced(ctx, n, rate, func(i int) proto.PublishRequest {
		return proto.PublishRequest{To: user, Title: title(i), Message: "latency probe", Priority: 3, Topic: fmt.Sprintf("lat%g-%d", rate, i)}
	})
	if err != nil {
		t.Errorf("publishing at %g/s: %v", rate, err)
	}
	// wait for the popups of the one client subscribed as user, at most
	// 20 s after the last publish
	deadline := time.Now().Add(20 * time.Second)
	for bus.Len()-before < n && time.Now().Before(deadline) && ctx.Err() == nil {
		select {
		case <-bus.Changed():
		case <-time.After(100 * time.Millisecond):
		}
	}
	idx := map[string]int{}
	for i := range n {
		idx[title(i)] = i
	}
	var appD, floorD []time.Duration
	appSeen, floorSeen := map[int]bool{}, map[int]bool{}
	for _, nt := range bus.All()[before:] {
		i, ok := idx[nt.Summary]
		if !ok || sent[i].IsZero() {
			continue
		}
		d := nt.At.Sub(sent[i])
		switch {
		case nt.AppName == floorApp && !floorSeen[i]:
			floorSeen[i] = true
			floorD = append(floorD, d)
		case nt.AppName != floorApp && !appSeen[i] && strings.HasPrefix(nt.Summary, prefix):
			appSeen[i] = true
			appD = append(appD, d)
		}
	}
	var frameD []time.Duration
	for i := range n {
		if at, ok := floor.arrivedAt(title(i)); ok && !sent[i].IsZero() {
			frameD = append(frameD, at.Sub(sent[i]))
		}
	}
	return latencyRun{rate: rate, achieved: achieved, dur: dur, n: n,
		app: distOf(appD, n-len(appD)), floor: distOf(floorD, n-len(floorD)), frame: distOf(frameD, n-len(frameD))}
}

// appIconURI is the file URI of the popup icon the app wrote into the
// desktop's cache directory (the harness shares its environment).
func appIconURI(t *tb) string {
	dir, err := os.UserCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "tidings", "popup-icon-64.png")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("floor client: the app's icon file: %v", err)
	}
	return (&url.URL{Scheme: "file", Path: path}).String()
}
