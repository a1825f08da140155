package conn

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tidings-app/tidings/proto"
)

// session dials once and owns that one socket until it dies. It returns how
// long the socket was up (0 if the dial failed) and why it ended: the cause
// of the session's context (context.WithCancelCause), set by whichever part
// noticed first (reader, writer, probe, catch-up, Stop).
func (s *Supervisor) session(ctx context.Context) sessionEnd {
	s.mu.Lock()
	token := s.token
	s.mu.Unlock()
	last := s.LastID()
	u, header := s.cfg.Adapter.Endpoint(s.server, token, last)

	s.stats.dials.Add(1)
	dialStart := s.cfg.Now()
	ws, resp, err := s.dial(ctx, u.String(), header)
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		if ctx.Err() != nil {
			return sessionEnd{err: context.Cause(ctx)}
		}
		return sessionEnd{err: s.upgradeError(dialError(err, resp, s.cfg.Now()))}
	}
	s.stats.sessions.Add(1)
	var end sessionEnd
	if h, err := proto.ParseRestartHint(resp.Header.Get(proto.HeaderDropSlot)); err == nil {
		end.dropSlot = &h
	}
	if newest := resp.Header.Get(proto.HeaderNewestID); newest != "" && s.ledger.ordered && restartedBelow(last, newest) {
		// The server replays from its start (since above its newest);
		// rebase before the reader delivers any of it.
		s.deliverMu.Lock()
		s.rebaseLocked(last, newest)
		s.deliverMu.Unlock()
	}

	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var rx atomic.Uint64 // frames, pings and pongs read; the probe watches it
	pongs := make(chan string, 4)
	probe := make(chan struct{}, 1)

	alive := func() {
		rx.Add(1)
		_ = ws.SetReadDeadline(time.Now().Add(s.cfg.DeadAfter))
	}
	ws.SetReadLimit(s.cfg.ReadLimit)
	_ = ws.SetReadDeadline(time.Now().Add(s.cfg.DeadAfter))
	ws.SetPongHandler(func(string) error { alive(); return nil })
	ws.SetPingHandler(func(data string) error {
		alive()
		select { // the writer answers; drop if it is behind (the next ping will do)
		case pongs <- data:
		default:
		}
		return nil
	})
	ws.SetCloseHandler(func(int, string) error { return nil }) // the writer echoes the close

	cu, catchUp := s.cfg.Adapter.(CatchUpper)
	s.deliverMu.Lock()
	s.holding, s.held = catchUp, nil
	select { // a signal from the last session's held frames is stale
	case <-s.liveHeld:
	default:
	}
	s.deliverMu.Unlock()

	get, closeGet := s.fetcher(u, header)
	defer closeGet()

	connected := time.Now()
	s.setStatus(Status{State: StateConnected})

	writerDone, readerDone := make(chan struct{}), make(chan struct{})
	go func() { defer close(writerDone); s.writer(sctx, cancel, ws, pongs, probe, &rx) }()
	go func() { defer close(readerDone); end.readFailed = s.reader(sctx, cancel, ws, alive, dialStart, get) }()

	// After the catch-up, live messages stay held until the re-check has
	// run: at CatchUpRecheck, or at once when a live message arrives (the
	// server has registered the stream by then).
	var recheck <-chan time.Time
	var liveHeld <-chan struct{}
	walked := catchUp && s.catchUp(sctx, cancel, cu, get, last)
	if walked {
		t := time.NewTimer(s.cfg.CatchUpRecheck)
		defer t.Stop()
		recheck, liveHeld = t.C, s.liveHeld
	}
	for sctx.Err() == nil {
		select {
		case <-sctx.Done():
		case <-recheck:
			recheck, liveHeld = nil, nil
			s.recheck(sctx, cancel, cu, get, dialStart)
		case <-liveHeld:
			recheck, liveHeld = nil, nil
			s.recheck(sctx, cancel, cu, get, dialStart)
		case <-s.kick:
			select {
			case probe <- struct{}{}:
			default:
			}
		}
	}
	cause := context.Cause(sctx)
	// The writer has seen sctx and sent a close frame if it should; then
	// closing the socket makes the reader return.
	<-writerDone
	_ = ws.Close()
	<-readerDone
	s.deliverMu.Lock()
	if walked && s.pending && s.catchFrom == "" {
		// A fresh login's walk completed but the re-check did not run:
		// the next walk starts from the adapter's baseline, which may lie
		// past the held frames, so they are shown now. Otherwise held
		// frames are dropped: they are after the pending point, and the
		// next walk fetches them in order with anything the re-check
		// would have found.
		s.releaseHeld()
	}
	s.deliverMu.Unlock()
	end.up, end.err = time.Since(connected), cause
	return end
}

