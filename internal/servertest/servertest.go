// Package servertest runs a real tidings-server for client tests: the real
// server package over a real SQLite file in a temp dir, on a loopback port,
// with users and publisher tokens made through its store, and messages sent
// through the real `tidings-server send` command (server/cli, in-process).
package servertest

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strconv"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/tidings-app/tidings/server"
	"github.com/tidings-app/tidings/server/cli"
	"github.com/tidings-app/tidings/server/store"
)

// Server is a running reference server.
type Server struct {
	URL   string // http://127.0.0.1:PORT
	Addr  string
	Dir   string // its data dir
	Store *store.SQLite
	Srv   *server.Server

	t      testing.TB
	stop   context.CancelFunc
	done   chan error
	closed bool
}

// Config returns a server config fit for tests: cheap bcrypt, no login rate
// limit, and pings scaled down to the given period (0 keeps the default).
func Config(ping time.Duration) server.Config {
	cfg := server.Config{
		BcryptCost:   bcrypt.MinCost,
		LoginPerIP:   server.Rate{Burst: 1000, Every: time.Millisecond},
		LoginPerUser: server.Rate{Burst: 1000, Every: time.Millisecond},
	}
	if ping > 0 {
		cfg.PingPeriod = ping
		cfg.PongWait = ping * 5 / 2
	}
	return cfg
}

// Start runs a server on 127.0.0.1:0 with cfg; it stops when the test ends.
func Start(t testing.TB, cfg server.Config) *Server {
	t.Helper()
	return StartAt(t, t.TempDir(), "127.0.0.1:0", cfg)
}

// StartAt runs a server over the data in dir on addr (to restart one on the
// same port and data).
func StartAt(t testing.TB, dir, addr string, cfg server.Config) *Server {
	t.Helper()
	st, err := store.OpenSQLite(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(cfg, st, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{URL: "http://" + ln.Addr().String(), Addr: ln.Addr().String(), Dir: dir, Store: st, Srv: srv,
		t: t, stop: cancel, done: make(chan error, 1)}
	go func() { s.done <- srv.Serve(ctx, ln) }()
	t.Cleanup(s.Close)
	return s
}

// Close shuts the server down gracefully and closes its store. Idempotent.
func (s *Server) Close() {
	if s.closed {
		return
	}
	s.closed = true
	s.stop()
	if err := <-s.done; err != nil {
		s.t.Errorf("servertest: serve: %v", err)
	}
	s.Store.Close()
}

// AddUser creates a user with a password.
func (s *Server) AddUser(name, password string, groups ...string) {
	s.t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		s.t.Fatal(err)
	}
	if err := s.Store.AddUser(context.Background(), name, h, groups); err != nil {
		s.t.Fatal(err)
	}
}

// Publisher creates a publisher token and returns it.
func (s *Server) Publisher() string {
	s.t.Helper()
	tok := server.NewToken(server.PublisherPrefix)
	if err := s.Store.AddToken(context.Background(), store.Token{Hash: server.HashToken(tok), Kind: store.KindPublisher, Name: "servertest"}); err != nil {
		s.t.Fatal(err)
	}
	return tok.Reveal()
}

// Message is what Send publishes.
type Message struct {
	To, Title, Body, URL, Topic string
	Priority                    int
}

// Send publishes m with the real `tidings-server send` command.
func (s *Server) Send(publisher string, m Message) {
	s.t.Helper()
	args := []string{"send", "--server", s.URL, "--to", m.To}
	if m.Priority != 0 {
		args = append(args, "--priority", strconv.Itoa(m.Priority))
	}
	if m.URL != "" {
		args = append(args, "--url", m.URL)
	}
	if m.Topic != "" {
		args = append(args, "--topic", m.Topic)
	}
	args = append(args, m.Title, m.Body)
	var out, errb bytes.Buffer
	env := cli.Env{Stdin: bytes.NewReader(nil), Stdout: &out, Stderr: &errb, Getenv: func(k string) string {
		if k == cli.EnvToken {
			return publisher
		}
		return ""
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if code := cli.Run(ctx, args, env); code != 0 {
		s.t.Fatalf("servertest: tidings-server send exited %d: %s", code, errb.String())
	}
}
