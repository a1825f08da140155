package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/crypto/bcrypt"

	"github.com/tidings-app/tidings/proto"
	"github.com/tidings-app/tidings/server/hub"
	"github.com/tidings-app/tidings/server/store"
)

// Errors.
var (
	ErrClosed = errors.New("server: closed")
)

// Server is one tidings-server instance. Create it with New, serve with
// Serve (or mount Handler and call Shutdown yourself).
type Server struct {
	cfg    Config
	store  store.Store
	broker hub.Broker
	log    *slog.Logger
	m      *metrics
	now    func() time.Time

	upgrader  websocket.Upgrader
	poller    *poller // nil: every socket has its reader goroutine
	dummyHash []byte  // bcrypt of a random password: unknown users cost the same
	perIP     *limiter
	perUser   *limiter

	pub      publisher     // gathers concurrent publishes into one store write
	upgrades atomic.Uint64 // sockets upgraded so far: each one's drop slot (dropSlot)

	mu       sync.Mutex
	clients  map[*client]struct{}
	closing  bool
	notReady error          // the broker's Ready() as last seen; nil = ready
	live     sync.WaitGroup // open sockets
	bg       sync.WaitGroup // pinger, janitor
	stop     chan struct{}
	stopped  sync.Once
}

// New builds a server over st. A nil broker means an in-process hub.Local;
// a nil log discards logs.
func New(cfg Config, st store.Store, broker hub.Broker, log *slog.Logger) (*Server, error) {
	cfg = cfg.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if broker == nil {
		broker = hub.NewLocal()
	}
	dummy, err := bcrypt.GenerateFromPassword([]byte(NewToken("dummy").Reveal()[:40]), cfg.BcryptCost)
	if err != nil {
		return nil, fmt.Errorf("server: dummy hash: %w", err)
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	s := &Server{
		cfg: cfg, store: st, broker: broker, log: log.With("component", "server"),
		m: newMetrics(), now: now, dummyHash: dummy,
		clients: map[*client]struct{}{}, stop: make(chan struct{}),
	}
	s.perIP = newLimiter(cfg.LoginPerIP, s.now)
	s.perUser = newLimiter(cfg.LoginPerUser, s.now)
	s.upgrades.Store(rand.Uint64() >> 1) // each instance starts its drop slots at a different point
	s.upgrader = websocket.Upgrader{
		HandshakeTimeout: cfg.WriteWait,
		ReadBufferSize:   cfg.ReadBufferSize,
		WriteBufferSize:  cfg.WriteBufferSize,
		WriteBufferPool:  &sync.Pool{},
		CheckOrigin:      func(*http.Request) bool { return true }, // checked before Upgrade
	}
	if r, ok := broker.(hub.Readiness); ok {
		s.notReady = r.Ready()
		r.OnChange(func() { s.readinessChanged(r.Ready()) })
	}
	if !cfg.GoroutineReaders {
		if s.poller, err = newPoller(func(c *client) { c.readReady() }); err != nil {
			s.log.Info("reading every socket from its own goroutine", "why", err)
		}
	}
	s.bg.Add(2)
	go s.pinger()
	go s.janitor()
	return s, nil
}

// Ready returns nil when the instance accepts sockets, else why not.
func (s *Server) Ready() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.notReady
}

// readinessChanged records the broker's readiness; on losing it every open
// socket is closed with CloseRetryElsewhere so its client moves to a healthy
// instance (stored messages are replayed there with since=).
func (s *Server) readinessChanged(err error) {
	s.mu.Lock()
	was := s.notReady
	s.notReady = err
	s.mu.Unlock()
	switch {
	case err != nil && was == nil:
		s.log.Warn("not ready: closing sockets with retry-elsewhere", "err", err)
		s.each(func(c *client) { c.closeWith(proto.CloseRetryElsewhere, "instance unavailable") })
	case err == nil && was != nil:
		s.log.Info("ready again")
	}
}

// unavailable answers 503 with Retry-After when the instance is not ready.
func (s *Server) unavailable(w http.ResponseWriter) bool {
	if s.Ready() == nil {
		return false
	}
	w.Header().Set("Retry-After", strconv.Itoa(retryAfter(s.cfg.UnavailableRetryAfter)))
	writeError(w, http.StatusServiceUnavailable, "instance unavailable, retry later")
	return true
}

// Config returns the effective configuration (defaults filled in).
func (s *Server) Config() Config { return s.cfg }

// Handler returns the HTTP handler of every path in proto.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+proto.PathLogin, s.handleLogin)
	mux.HandleFunc("POST "+proto.PathLogout, s.handleLogout)
	mux.HandleFunc("GET "+proto.PathMe, s.handleMe)
	mux.HandleFunc("POST "+proto.PathPublish, s.handlePublish)
	mux.HandleFunc("GET "+proto.PathWS, s.handleWS)
	mux.HandleFunc("GET "+proto.PathHealth, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if s.Ready() != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("unavailable\n"))
			return
		}
		w.Write([]byte("ok\n"))
	})
	mux.Handle("GET "+proto.PathMetrics, promhttp.HandlerFor(s.m.reg, promhttp.HandlerOpts{}))
	return mux
}

