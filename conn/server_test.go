package conn

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tidings-app/tidings/proto"
)

// testServer is a real WebSocket server speaking the native protocol, under
// test control: it stores messages, replays since=, answers HeartBeat, and
// has switches for every misbehaviour the reliability checks need. It can
// be killed (listener and every socket closed abruptly) and restarted on
// the same port, keeping its store, like a server process with a database.
type testServer struct {
	token string
	addr  string

	mu       sync.Mutex
	ln       net.Listener
	srv      *http.Server
	msgs     []proto.Message
	conns    map[*srvConn]struct{}
	requests []time.Time // every /ws request
	upgrades []time.Time // every accepted upgrade
	sinces   []string    // since= of every accepted upgrade

	// switches
	status          int    // refuse upgrades with this HTTP status
	retryAfter      string // Retry-After with status
	acceptThenClose bool   // close right after the upgrade
	closeCode       int    // close code for acceptThenClose (0: no close frame)
	forgetSince     bool   // ignore since= and replay everything stored
	pingEvery       time.Duration
	restGate        chan struct{}
	down            bool // killed: publishing is refused, like a dead process
	reset           bool // resetIDs ran: a since above the newest id replays from the start
}

type srvConn struct {
	ws   *websocket.Conn
	out  chan []byte
	done chan struct{}
	once sync.Once
}

func (c *srvConn) kill() { c.once.Do(func() { close(c.done); _ = c.ws.NetConn().Close() }) }

func newTestServer(t testing.TB, token string) *testServer {
	s := &testServer{token: token, conns: map[*srvConn]struct{}{}}
	if err := s.listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	if t != nil {
		t.Cleanup(s.kill)
	}
	return s
}

func (s *testServer) url() string { return "ws://" + s.addr }

func (s *testServer) listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: s.mux(), ReadHeaderTimeout: 5 * time.Second}
	s.mu.Lock()
	s.ln, s.srv, s.addr, s.down = ln, srv, ln.Addr().String(), false
	s.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
	return nil
}

func (s *testServer) mux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc(proto.PathWS, s.handleWS)
	mux.HandleFunc("/test/publish", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		m := s.publish(string(b))
		fmt.Fprint(w, m.ID)
	})
	mux.HandleFunc("/test/messages", s.handleMessages)
	return mux
}

// handleMessages is a REST catch-up endpoint (the shape of Gotify's
// GET /message, simplified): every stored message with id > after, oldest
// first. restGate, when set, holds the answer back until closed.
func (s *testServer) handleMessages(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+s.token {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	s.mu.Lock()
	gate := s.restGate
	s.mu.Unlock()
	if gate != nil {
		<-gate
	}
	after, _ := strconv.ParseUint(r.URL.Query().Get("after"), 10, 64)
	s.mu.Lock()
	var out []proto.Message
	for _, m := range s.msgs {
		if m.ID > after {
			out = append(out, m)
		}
	}
	s.mu.Unlock()
	_ = json.NewEncoder(w).Encode(out)
}

// kill stops accepting and drops every socket without a close frame, like
// kill -9 (the kernel sends FIN).
func (s *testServer) kill() {
	s.mu.Lock()
	srv := s.srv
	s.srv, s.ln, s.down = nil, nil, true
	conns := s.conns
	s.conns = map[*srvConn]struct{}{}
	s.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
	for c := range conns {
		c.kill()
	}
}

// restart listens again on the same address; the store survives.
func (s *testServer) restart(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		err := s.listen(s.addr)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("restart: %v", err)
		}
		time.Sleep(time.Millisecond) // the port is being released by the kernel; not synchronisation with our code
	}
}

func (s *testServer) set(f func(s *testServer)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

// publish stores one message and sends it to every live socket.
func (s *testServer) publish(body string) proto.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := proto.Message{ID: uint64(len(s.msgs) + 1), Time: time.Now().UTC(), Title: "t", Message: body, Priority: 3}
	s.msgs = append(s.msgs, m)
	b, _ := json.Marshal(m)
	for c := range s.conns {
		select {
		case c.out <- b:
		default: // too slow: like the real server, close 4002
			delete(s.conns, c)
			go func() {
				_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(proto.CloseSlowConsumer, ""), time.Now().Add(time.Second))
				c.kill()
			}()
		}
	}
	return m
}

// publishIfUp publishes unless the server is killed; it reports whether
// it did.
func (s *testServer) publishIfUp(body string) bool {
	s.mu.Lock()
	down := s.down
	s.mu.Unlock()
	if down {
		return false
	}
	s.publish(body)
	return true
}

// resetIDs forgets every stored message, so ids start again at 1: a
// reinstalled server.
func (s *testServer) resetIDs() {
	s.mu.Lock()
	s.msgs, s.reset = nil, true
	s.mu.Unlock()
}