// sessionEnd is how a session ended.
type sessionEnd struct {
	up  time.Duration // how long the socket was up; 0 if the dial failed
	err error
	// dropSlot is the server's reconnect slot for a drop (HeaderDropSlot),
	// nil if it gave none; its first wait counts from readFailed.
	dropSlot   *proto.RestartHint
	readFailed time.Time // when the reader saw the socket fail; zero if it did not
}

// dial is the websocket dial, interruptible by ctx in every phase.
// gorilla's dialer honours ctx only until the TCP connection is up; after
// that (TLS, the HTTP upgrade) it relies on the handshake deadline. Stop
// must not wait for that, so the raw connection is closed when ctx ends.
func (s *Supervisor) dial(ctx context.Context, u string, header http.Header) (*websocket.Conn, *http.Response, error) {
	var mu sync.Mutex
	var raw net.Conn
	d := *s.dialer
	base := d.NetDialContext
	d.NetDialContext = func(dctx context.Context, network, addr string) (net.Conn, error) {
		c, err := base(dctx, network, addr)
		mu.Lock()
		raw = c
		mu.Unlock()
		if err == nil && ctx.Err() != nil {
			_ = c.Close()
		}
		return c, err
	}
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if raw != nil {
			_ = raw.Close()
		}
	})
	defer stop()
	return d.DialContext(ctx, u, header)
}

// reader is the only goroutine that reads the socket. Every frame, ping and
// pong pushes the read deadline out by DeadAfter.
func (s *Supervisor) reader(ctx context.Context, cancel context.CancelCauseFunc, ws *websocket.Conn, alive func(), dialStart time.Time, get Fetcher) (failed time.Time) {
	decode := s.cfg.Adapter.Decode
	if fd, ok := s.cfg.Adapter.(FetchDecoder); ok {
		decode = func(b []byte) (Frame, error) { return fd.DecodeWith(ctx, get, b) }
	}
	for {
		typ, data, err := ws.ReadMessage()
		if err != nil {
			failed = s.cfg.Now()
			cancel(readError(err, failed))
			return failed
		}
		alive()
		if typ != websocket.TextMessage {
			continue // binary frames are not part of any protocol we speak
		}
		f, err := decode(data)
		if err != nil {
			s.stats.badFrames.Add(1)
			s.cfg.Logger.Warn("dropped a frame that did not decode", "bytes", len(data), "err", err)
			continue
		}
		if f.Kind == FrameMessage {
			m := f.Message
			m.CatchUp = !m.Sent.IsZero() && m.Sent.Before(dialStart.Add(-s.cfg.CatchUpSkew))
			s.deliver(m)
		}
	}
}

// readError names why a read failed.
func readError(err error, now time.Time) error {
	var ce *websocket.CloseError
	var ne net.Error
	switch {
	case errors.As(err, &ce) && ce.Code != websocket.CloseAbnormalClosure:
		e := &CloseError{Code: ce.Code}
		if ce.Code == proto.CloseServiceRestart {
			if h, err := proto.ParseRestartHint(ce.Text); err == nil {
				e.Restart, e.Received = &h, now
			}
		}
		return e
	case errors.Is(err, websocket.ErrReadLimit):
		return ErrFrameTooLarge
	case errors.As(err, &ne) && ne.Timeout():
		return ErrDeadLink
	default:
		return fmt.Errorf("%w: %v", ErrConnLost, err)
	}
}

