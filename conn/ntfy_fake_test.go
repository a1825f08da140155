package conn

import (
	"encoding/json"
	"math/rand/v2"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// ntfyFake follows PROTOCOLS.md §3 (ntfy v2.13) for GET /<topics>/ws:
//   - topics [-_A-Za-z0-9]{1,64}, comma-separated, else 404;
//   - upgrade errors have EMPTY bodies: 401 bad token, 403 a topic the
//     token may not read, 429 (with Retry-After when set), 400 bad since;
//   - frames: {"event":"open"} first, then cached messages matching since
//     (sorted by time, stable: insertion order within a second, like the
//     SQLite cache's ORDER BY time, id), then live ones;
//   - since: none/absent, all, latest, a message id (messages inserted after
//     it, across all topics; an id the cache no longer holds replays
//     everything cached), unix seconds, a Go duration; anything else 400;
//   - liveness: protocol pings only (no JSON keepalive on /ws); a client
//     that does not answer is dropped at keepalive + dropAfter (1006);
//   - messages are at most 4096 bytes (publish refuses more).
//
// Like testServer it can be killed and restarted on the same port with its
// cache kept.
type ntfyFake struct {
	token string
	addr  string

	mu        sync.Mutex
	srv       *http.Server
	cache     []ntfyMessage // insertion order
	subs      map[*ntfySub]struct{}
	denied    map[string]bool // topics the token may not read
	status    int             // refuse upgrades with this status
	retry     string
	keepalive time.Duration // protocol ping period
	dropAfter time.Duration // silence after a ping before the drop
	// registerGate, when set, holds a subscription between the upgrade and
	// its registration (a busy server): the client already sees the socket
	// open while published messages do not reach it live.
	registerGate chan struct{}
	sinces       []string
	down         bool
	kills        int   // kill count: a socket upgraded by a killed server must not outlive it
	clock        int64 // unix seconds of the next message, at least the real time (a test may move it ahead)
}

type ntfySub struct {
	ws     *websocket.Conn
	topics map[string]bool
	out    chan []byte
	done   chan struct{}
	once   sync.Once
}

func (s *ntfySub) kill() { s.once.Do(func() { close(s.done); _ = s.ws.NetConn().Close() }) }

const ntfyMaxMessage = 4096

var ntfyTopicRE = regexp.MustCompile(`^[-_A-Za-z0-9]{1,64}$`)

func newNtfyFake(t testing.TB, token string) *ntfyFake {
	f := &ntfyFake{token: token, subs: map[*ntfySub]struct{}{}, denied: map[string]bool{}, clock: time.Now().Unix()}
	if err := f.listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.kill)
	return f
}

func (f *ntfyFake) url() string { return "ws://" + f.addr }

func (f *ntfyFake) listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.HandlerFunc(f.handle), ReadHeaderTimeout: 5 * time.Second}
	f.mu.Lock()
	f.srv, f.addr, f.down = srv, ln.Addr().String(), false
	f.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
	return nil
}

func (f *ntfyFake) kill() {
	f.mu.Lock()
	srv, subs := f.srv, f.subs
	f.srv, f.down, f.subs = nil, true, map[*ntfySub]struct{}{}
	f.kills++
	f.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
	for s := range subs {
		s.kill()
	}
}

func (f *ntfyFake) restart(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for f.listen(f.addr) != nil {
		if time.Now().After(deadline) {
			t.Fatal("restart: port not free")
		}
		time.Sleep(time.Millisecond) // the kernel releases the port; not synchronisation with our code
	}
}

func (f *ntfyFake) set(fn func(f *ntfyFake)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

const ntfyIDChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func ntfyRandomID() string {
	b := make([]byte, 12)
	for i := range b {
		b[i] = ntfyIDChars[rand.IntN(len(ntfyIDChars))]
	}
	return string(b)
}

// publish caches a message and sends it to live subscribers of its topic;
// "" if the body is over 4096 bytes or the server is down.
func (f *ntfyFake) publish(topic, body string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down || len(body) > ntfyMaxMessage {
		return ""
	}
	p := 3.0
	f.clock = max(f.clock, time.Now().Unix())
	m := ntfyMessage{ID: ntfyRandomID(), Time: f.clock, Event: "message", Topic: topic, Message: body, Priority: &p}
	if rand.IntN(2) == 0 {
		m.Priority = nil // absent = 3
	}
	f.cache = append(f.cache, m)
	b, _ := json.Marshal(m)
	for s := range f.subs {
		if s.topics[topic] {
			select {
			case s.out <- b:
			default:
			}
		}
	}
	return m.ID
}

// publishUncached is a publish with "Cache: no": sent to live subscribers,
// never stored, so a later since=<its id> names an id the server forgot.
func (f *ntfyFake) publishUncached(topic, body string) string {
	id := f.publish(topic, body)
	f.forget(id)
	return id
}

// forget drops one message from the cache (expired or deleted).
func (f *ntfyFake) forget(id string) {
	f.set(func(f *ntfyFake) {
		f.cache = slices.DeleteFunc(f.cache, func(m ntfyMessage) bool { return m.ID == id })
	})
}

func (f *ntfyFake) liveSubs() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs)
}