func (s *testServer) stored() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs)
}

// sendRaw sends a raw text frame to every live socket.
func (s *testServer) sendRaw(b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.out <- b
	}
}

// closeAll closes every socket with a close frame carrying code.
func (s *testServer) closeAll(code int) {
	s.mu.Lock()
	conns := s.conns
	s.conns = map[*srvConn]struct{}{}
	s.mu.Unlock()
	for c := range conns {
		_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, ""), time.Now().Add(time.Second))
		c.kill()
	}
}

func (s *testServer) liveConns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

func (s *testServer) counts() (requests, upgrades int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests), len(s.upgrades)
}

func (s *testServer) upgradeTimes() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.upgrades...)
}

var upgrader = websocket.Upgrader{CheckOrigin: func(r *http.Request) bool { return r.Header.Get("Origin") == "" }}

func (s *testServer) handleWS(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, time.Now())
	status, retryAfter := s.status, s.retryAfter
	s.mu.Unlock()
	if status != 0 {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		http.Error(w, http.StatusText(status), status)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+s.token || r.URL.Query().Has("token") {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	// Like tidings-server: name the newest id, and (after resetIDs)
	// replay from the start for a since above it. Other tests use a since
	// far ahead to get no replay on the socket.
	since, _ := strconv.ParseUint(r.URL.Query().Get(proto.QuerySince), 10, 64)
	s.mu.Lock()
	newest, reset := uint64(len(s.msgs)), s.reset
	s.mu.Unlock()
	if reset && since > newest {
		since = 0
	}
	ws, err := upgrader.Upgrade(w, r, http.Header{proto.HeaderNewestID: {strconv.FormatUint(newest, 10)}})
	if err != nil {
		return
	}
	c := &srvConn{ws: ws, out: make(chan []byte, 4096), done: make(chan struct{})}
	s.mu.Lock()
	s.upgrades = append(s.upgrades, time.Now())
	s.sinces = append(s.sinces, r.URL.Query().Get(proto.QuerySince))
	if s.acceptThenClose {
		code := s.closeCode
		s.mu.Unlock()
		if code != 0 {
			_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, ""), time.Now().Add(time.Second))
		}
		_ = ws.Close()
		return
	}
	var replay [][]byte
	for _, m := range s.msgs {
		if m.ID > since || s.forgetSince {
			b, _ := json.Marshal(m)
			replay = append(replay, b)
		}
	}
	s.conns[c] = struct{}{}
	ping := s.pingEvery
	s.mu.Unlock()

	go s.writeLoop(c, replay, ping)
	for { // reader: answer HeartBeat through the writer
		_, b, err := ws.ReadMessage()
		if err != nil {
			break
		}
		if string(b) == proto.HeartBeat {
			select {
			case c.out <- []byte(proto.HeartBeat):
			case <-c.done:
			}
		}
	}
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	c.kill()
}

func (s *testServer) writeLoop(c *srvConn, replay [][]byte, ping time.Duration) {
	defer c.kill()
	for _, b := range replay {
		if c.ws.WriteMessage(websocket.TextMessage, b) != nil {
			return
		}
	}
	var tick <-chan time.Time
	if ping > 0 {
		t := time.NewTicker(ping)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-c.done:
			return
		case b := <-c.out:
			_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if c.ws.WriteMessage(websocket.TextMessage, b) != nil {
				return
			}
		case <-tick:
			if c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(time.Second)) != nil {
				return
			}
		}
	}
}

// Subprocess mode: the test binary re-executed with envServerAddr set runs
// only a testServer, so a test can SIGSTOP, SIGCONT and kill it.
const (
	envServerToken = "CONN_TEST_SERVER_TOKEN"
	envServerPing  = "CONN_TEST_SERVER_PING"
)

// serveSubprocess runs in the child; it never returns.
func serveSubprocess() {
	s := newTestServer(nil, os.Getenv(envServerToken))
	if d, err := time.ParseDuration(os.Getenv(envServerPing)); err == nil {
		s.pingEvery = d
	}
	fmt.Printf("LISTENING %s\n", s.addr)
	select {}
}

// serverProcess is a testServer in a child process.
type serverProcess struct {
	cmd  *exec.Cmd
	addr string
}

func startServerProcess(t *testing.T, token string, ping time.Duration) *serverProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envServerToken+"="+token, envServerPing+"="+ping.String())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serverProcess{cmd: cmd}
	t.Cleanup(func() { p.thaw(t); _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "LISTENING ") {
		t.Fatalf("server subprocess: %q %v", line, err)
	}
	p.addr = strings.TrimSpace(strings.TrimPrefix(line, "LISTENING "))
	return p
}

func (p *serverProcess) publish(t *testing.T, body string) {
	t.Helper()
	resp, err := http.Post("http://"+p.addr+"/test/publish", "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
}
