// Package gotifyinterop serves Gotify's real stream code on loopback so
// Tidings' Gotify adapter can be tested against it.
//
// What is Gotify's own code (github.com/gotify/server/v2 v2.9.1): the
// /stream WebSocket handler (api/stream, with its ping period, pong
// timeout, 64-byte read limit and origin check in prod mode), the
// authentication middleware (auth), the error middleware (error: JSON
// bodies on 401/403), and the REST handlers for /message (create, list
// with limit/since paging, delete), /application and /client (create,
// list, delete — which closes that client's open streams), wired the way
// router/router.go wires them. What is the harness's: the database, an
// in-memory stand-in for Gotify's GORM database with the same query
// semantics (memdb.go), and the listener that can be killed and restarted
// on the same port keeping the database, like a server process. The router
// package itself is not imported: it embeds the web UI.
//
// This is a nested module so that gin and friends stay out of Tidings'
// go.mod. Run its tests with: cd interop/gotify && go test -race ./...
package gotifyinterop

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/gotify/location"
	"github.com/gotify/server/v2/api"
	"github.com/gotify/server/v2/api/stream"
	"github.com/gotify/server/v2/auth"
	"github.com/gotify/server/v2/auth/password"
	gerror "github.com/gotify/server/v2/error"
	"github.com/gotify/server/v2/mode"
	"github.com/gotify/server/v2/model"
)

func init() {
	mode.Set(mode.Prod) // the real origin check, as a deployed server has it
	gin.SetMode(gin.ReleaseMode)
}

// Config sets the stream's liveness timing (Gotify's defaults are 45 s
// ping period and 15 s pong timeout).
type Config struct {
	PingPeriod  time.Duration
	PongTimeout time.Duration
}

// Server is a Gotify server on loopback: real handlers, in-memory database.
type Server struct {
	cfg  Config
	db   *memDB
	Addr string // host:port, stable across Kill/Restart

	mu     sync.Mutex
	http   *http.Server
	stream *stream.API
	up     bool
	race   *raceHook // armed by RaceNextStream

	notifyMu sync.RWMutex // Notify (read) against Kill (write)
}

