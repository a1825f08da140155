package conn

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Supervisor keeps one live connection to one server account. It dials,
// runs one session at a time, and decides after each what to do: back off
// and retry, retry at once, stop and wait for new credentials, or go
// Offline and wait for a Kick. Create it with New, then Start; Stop ends it.
type Supervisor struct {
	cfg    Config
	server *url.URL
	tls    *tls.Config
	dialer *websocket.Dialer

	kick chan struct{} // capacity 1: a pending kick is never lost, never doubled

	mu      sync.Mutex
	status  Status
	token   Secret
	started bool
	cancel  context.CancelCauseFunc
	done    chan struct{}
	stop    sync.Once

	sinkMu     sync.Mutex // serialises Sink calls
	sinkClosed bool

	deliverMu sync.Mutex // guards ledger, holding, held, catchFrom, pending
	ledger    *ledger
	// catchFrom is where the next REST catch-up starts when it is not the
	// resume point: the point of a catch-up whose re-check has not run yet
	// (see Config.CatchUpRecheck). "" means the resume point.
	catchFrom string
	pending   bool // catchFrom is set
	holding   bool // a CatchUp or its re-check is pending; live messages wait in held
	held      []Message
	liveHeld  chan struct{} // a live message was held (cap 1)
	// lastSent is the Sent of the latest message delivered (LastSent at
	// first); notNewBefore is set by a rebase: what the server sent no
	// later than it is from before its ids restarted. rebased: warned.
	lastSent, notNewBefore time.Time
	rebased                bool

	stats struct {
		dials, sessions, delivered, repeats, badFrames, rechecked, rebases atomic.Uint64
	}
}

// Stats are counters over the Supervisor's life, for tests and diagnostics.
type Stats struct {
	Dials     uint64 // dial attempts
	Sessions  uint64 // successful upgrades
	Delivered uint64 // messages handed to the Sink
	Repeats   uint64 // messages dropped because their id was already delivered
	BadFrames uint64 // frames dropped because they did not decode
	Rechecked uint64 // messages only a catch-up re-check found (see Config.CatchUpRecheck)
	Rebases   uint64 // times the server's ids were found restarted lower (see IDsRestarted)
}

// New checks the configuration (URL policy, CA file, adapter) and returns a
// Supervisor that is not running yet.
func New(cfg Config) (*Supervisor, error) {
	cfg = cfg.withDefaults()
	if cfg.Adapter == nil {
		return nil, ErrNoAdapter
	}
	u, err := serverURL(cfg.Server, cfg.AllowInsecure)
	if err != nil {
		return nil, err
	}
	tc, err := tlsConfig(cfg.CAFile)
	if err != nil {
		return nil, err
	}
	s := &Supervisor{
		cfg:      cfg,
		server:   u,
		tls:      tc,
		kick:     make(chan struct{}, 1),
		token:    cfg.Token,
		done:     make(chan struct{}),
		ledger:   newLedger(cfg.Adapter.OrderedIDs(), cfg.DedupWindow, cfg.LastID, cfg.RecentIDs...),
		lastSent: cfg.LastSent,
		liveHeld: make(chan struct{}, 1),
	}
	s.dialer = &websocket.Dialer{
		HandshakeTimeout: cfg.HandshakeTimeout,
		TLSClientConfig:  tc,
		Proxy:            http.ProxyFromEnvironment,
		NetDialContext:   (&net.Dialer{KeepAlive: cfg.PingInterval}).DialContext,
	}
	s.status = Status{State: StateStopped, Since: cfg.Now()}
	return s, nil
}

// Start runs the Supervisor in its own goroutine. It returns at once.
func (s *Supervisor) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return ErrAlreadyStart
	}
	s.started = true
	ctx, cancel := context.WithCancelCause(context.Background())
	s.cancel = cancel
	go s.run(ctx)
	return nil
}

// Stop closes the socket (with a close frame when it can), ends every
// goroutine, sends a last StateStopped event and returns. When Stop returns
// the Sink will never be called again. Safe to call more than once and
// before Start.
func (s *Supervisor) Stop() {
	s.stop.Do(func() {
		s.mu.Lock()
		started, cancel := s.started, s.cancel
		s.started = true // a Start after Stop does nothing useful
		s.mu.Unlock()
		if started && cancel != nil {
			cancel(ErrStopped)
			<-s.done
		}
		s.setStatus(Status{State: StateStopped})
		s.sinkMu.Lock()
		s.sinkClosed = true
		s.sinkMu.Unlock()
	})
}

// Kick says "the network may have changed": after resume from sleep,
// network-up, or when the user asks to reconnect. Connected: probe the link
// with a ping and reconnect if it does not answer within ProbeTimeout.
// Waiting to retry, Offline or AuthFailed: dial now (a server's Retry-After
// is still honoured). Never blocks.
func (s *Supervisor) Kick() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// SetCredentials replaces the token used by the next dial and kicks, so an
// AuthFailed Supervisor tries again with it.
func (s *Supervisor) SetCredentials(token Secret) {
	s.mu.Lock()
	s.token = token
	s.mu.Unlock()
	s.Kick()
}

// State returns the current status.
func (s *Supervisor) State() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}

// LastID is the id of the last delivered message: persist it and pass it as
// Config.LastID next time to resume where this run stopped.
func (s *Supervisor) LastID() string {
	s.deliverMu.Lock()
	defer s.deliverMu.Unlock()
	return s.ledger.last
}