// Serve serves on ln (TLS when the config names a certificate) until ctx is
// done, then shuts down gracefully: in-flight requests finish, sockets are
// closed with 1001. It does not close the store.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	errc := make(chan error, 1)
	go func() {
		var err error
		if s.cfg.TLSCert != "" && s.cfg.TLSKey != "" {
			err = hs.ServeTLS(ln, s.cfg.TLSCert, s.cfg.TLSKey)
		} else {
			err = hs.Serve(ln)
		}
		errc <- err
	}()
	s.log.Info("serving", "addr", ln.Addr().String(), "tls", s.cfg.TLSCert != "")
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		s.log.Warn("http shutdown", "err", err)
	}
	err := s.Shutdown(sctx)
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("server: serve: %w", serveErr)
	}
	return err
}

// ListenAndServe listens on the configured address and calls Serve.
func (s *Server) ListenAndServe(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("server: listen: %w", err)
	}
	return s.Serve(ctx, ln)
}

// Shutdown closes every socket with 1012 and a reconnect slot for its
// client (restartSlots), waits for them (until ctx is done, then drops the
// rest), and stops background work. Stored messages are unaffected: clients
// resume with since=.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopped.Do(func() { close(s.stop) })
	s.mu.Lock()
	s.closing = true
	cs := make([]*client, 0, len(s.clients))
	for c := range s.clients {
		cs = append(cs, c)
	}
	s.mu.Unlock()
	for i, slot := range restartSlots(len(cs), s.now(), s.cfg.RestartSpread, s.cfg.RestartRate, rand.Float64()) {
		cs[i].closeForRestart(slot)
	}
	done := make(chan struct{})
	go func() { s.live.Wait(); s.bg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		for _, c := range cs {
			c.terminate()
		}
		<-done
		err = fmt.Errorf("server: shutdown: %w", ctx.Err())
	}
	if s.poller != nil {
		s.poller.close()
	}
	return err
}

// ConnectedClients is the number of open sockets.
func (s *Server) ConnectedClients() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.clients)
}

// register adds c to the open sockets, or returns the close code and text
// it must be sent instead (shutting down, or not ready). Checked under s.mu,
// so a socket is either refused or seen by Shutdown and readinessChanged.
func (s *Server) register(c *client) (code int, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return websocket.CloseGoingAway, "server shutting down"
	}
	if s.notReady != nil {
		return proto.CloseRetryElsewhere, "instance unavailable"
	}
	s.clients[c] = struct{}{}
	s.live.Add(1)
	s.m.clients.Inc()
	return 0, ""
}

func (s *Server) deregister(c *client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.clients[c]; ok {
		delete(s.clients, c)
		s.m.clients.Dec()
		s.live.Done()
	}
}

// each calls fn for a snapshot of the open sockets.
func (s *Server) each(fn func(*client)) {
	s.mu.Lock()
	cs := make([]*client, 0, len(s.clients))
	for c := range s.clients {
		cs = append(cs, c)
	}
	s.mu.Unlock()
	for _, c := range cs {
		fn(c)
	}
}

// closeToken closes every socket opened with the token h.
func (s *Server) closeToken(h store.TokenHash, code int, text string) {
	s.each(func(c *client) {
		if c.token == h {
			c.closeWith(code, text)
		}
	})
}

// pinger sends a protocol ping to every socket each PingPeriod, and drops
// polled sockets silent for PongWait (checked every PongWait/4). Tickers for
// all sockets keep idle connections free of timers.
func (s *Server) pinger() {
	defer s.bg.Done()
	t := time.NewTicker(s.cfg.PingPeriod)
	defer t.Stop()
	sweep := time.NewTicker(max(s.cfg.PongWait/4, time.Millisecond))
	defer sweep.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.each((*client).ping)
		case <-sweep.C:
			s.sweep()
		}
	}
}

// janitor applies retention and closes sockets whose token was revoked
// elsewhere (tidings-server user del, another instance).
func (s *Server) janitor() {
	defer s.bg.Done()
	prune := time.NewTicker(s.cfg.PruneEvery)
	defer prune.Stop()
	reval := time.NewTicker(s.cfg.RevalidateEvery)
	defer reval.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-s.stop; cancel() }()
	s.prune(ctx)
	for {
		select {
		case <-s.stop:
			return
		case <-prune.C:
			s.prune(ctx)
		case <-reval.C:
			s.revalidate(ctx)
		}
	}
}

func (s *Server) prune(ctx context.Context) {
	n, err := s.store.Prune(ctx, s.now(), s.cfg.Retention)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("retention", "err", err)
		}
		return
	}
	if n > 0 {
		s.log.Info("retention", "removed", n)
	}
}

func (s *Server) revalidate(ctx context.Context) {
	seen := map[store.TokenHash]bool{}
	s.each(func(c *client) {
		if ok, done := seen[c.token]; done {
			if !ok {
				c.closeWith(proto.CloseTokenRevoked, "token revoked")
			}
			return
		}
		_, err := s.store.Token(ctx, c.token)
		ok := !errors.Is(err, store.ErrNotFound)
		seen[c.token] = ok
		if !ok {
			c.closeWith(proto.CloseTokenRevoked, "token revoked")
		}
	})
}
