package natsjs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/crypto/bcrypt"

	"github.com/tidings-app/tidings/internal/testkit"
	"github.com/tidings-app/tidings/proto"
	"github.com/tidings-app/tidings/server"
	"github.com/tidings-app/tidings/server/natsjs"
	"github.com/tidings-app/tidings/server/natsjs/natstest"
	"github.com/tidings-app/tidings/server/store"
)

// startNATS is one embedded NATS node with JetStream in a temp dir.
func startNATS(t *testing.T) *natstest.Node {
	t.Helper()
	n, err := natstest.StartNode(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Stop)
	return n
}

// backendConfig is a test config: fast reconnects and probes.
func backendConfig(url string) natsjs.Config {
	return natsjs.Config{URL: url, Timeout: 2 * time.Second, ReconnectWait: 50 * time.Millisecond,
		ProbeEvery: 100 * time.Millisecond}
}

func openBackend(t *testing.T, cfg natsjs.Config, log *slog.Logger) *natsjs.Backend {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var b *natsjs.Backend
	var err error
	for { // a fresh cluster needs a moment to elect its JetStream leader
		if b, err = natsjs.Open(ctx, cfg, log); err == nil || ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// instance is one tidings-server over the NATS backend on a loopback port.
type instance struct {
	t      *testing.T
	name   string
	be     *natsjs.Backend
	srv    *server.Server
	base   string
	addr   string
	logs   *testkit.Buffer
	cancel context.CancelFunc
	done   chan error
}

func startInstance(t *testing.T, name string, cfg natsjs.Config) *instance {
	t.Helper()
	logs := &testkit.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})).With("instance", name)
	be := openBackend(t, cfg, log)
	srv, err := server.New(server.Config{BcryptCost: bcrypt.MinCost,
		LoginPerIP:      server.Rate{Burst: 1000, Every: time.Millisecond},
		LoginPerUser:    server.Rate{Burst: 1000, Every: time.Millisecond},
		ShutdownTimeout: 2 * time.Second, UnavailableRetryAfter: time.Second}, be, be, log)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{t: t, name: name, be: be, srv: srv, base: "http://" + ln.Addr().String(), addr: ln.Addr().String(),
		logs: logs, cancel: cancel, done: make(chan error, 1)}
	go func() { in.done <- srv.Serve(ctx, ln) }()
	t.Cleanup(in.stop)
	return in
}

// stop shuts the instance down and closes its backend. Idempotent.
func (in *instance) stop() {
	if in.cancel == nil {
		return
	}
	in.cancel()
	in.cancel = nil
	<-in.done
	in.be.Close()
}

func (in *instance) addUser(name string, groups ...string) {
	in.t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte("pw-"+name), bcrypt.MinCost)
	if err != nil {
		in.t.Fatal(err)
	}
	if err := in.be.AddUser(context.Background(), name, h, groups); err != nil {
		in.t.Fatal(err)
	}
}

func (in *instance) token(kind store.TokenKind, user string) string {
	in.t.Helper()
	prefix := server.SessionPrefix
	if kind == store.KindPublisher {
		prefix = server.PublisherPrefix
	}
	tok := server.NewToken(prefix)
	t := store.Token{Hash: server.HashToken(tok), Kind: kind}
	if kind == store.KindSession {
		t.User = user
	} else {
		t.Name = user
	}
	if err := in.be.AddToken(context.Background(), t); err != nil {
		in.t.Fatal(err)
	}
	return tok.Reveal()
}

var httpc = &http.Client{Timeout: 10 * time.Second}

// publish posts req and returns the status and body.
func (in *instance) publish(pub string, req proto.PublishRequest) (int, string) {
	body, _ := json.Marshal(req)
	r, _ := http.NewRequest(http.MethodPost, in.base+proto.PathPublish, bytes.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+pub)
	resp, err := httpc.Do(r)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (in *instance) get(path string) (int, http.Header) {
	resp, err := httpc.Get(in.base + path)
	if err != nil {
		return 0, nil
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header
}

// dial opens /ws with a session token; status is the HTTP answer.
func (in *instance) dial(tok string, since uint64) (*websocket.Conn, *http.Response, error) {
	h := http.Header{"Authorization": {"Bearer " + tok}}
	u := "ws://" + in.addr + proto.PathWS
	if since > 0 {
		u += "?since=" + strconv.FormatUint(since, 10)
	}
	d := &websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	return d.Dial(u, h)
}

// next reads one message frame (skipping HeartBeats).
func next(t *testing.T, c *websocket.Conn) proto.Message {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, b, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		kind, m, err := proto.DecodeFrame(b)
		if err != nil {
			t.Fatalf("decode %q: %v", b, err)
		}
		if kind == proto.FrameMessage {
			return m
		}
	}
}

// closeCode reads until the socket closes and returns its close code.
func closeCode(c *websocket.Conn, within time.Duration) int {
	c.SetReadDeadline(time.Now().Add(within))
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			if ce, ok := err.(*websocket.CloseError); ok {
				return ce.Code
			}
			return -1
		}
	}
}

// startCluster is three embedded NATS nodes routed on loopback.
func startCluster(t *testing.T) *natstest.Cluster {
	t.Helper()
	c, err := natstest.StartCluster(t.TempDir(), 3)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return c
}