// Stats returns the counters.
func (s *Supervisor) Stats() Stats {
	return Stats{
		Dials: s.stats.dials.Load(), Sessions: s.stats.sessions.Load(),
		Delivered: s.stats.delivered.Load(), Repeats: s.stats.repeats.Load(),
		BadFrames: s.stats.badFrames.Load(), Rechecked: s.stats.rechecked.Load(),
		Rebases: s.stats.rebases.Load(),
	}
}

func (s *Supervisor) setStatus(st Status) {
	st.Since = s.cfg.Now()
	s.mu.Lock()
	s.status = st
	s.mu.Unlock()
	s.emit(Event{Kind: EventState, Status: st})
	if st.Err != nil {
		s.cfg.Logger.Info("state", "state", st.State, "attempt", st.Attempt, "err", st.Err)
	} else {
		s.cfg.Logger.Debug("state", "state", st.State, "attempt", st.Attempt)
	}
}

func (s *Supervisor) emit(e Event) {
	s.sinkMu.Lock()
	defer s.sinkMu.Unlock()
	if !s.sinkClosed {
		s.cfg.Sink(e)
	}
}

// run is the supervisor loop: one session at a time, then a decision.
func (s *Supervisor) run(ctx context.Context) {
	defer close(s.done)
	failures := 0 // failed sessions since the last stable connection (the attempt shown)
	quick := 0    // quick dials left after a long-enough connection dropped
	spent := 0    // quick dials among failures: they do not grow the backoff
	var lastErr error
	var grid restartGrid // a restarting server's reconnect schedule
	for {
		select { // this dial answers any kick that came before it
		case <-s.kick:
		default:
		}
		s.setStatus(Status{State: StateConnecting, Attempt: failures + 1, Err: lastErr})
		end := s.session(ctx)
		up, err := end.up, end.err
		lastErr = err
		if ctx.Err() != nil {
			return
		}
		if up >= s.cfg.StableAfter {
			failures, spent = 0, 0
		}
		if up > 0 {
			grid = restartGrid{} // connected since: that schedule is spent
		}
		if up >= s.cfg.QuickAfter && s.cfg.QuickDials > 0 {
			quick = s.cfg.QuickDials
		}
		act := classify(err)
		if g, ok := gridAfter(end, act, &s.cfg); ok {
			grid = g
		}
		switch act {
		case actAuth, actOffline:
			st := StateOffline
			if act == actAuth {
				st = StateAuthFailed
			}
			s.setStatus(Status{State: st, Err: err})
			if !s.waitKick(ctx) {
				return
			}
			failures, spent, quick = 0, 0, 0
			continue
		}
		failures++
		if act == actNow && failures == 1 {
			s.cfg.Logger.Info("reconnecting at once", "err", err)
			continue
		}
		d, floor := nextDelay(err, failures-spent, &s.cfg)
		fromGrid := false
		if !floor { // a Retry-After outranks the schedule
			d, fromGrid = grid.nextOr(s.cfg.Now(), d)
		}
		switch {
		case !floor && !fromGrid && quick > 0:
			quick--
			spent++
			d = backoffDelay(1, s.cfg.QuickWindow, s.cfg.QuickWindow, s.cfg.Rand())
		case s.cfg.MaxAttempts > 0 && failures-spent >= s.cfg.MaxAttempts:
			d = slowDelay(s.cfg.SlowRetry, s.cfg.Rand())
			if floor {
				d = max(d, nextFloor(err, &s.cfg))
			}
			s.setStatus(Status{State: StateOffline, Attempt: failures, NextRetry: s.cfg.Now().Add(d),
				Err: fmt.Errorf("gave up rapid attempts after %d: %w", failures, err)})
			kicked, ok := s.waitSlow(ctx, d)
			if !ok {
				return
			}
			if kicked {
				failures, spent, quick = 0, 0, 0
			}
			continue
		}
		s.setStatus(Status{State: StateReconnecting, Attempt: failures, NextRetry: s.cfg.Now().Add(d), Err: err})
		if !s.wait(ctx, d, floor) {
			return
		}
	}
}

// slowDelay is the wait between two dials while Offline: a uniform delay in
// [½, 1½)·every, so desktops that went Offline together do not come back
// together.
func slowDelay(every time.Duration, r float64) time.Duration {
	if r < 0 || r >= 1 {
		r = 0
	}
	return every/2 + time.Duration(r*float64(every))
}

// waitSlow waits d while Offline; a Kick ends it early (kicked). ok is
// false when stopped.
func (s *Supervisor) waitSlow(ctx context.Context, d time.Duration) (kicked, ok bool) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false, false
	case <-t.C:
		s.cfg.Logger.Info("offline: trying the server again")
		return false, true
	case <-s.kick:
		s.cfg.Logger.Info("kicked: dialling now")
		return true, true
	}
}

// wait sleeps d, cut short by a Kick unless floor; false when stopped.
func (s *Supervisor) wait(ctx context.Context, d time.Duration, floor bool) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	kick := s.kick
	if floor {
		kick = nil
	}
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	case <-kick:
		s.cfg.Logger.Info("kicked: dialling now")
		return true
	}
}

// waitKick waits for a Kick; false when stopped.
func (s *Supervisor) waitKick(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return false
	case <-s.kick:
		return true
	}
}