// Start listens on 127.0.0.1 on a free port.
func Start(cfg Config) (*Server, error) {
	s := &Server{cfg: cfg, db: newMemDB()}
	addr, err := s.listen("127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.Addr = addr // written once, before anyone reads it
	return s, nil
}

// URL is the server's base URL (http://…).
func (s *Server) URL() string { return "http://" + s.Addr }

func (s *Server) listen(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	st := stream.New(s.cfg.PingPeriod, s.cfg.PongTimeout, nil)
	srv := &http.Server{Handler: s.engine(st), ReadHeaderTimeout: 5 * time.Second}
	s.mu.Lock()
	s.http, s.stream, s.up = srv, st, true
	s.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
	return ln.Addr().String(), nil
}

// engine wires Gotify's handlers as router/router.go does (the subset
// Tidings uses).
func (s *Server) engine(st *stream.API) *gin.Engine {
	g := gin.New()
	g.Use(gin.Recovery(), gerror.Handler(), location.Default())
	authentication := auth.Auth{DB: s.db}
	messageHandler := api.MessageAPI{Notifier: notifier{s, st}, DB: s.db}
	clientHandler := api.ClientAPI{DB: s.db, NotifyDeleted: st.NotifyDeletedClient}
	applicationHandler := api.ApplicationAPI{DB: s.db}
	userHandler := api.UserAPI{DB: s.db}

	g.Group("/").Use(authentication.RequireApplicationToken()).POST("/message", messageHandler.CreateMessage)
	clientAuth := g.Group("")
	clientAuth.Use(authentication.RequireClient())
	clientAuth.GET("/application", applicationHandler.GetApplications)
	clientAuth.POST("/application", applicationHandler.CreateApplication)
	clientAuth.GET("/client", clientHandler.GetClients)
	clientAuth.GET("/current/user", userHandler.GetCurrentUser)
	clientAuth.POST("/client", clientHandler.CreateClient)
	clientAuth.DELETE("/client/:id", clientHandler.DeleteClient)
	clientAuth.GET("/message", s.raceListed, messageHandler.GetMessages)
	clientAuth.DELETE("/message/:id", messageHandler.DeleteMessage)
	clientAuth.GET("/stream", s.raceStream, st.Handle)
	return g
}

// Kill drops every stream and stops listening, like a killed process (the
// stream sockets are closed without a close frame). The database stays.
func (s *Server) Kill() {
	s.notifyMu.Lock()
	s.mu.Lock()
	srv, st := s.http, s.stream
	s.http, s.stream, s.up = nil, nil, false
	s.mu.Unlock()
	if st != nil {
		st.Close()
	}
	s.notifyMu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// notifier hands stored messages to the stream API of one server life.
// Gotify v2.9.1's stream has a data race of its own: a stream whose reader
// fails closes its write channel (client.NotifyClose) without the API's
// lock, while Notify sends on it under that lock, so a client dropping its
// socket during a publish is a send on a closing channel. A dying process
// no longer pushes anything, so after Kill the killed life's Notify is a
// no-op, and Kill closes every stream first (under Gotify's lock, making
// their NotifyClose a no-op): the kills of the restart loop never hit the
// race; nothing in the harness can keep a client's own close from it.
type notifier struct {
	s  *Server
	st *stream.API
}

func (n notifier) Notify(userID uint, msg *model.MessageExternal) {
	n.s.notifyMu.RLock()
	defer n.s.notifyMu.RUnlock()
	n.s.mu.Lock()
	alive := n.s.stream == n.st
	n.s.mu.Unlock()
	if alive {
		n.st.Notify(userID, msg)
	}
}

// Restart listens again on the same address with a fresh stream API.
func (s *Server) Restart() error {
	deadline := time.Now().Add(2 * time.Second)
	for {
		_, err := s.listen(s.Addr)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(time.Millisecond) // the kernel releases the port; not synchronisation with our code
	}
}

// Up reports whether the server is listening.
func (s *Server) Up() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.up
}

// Streams is the number of open /stream connections.
func (s *Server) Streams() int {
	s.mu.Lock()
	st := s.stream
	s.mu.Unlock()
	if st == nil {
		return 0
	}
	return len(st.CollectConnectedClientTokens())
}

// CreateUser adds a user with a password (bcrypt at the lowest cost).
func (s *Server) CreateUser(name, pass string) uint {
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	u := model.User{ID: s.db.id("user"), Name: name, Pass: password.CreatePassword(pass, 4)}
	s.db.users = append(s.db.users, u)
	return u.ID
}

// CreateClient adds a client token for a user directly in the database.
func (s *Server) CreateClient(userID uint, name string) (id uint, token string) {
	c := model.Client{UserID: userID, Name: name, Token: auth.GenerateClientToken()}
	_ = s.db.CreateClient(&c)
	return c.ID, c.Token
}

// CreateApplication adds an application (a publisher) and returns its
// token.
func (s *Server) CreateApplication(userID uint, name, image string) (id uint, token string) {
	a := model.Application{UserID: userID, Name: name, Image: image, Token: auth.GenerateApplicationToken(), DefaultPriority: 5}
	_ = s.db.CreateApplication(&a)
	return a.ID, a.Token
}

// Publish sends a message through the real POST /message handler with an
// application token, as a publisher does. It returns the message id.
func (s *Server) Publish(appToken string, msg map[string]any) (uint, error) {
	b, _ := json.Marshal(msg)
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"/message", bytes.NewReader(b))
	req.Header.Set("X-Gotify-Key", appToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var out model.MessageExternal
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&out) != nil {
		return 0, fmt.Errorf("publish: HTTP %d", resp.StatusCode)
	}
	return out.ID, nil
}

// DeleteMessage removes a stored message (as a user deleting it would).
func (s *Server) DeleteMessage(id uint) { _ = s.db.DeleteMessageByID(id) }

// Stored is the number of stored messages.
func (s *Server) Stored() int {
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	return len(s.db.messages)
}

// ResetMessages empties the message table and restarts its ids at 1, as a
// Gotify whose database was reset or restored from an old backup (users,
// clients and applications kept, so the tokens still work).
func (s *Server) ResetMessages() {
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	s.db.messages = nil
	s.db.nextID["message"] = 0
}