// writer is the only goroutine that writes the socket: protocol pings,
// app heartbeats, pong answers, probes and the close frame.
func (s *Supervisor) writer(ctx context.Context, cancel context.CancelCauseFunc, ws *websocket.Conn, pongs <-chan string, probe <-chan struct{}, rx *atomic.Uint64) {
	ping := time.NewTicker(s.cfg.PingInterval)
	defer ping.Stop()
	var hb <-chan time.Time
	text := s.cfg.Adapter.Heartbeat()
	if text != "" {
		t := time.NewTicker(s.cfg.HeartbeatInterval)
		defer t.Stop()
		hb = t.C
	}
	var probeC <-chan time.Time
	var probeRx uint64
	probeT := time.NewTimer(time.Hour)
	probeT.Stop()
	defer probeT.Stop()
	write := func(typ int, data []byte) bool {
		_ = ws.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
		if err := ws.WriteMessage(typ, data); err != nil {
			cancel(fmt.Errorf("%w: %v", ErrWrite, err))
			return false
		}
		return true
	}
	for {
		select {
		case <-ctx.Done():
			cause := context.Cause(ctx)
			var ce *CloseError
			if errors.Is(cause, ErrStopped) || errors.As(cause, &ce) {
				_ = ws.SetWriteDeadline(time.Now().Add(min(s.cfg.WriteTimeout, time.Second)))
				_ = ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
			}
			return
		case <-ping.C:
			if !write(websocket.PingMessage, nil) {
				return
			}
		case <-hb:
			if !write(websocket.TextMessage, []byte(text)) {
				return
			}
		case data := <-pongs:
			if !write(websocket.PongMessage, []byte(data)) {
				return
			}
		case <-probe:
			if probeC != nil {
				continue // a probe is already out
			}
			probeRx = rx.Load()
			if !write(websocket.PingMessage, []byte("probe")) {
				return
			}
			probeT.Reset(s.cfg.ProbeTimeout)
			probeC = probeT.C
		case <-probeC:
			probeC = nil
			if rx.Load() == probeRx {
				cancel(ErrProbeFailed)
				return
			}
		}
	}
}

// deliver hands one message to the Sink unless its id was delivered
// before. While a CatchUp runs, live messages are held back.
func (s *Supervisor) deliver(m Message) {
	s.deliverMu.Lock()
	defer s.deliverMu.Unlock()
	if s.holding {
		s.held = append(s.held, m)
		select {
		case s.liveHeld <- struct{}{}:
		default:
		}
		return
	}
	s.deliverLocked(m)
}

func (s *Supervisor) deliverLocked(m Message) {
	if s.ledger.repeat(m.ID) || s.fromBeforeRebase(m) {
		s.stats.repeats.Add(1)
		return
	}
	s.ledger.record(m.ID)
	if m.Sent.After(s.lastSent) {
		s.lastSent = m.Sent
	}
	m.Server = s.cfg.Account
	m.Received = s.cfg.Now()
	s.stats.delivered.Add(1)
	s.emit(Event{Kind: EventMessage, Message: m})
}

// upgradeError lets the adapter explain a refused upgrade.
func (s *Supervisor) upgradeError(err error) error {
	var he *HTTPError
	if m, ok := s.cfg.Adapter.(UpgradeErrorMapper); ok && errors.As(err, &he) {
		return m.UpgradeError(he)
	}
	return err
}

// fetcher returns the session's Fetcher: GETs relative to Config.Server
// with the dial's headers and TLS policy, bodies bounded by ReadLimit.
// close releases its idle connections.
func (s *Supervisor) fetcher(wsURL *url.URL, header http.Header) (get Fetcher, close func()) {
	client := &http.Client{
		Timeout:   s.cfg.HandshakeTimeout,
		Transport: &http.Transport{TLSClientConfig: s.tls, Proxy: http.ProxyFromEnvironment},
	}
	base := *wsURL
	base.Scheme = strings.Replace(base.Scheme, "ws", "http", 1)
	base.Path, base.RawPath, base.RawQuery = s.server.Path, "", ""
	get = func(ctx context.Context, pathAndQuery string) ([]byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base.String(), "/")+pathAndQuery, nil)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadURL, err)
		}
		req.Header = header.Clone()
		resp, err := client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("%w: fetch: %v", ErrConnLost, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, &HTTPError{Status: resp.StatusCode, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), s.cfg.Now())}
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, s.cfg.ReadLimit+1))
		if err != nil {
			return nil, fmt.Errorf("%w: fetch: %v", ErrConnLost, err)
		}
		if int64(len(b)) > s.cfg.ReadLimit {
			return b[:s.cfg.ReadLimit], fmt.Errorf("%w (%d bytes)", ErrPageTooLarge, s.cfg.ReadLimit)
		}
		return b, nil
	}
	return get, client.CloseIdleConnections
}