var ntfyUpgrader = websocket.Upgrader{CheckOrigin: func(r *http.Request) bool { return r.Header.Get("Origin") == "" }}

func (f *ntfyFake) handle(w http.ResponseWriter, r *http.Request) {
	path, ok := strings.CutSuffix(r.URL.Path, "/ws")
	topics := strings.Split(strings.TrimPrefix(path, "/"), ",")
	for _, t := range topics {
		if !ok || !ntfyTopicRE.MatchString(t) {
			w.WriteHeader(http.StatusNotFound)
			return
		}
	}
	f.mu.Lock()
	status, retry, denied := f.status, f.retry, false
	for _, t := range topics {
		denied = denied || f.denied[t]
	}
	f.mu.Unlock()
	switch { // empty bodies, status only
	case status != 0:
		if retry != "" {
			w.Header().Set("Retry-After", retry)
		}
		w.WriteHeader(status)
		return
	case r.Header.Get("Authorization") != "Bearer "+f.token:
		w.WriteHeader(http.StatusUnauthorized)
		return
	case denied:
		w.WriteHeader(http.StatusForbidden)
		return
	}
	since := r.URL.Query().Get("since")
	f.mu.Lock()
	_, ok = f.matching(topics, since) // validate before the upgrade: 400
	kills := f.kills
	f.mu.Unlock()
	if !ok {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	ws, err := ntfyUpgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	sub := &ntfySub{ws: ws, topics: map[string]bool{}, out: make(chan []byte, 8192), done: make(chan struct{})}
	for _, t := range topics {
		sub.topics[t] = true
	}
	f.mu.Lock()
	gate := f.registerGate
	f.mu.Unlock()
	if gate != nil {
		<-gate
	}
	f.mu.Lock() // the replay and the registration are one step: nothing falls between
	f.sinces = append(f.sinces, since)
	if f.kills != kills { // killed while this socket was being upgraded
		f.mu.Unlock()
		ws.Close()
		return
	}
	replay, _ := f.matching(topics, since)
	f.subs[sub] = struct{}{}
	keepalive, drop := f.keepalive, f.dropAfter
	// open first, then the replay; live messages queue behind them.
	open, _ := json.Marshal(map[string]any{"id": ntfyRandomID(), "time": f.clock, "event": "open", "topic": strings.Join(topics, ",")})
	sub.out <- open
	for _, m := range replay {
		b, _ := json.Marshal(m)
		sub.out <- b
	}
	f.mu.Unlock()

	go f.write(sub, keepalive)
	if drop > 0 {
		_ = ws.SetReadDeadline(time.Now().Add(keepalive + drop))
		ws.SetPongHandler(func(string) error { return ws.SetReadDeadline(time.Now().Add(keepalive + drop)) })
	}
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			break
		}
	}
	f.mu.Lock()
	delete(f.subs, sub)
	f.mu.Unlock()
	sub.kill()
}

// matching applies since= to the cache (f.mu held). false: a bad value.
func (f *ntfyFake) matching(topics []string, since string) ([]ntfyMessage, bool) {
	want := map[string]bool{}
	for _, t := range topics {
		want[t] = true
	}
	from, minTime := len(f.cache), int64(0)
	switch {
	case since == "" || since == "none":
	case since == "all":
		from = 0
	case since == "latest":
		from = max(0, len(f.cache)-1)
	case ntfyTopicRE.MatchString(since) && len(since) == 12:
		from = 0 // an id the cache forgot: everything
		for i, m := range f.cache {
			if m.ID == since {
				from = i + 1
			}
		}
	default:
		if n, err := strconv.ParseInt(since, 10, 64); err == nil {
			from, minTime = 0, n
		} else if d, err := time.ParseDuration(since); err == nil {
			from, minTime = 0, f.clock-int64(d.Seconds())
		} else {
			return nil, false
		}
	}
	var out []ntfyMessage
	for _, m := range f.cache[from:] {
		if want[m.Topic] && m.Time >= minTime {
			out = append(out, m)
		}
	}
	slices.SortStableFunc(out, func(a, b ntfyMessage) int { return int(a.Time - b.Time) })
	return out, true
}

func (f *ntfyFake) write(s *ntfySub, keepalive time.Duration) {
	defer s.kill()
	var tick <-chan time.Time
	if keepalive > 0 {
		t := time.NewTicker(keepalive)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-s.done:
			return
		case b := <-s.out:
			_ = s.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if s.ws.WriteMessage(websocket.TextMessage, append(b, '\n')) != nil {
				return
			}
		case <-tick:
			if s.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(time.Second)) != nil {
				return
			}
		}
	}
}
