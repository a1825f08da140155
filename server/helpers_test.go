package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/crypto/bcrypt"

	"github.com/tidings-app/tidings/internal/testkit"
	"github.com/tidings-app/tidings/proto"
	"github.com/tidings-app/tidings/server/store"
)

// testServer is a real server on a loopback listener over a real SQLite file.
type testServer struct {
	t     *testing.T
	dir   string
	cfg   Config
	s     *Server
	st    *store.SQLite
	base  string // http://127.0.0.1:port
	logs  *testkit.Buffer
	stop  context.CancelFunc
	done  chan error
	addr  string
	httpc *http.Client
}

func testConfig() Config {
	return Config{BcryptCost: bcrypt.MinCost, LoginPerIP: Rate{Burst: 1000, Every: time.Millisecond},
		LoginPerUser: Rate{Burst: 1000, Every: time.Millisecond}}
}

func startServer(t *testing.T, dir string, cfg Config) *testServer {
	return startServerAt(t, dir, cfg, "127.0.0.1:0", &testkit.Buffer{})
}

func startServerAt(t *testing.T, dir string, cfg Config, addr string, logs *testkit.Buffer) *testServer {
	t.Helper()
	return startServerWrapped(t, dir, cfg, addr, logs, nil)
}

// startServerWrapped is startServerAt with the listener passed through wrap
// (to watch accepts).
func startServerWrapped(t *testing.T, dir string, cfg Config, addr string, logs *testkit.Buffer, wrap func(net.Listener) net.Listener) *testServer {
	return startServerWith(t, dir, cfg, addr, logs, wrap, nil)
}

// startServerWith is startServerWrapped with the server's clock replaced
// by now (nil: the real one) before it serves.
func startServerWith(t *testing.T, dir string, cfg Config, addr string, logs *testkit.Buffer, wrap func(net.Listener) net.Listener, now func() time.Time) *testServer {
	t.Helper()
	st, err := store.OpenSQLite(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if now != nil {
		cfg.Now = now
	}
	s, err := New(cfg, st, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if wrap != nil {
		ln = wrap(ln)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ts := &testServer{t: t, dir: dir, cfg: cfg, s: s, st: st, base: "http://" + ln.Addr().String(), logs: logs,
		stop: cancel, done: make(chan error, 1), addr: ln.Addr().String(), httpc: &http.Client{Timeout: 10 * time.Second}}
	go func() { ts.done <- s.Serve(ctx, ln) }()
	t.Cleanup(ts.close)
	return ts
}

// close shuts the server down and closes its store. Idempotent.
func (ts *testServer) close() {
	if ts.stop == nil {
		return
	}
	ts.stop()
	ts.stop = nil
	if err := <-ts.done; err != nil {
		ts.t.Errorf("serve: %v", err)
	}
	ts.st.Close()
}

func (ts *testServer) addUser(name, password string, groups ...string) {
	ts.t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		ts.t.Fatal(err)
	}
	if err := ts.st.AddUser(context.Background(), name, h, groups); err != nil {
		ts.t.Fatal(err)
	}
}

func (ts *testServer) publisher() string {
	ts.t.Helper()
	tok := NewToken(PublisherPrefix)
	if err := ts.st.AddToken(context.Background(), store.Token{Hash: HashToken(tok), Kind: store.KindPublisher, Name: "test"}); err != nil {
		ts.t.Fatal(err)
	}
	return tok.Reveal()
}

func (ts *testServer) post(path, token, body string) (int, http.Header, string) {
	ts.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, ts.base+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := ts.httpc.Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func (ts *testServer) login(user, password string) string {
	ts.t.Helper()
	code, _, body := ts.post(proto.PathLogin, "", mustJSON(proto.LoginRequest{Username: user, Password: password}))
	if code != http.StatusOK {
		ts.t.Fatalf("login %s: %d %s", user, code, body)
	}
	var lr proto.LoginResponse
	if err := json.Unmarshal([]byte(body), &lr); err != nil || lr.Token == "" {
		ts.t.Fatalf("login body %q: %v", body, err)
	}
	return lr.Token
}

func (ts *testServer) publish(pub string, req proto.PublishRequest) int {
	ts.t.Helper()
	code, _, body := ts.post(proto.PathPublish, pub, mustJSON(req))
	if code != http.StatusOK {
		ts.t.Fatalf("publish: %d %s", code, body)
	}
	var pr proto.PublishResponse
	json.Unmarshal([]byte(body), &pr)
	return pr.Recipients
}

func (ts *testServer) dialStatus(token string, since uint64, hdr http.Header) (*websocket.Conn, int, error) {
	u := "ws://" + ts.addr + proto.PathWS
	if since > 0 {
		u += "?" + proto.QuerySince + "=" + strconv.FormatUint(since, 10)
	}
	if hdr == nil {
		hdr = http.Header{}
	}
	if token != "" {
		hdr.Set("Authorization", "Bearer "+token)
	}
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	c, resp, err := d.Dial(u, hdr)
	code := 0
	if resp != nil {
		code = resp.StatusCode
	}
	return c, code, err
}

func (ts *testServer) dial(token string, since uint64) *websocket.Conn {
	ts.t.Helper()
	c, code, err := ts.dialStatus(token, since, nil)
	if err != nil {
		ts.t.Fatalf("dial: %d %v", code, err)
	}
	ts.t.Cleanup(func() { c.Close() })
	return c
}

// next reads frames until a message (skipping heartbeats) or the deadline.
func next(t *testing.T, c *websocket.Conn) proto.Message {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, b, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		kind, m, err := proto.DecodeFrame(b)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if kind == proto.FrameMessage {
			return m
		}
	}
}

// closeCode reads until the socket ends and returns the close code
// (websocket.CloseAbnormalClosure when there was no close frame).
func closeCode(t *testing.T, c *websocket.Conn, within time.Duration) int {
	t.Helper()
	code, _ := closeFrame(t, c, within)
	return code
}

// closeFrame reads until the socket closes and returns the close frame's
// code and reason (1006 and "" when it closed without one).
func closeFrame(t *testing.T, c *websocket.Conn, within time.Duration) (int, string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(within))
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code, ce.Text
			}
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Errorf("socket still open after %v", within)
			}
			return websocket.CloseAbnormalClosure, ""
		}
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func dialer() *websocket.Dialer { return &websocket.Dialer{HandshakeTimeout: 5 * time.Second} }

type websocketConn = websocket.Conn