// catchUp runs the adapter's REST catch-up and delivers what it found; live
// frames stay held for the re-check. It starts from the point of an
// earlier catch-up whose re-check never ran, if any, else from last. It
// reports whether it completed; then its end is kept for the re-check.
func (s *Supervisor) catchUp(ctx context.Context, cancel context.CancelCauseFunc, cu CatchUpper, get Fetcher, last string) bool {
	s.deliverMu.Lock()
	from := last
	if s.pending {
		from = s.catchFrom
	}
	s.deliverMu.Unlock()
	msgs, err := cu.CatchUp(ctx, get, from)
	var restarted *IDsRestarted
	errors.As(err, &restarted)
	err = s.reportShort(s.restartedCatchUp(from, err))
	s.deliverMu.Lock()
	defer s.deliverMu.Unlock()
	for _, m := range msgs { // on error: the contiguous run fetched so far
		m.CatchUp = true
		s.deliverLocked(m)
	}
	if restarted != nil && s.ledger.last == "" {
		s.ledger.record(restarted.Newest) // resume from the server's newest, not from nothing
	}
	s.advanceCatchFrom(msgs)
	if err != nil {
		// Nothing held is delivered, nor anything the reader still gets
		// before the socket closes (holding stays on; the next session
		// resets it): the resume point must not jump over what the failed
		// walk did not fetch. The next session's catch-up fetches the rest.
		cancel(err)
		return false
	}
	// Everything stored before this walk asked for the newest id is
	// delivered; what was stored between the upgrade and the server's
	// registration of the stream is not, and the re-check looks for it.
	// Until it has run, the next catch-up starts from here.
	s.catchFrom, s.pending = s.ledger.last, true
	return true
}

// reportShort turns a catch-up that stopped at its bound into a warning and
// an EventShort (the walk itself succeeded); other errors pass.
func (s *Supervisor) reportShort(err error) error {
	var short *ShortCatchUp
	if !errors.As(err, &short) {
		return err
	}
	s.cfg.Logger.Warn("catch-up stopped at its bound; older missed messages are not fetched",
		"fetched", short.Fetched, "missed", short.Missed, "at_least", short.AtLeast)
	s.emit(Event{Kind: EventShort, Short: short})
	return nil
}

// recheck runs the catch-up once more from the point the first one
// reached, now that the server has surely registered the stream, then
// releases the held live frames: what only the re-check finds (a message
// stored between the upgrade and the registration, which Gotify pushes to
// nobody) is delivered with them, in id order. On an error the session
// ends and the next one's catch-up starts from the same point.
func (s *Supervisor) recheck(ctx context.Context, cancel context.CancelCauseFunc, cu CatchUpper, get Fetcher, dialStart time.Time) {
	s.deliverMu.Lock()
	from := s.catchFrom
	s.deliverMu.Unlock()
	msgs, err := cu.CatchUp(ctx, get, from)
	err = s.reportShort(s.restartedCatchUp(from, err))
	s.deliverMu.Lock()
	defer s.deliverMu.Unlock()
	found := 0
	for i, m := range msgs {
		if !s.ledger.repeat(m.ID) && !slices.ContainsFunc(s.held, func(h Message) bool { return h.ID == m.ID }) {
			found++
		}
		// Like a live frame: found late, but not old unless it is.
		msgs[i].CatchUp = !m.Sent.IsZero() && m.Sent.Before(dialStart.Add(-s.cfg.CatchUpSkew))
	}
	if err != nil {
		for _, m := range msgs { // the contiguous run fetched so far
			s.deliverLocked(m)
		}
		s.advanceCatchFrom(msgs)
		cancel(err)
		return
	}
	if found > 0 {
		s.stats.rechecked.Add(uint64(found))
		s.cfg.Logger.Info("the catch-up re-check found messages the stream did not push", "messages", found)
	}
	// What the re-check found and the held live frames go out together, in
	// id order when ids are ordered: a fresh login's baseline can lie above
	// frames held during the first walk (stored after the stream was
	// registered, before the walk asked for the newest id), and the ledger
	// would take those for old once higher ids were shown.
	all := append(msgs, s.held...)
	if s.ledger.ordered {
		slices.SortStableFunc(all, compareIDs)
	}
	s.held, s.holding = nil, false
	s.catchFrom, s.pending = "", false
	for _, m := range all {
		s.deliverLocked(m)
	}
}

// compareIDs orders numeric ids by value; others compare equal (a stable
// sort keeps their order).
func compareIDs(a, b Message) int {
	x, errA := strconv.ParseUint(a.ID, 10, 64)
	y, errB := strconv.ParseUint(b.ID, 10, 64)
	if errA != nil || errB != nil {
		return 0
	}
	return cmp.Compare(x, y)
}

// releaseHeld delivers the held live frames and stops holding (deliverMu
// held).
func (s *Supervisor) releaseHeld() {
	held := s.held
	s.held, s.holding = nil, false
	for _, m := range held {
		s.deliverLocked(m)
	}
}

// advanceCatchFrom moves a pending catch-up point past a contiguous run
// just fetched from it: everything up to the run's end is delivered, so a
// walk cut by the next drop keeps its progress (deliverMu held).
func (s *Supervisor) advanceCatchFrom(run []Message) {
	if s.pending && len(run) > 0 {
		s.catchFrom = run[len(run)-1].ID
	}
}
