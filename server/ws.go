package server

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tidings-app/tidings/proto"
	"github.com/tidings-app/tidings/server/hub"
	"github.com/tidings-app/tidings/server/store"
)

// maxPendingHeartbeats bounds HeartBeat answers owed to one client, so a
// client flooding HeartBeats cannot grow server memory.
const maxPendingHeartbeats = 4

// handleWS: GET /ws. Checks, in order: Origin (403), token (401), since
// (400); then upgrades, subscribes, replays what is stored after since, and
// goes live.
func (s *Server) handleWS(w http.ResponseWriter, r *http.Request) {
	if s.unavailable(w) {
		return
	}
	if !s.originAllowed(r) {
		writeError(w, http.StatusForbidden, "origin not allowed")
		return
	}
	tok, ok := bearer(r)
	if !ok && r.Header.Get("Authorization") == "" {
		// Browsers cannot set headers on a WebSocket: accept ?token= there.
		if q := r.URL.Query().Get("token"); q != "" {
			tok, ok = Secret(q), true
		}
	}
	if !ok {
		writeError(w, http.StatusUnauthorized, "missing bearer token")
		return
	}
	h := HashToken(tok)
	t, err := s.store.Token(r.Context(), h)
	if err != nil || t.Kind != store.KindSession {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			s.log.Error("ws token lookup", "err", err)
			writeError(w, http.StatusServiceUnavailable, "try again")
			return
		}
		writeError(w, http.StatusUnauthorized, "unknown or revoked token")
		return
	}
	var since uint64
	if v := r.URL.Query().Get(proto.QuerySince); v != "" {
		since, err = strconv.ParseUint(v, 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, "since must be a message id")
			return
		}
	}
	header := http.Header{}
	if u, err := s.store.User(r.Context(), t.User); err == nil {
		// The client learns our newest id; above it, its since is from
		// before our ids restarted (reinstall, restore, the user added
		// again, another backend): replay from the start, it rebases.
		header.Set(proto.HeaderNewestID, strconv.FormatUint(u.LastID, 10))
		if since > u.LastID {
			s.log.Info("a client resumes after an id this server never gave; replaying from the start",
				"user", t.User, "since", since, "newest", u.LastID)
			since = 0
		}
	} else {
		s.log.Warn("ws: newest id of the user", "user", t.User, "err", err)
	}
	slot := dropSlot(s.upgrades.Add(1), s.ConnectedClients()+1, s.cfg.RestartSpread, s.cfg.RestartRate)
	header.Set(proto.HeaderDropSlot, slot.String())
	ws, err := s.upgrader.Upgrade(w, r, header)
	if err != nil {
		return // the upgrader has answered
	}
	c := &client{s: s, ws: ws, user: t.User, token: h, lastID: since, writing: true}
	if code, text := s.register(c); code != 0 {
		ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), s.now().Add(s.cfg.WriteWait))
		ws.Close()
		return
	}
	// Subscribe before reading the store: a message stored from now on is
	// in the queue, one stored before is in the replay, one in both is
	// skipped by id. c.writing is true, so live frames wait in the queue
	// until the replay is written.
	c.cancel = s.broker.Subscribe(t.User, c)
	c.startReading()
	if err := c.replay(r.Context()); err != nil {
		s.log.Debug("replay ended", "user", c.user, "err", err)
		c.terminate()
		return
	}
	c.writeLoop()
}

// originAllowed: no Origin (desktop clients) is fine; a browser Origin must
// be the server's own host or listed in AllowedOrigins.
func (s *Server) originAllowed(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	for _, a := range s.cfg.AllowedOrigins {
		if strings.EqualFold(o, a) {
			return true
		}
	}
	u, err := url.Parse(o)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

// client is one socket. Reads are done by the poller (ws_poll.go) or, where
// it cannot be used, by a goroutine of the socket's own (readLoop). Writes
// are done by at most one goroutine at a time, the one that set writing:
// the handler during replay, then a writer started on demand when something
// is queued, which exits when the queue is empty. An idle polled socket
// therefore costs no goroutine and no timer.
type client struct {
	s      *Server
	ws     *websocket.Conn
	user   string
	token  store.TokenHash
	cancel func()

	mu         sync.Mutex
	queue      []*hub.Envelope
	heartbeats int
	pingDue    bool
	closeCode  int // pending close frame; no more frames after it
	closeText  string
	restart    restartSlot // with CloseServiceRestart: the text is made when sent
	writing    bool        // a goroutine owns the writes
	dead       bool

	lastID uint64 // owned by the writer: highest id written
	once   sync.Once

	// Polled sockets (ws_poll.go).
	polled   atomic.Bool
	rc       syscall.RawConn
	fd       int
	pollID   uint64
	pending  []byte       // a partial frame; owned by readReady
	lastSeen atomic.Int64 // unix ns of the last pong or HeartBeat
}

// Deliver implements hub.Subscriber. It never blocks: when the queue is
// full the socket is closed with CloseSlowConsumer; the message stays stored
// and the client catches up with since=.
func (c *client) Deliver(e *hub.Envelope) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead || c.closeCode != 0 {
		return
	}
	if len(c.queue) >= c.s.cfg.QueueLen {
		c.s.m.dropped.Add(float64(len(c.queue) + 1))
		c.s.m.slow.Inc()
		c.s.log.Warn("slow consumer", "user", c.user, "queued", len(c.queue))
		c.queue = nil
		c.closeCode, c.closeText = proto.CloseSlowConsumer, "too slow"
	} else {
		c.queue = append(c.queue, e)
	}
	c.kickLocked()
}

func (c *client) kickLocked() {
	if !c.writing && !c.dead {
		c.writing = true
		go c.writeLoop()
	}
}

func (c *client) ping() {
	c.mu.Lock()
	c.pingDue = true
	c.kickLocked()
	c.mu.Unlock()
}

func (c *client) heartbeat() {
	c.mu.Lock()
	if c.heartbeats < maxPendingHeartbeats {
		c.heartbeats++
	}
	c.kickLocked()
	c.mu.Unlock()
}

// closeWith sends a close frame with code after the frame being written, and
// drops what is queued (it is stored).
func (c *client) closeWith(code int, text string) {
	c.mu.Lock()
	if c.closeCode == 0 {
		c.closeCode, c.closeText = code, text
		c.queue = nil
	}
	c.kickLocked()
	c.mu.Unlock()
}

// closeForRestart is closeWith(1012) whose reason, the client's reconnect
// slot, is written when the frame is sent.
func (c *client) closeForRestart(slot restartSlot) {
	c.mu.Lock()
	if c.closeCode == 0 {
		c.restart = slot
	}
	c.mu.Unlock()
	c.closeWith(proto.CloseServiceRestart, "")
}

// terminate closes the socket at once and forgets the client. Idempotent.
func (c *client) terminate() {
	c.once.Do(func() {
		c.mu.Lock()
		c.dead = true
		c.queue = nil
		c.mu.Unlock()
		if c.polled.Load() {
			c.s.poller.remove(c) // before Close: the fd number may be reused
		}
		c.ws.Close()
		if c.cancel != nil {
			c.cancel()
		}
		c.s.deregister(c)
	})
}

// replay writes every stored message after lastID, in batches.
func (c *client) replay(ctx context.Context) error {
	for {
		msgs, err := c.s.store.Since(ctx, c.user, c.lastID, c.s.cfg.ReplayBatch)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			c.mu.Lock()
			stop := c.closeCode != 0 || c.dead
			c.mu.Unlock()
			if stop {
				return nil // the write loop sends the close
			}
			if err := c.writeMessage(m, time.Time{}); err != nil {
				return err
			}
		}
		if len(msgs) < c.s.cfg.ReplayBatch {
			return nil
		}
	}
}

func (c *client) writeMessage(m proto.Message, published time.Time) error {
	frame, err := encodeMessage(m)
	if err != nil {
		return err
	}
	return c.writeFrame(m.ID, frame, published)
}

func (c *client) writeFrame(id uint64, frame []byte, published time.Time) error {
	c.ws.SetWriteDeadline(c.s.now().Add(c.s.cfg.WriteWait))
	if err := c.ws.WriteMessage(websocket.TextMessage, frame); err != nil {
		return err
	}
	c.lastID = id
	c.s.m.delivered.Inc()
	if !published.IsZero() {
		c.s.m.latency.Observe(c.s.now().Sub(published).Seconds())
	}
	return nil
}

// writeLoop writes what is pending until nothing is, then gives up the
// writer role. Only the goroutine that set c.writing runs it.
func (c *client) writeLoop() {
	for {
		c.mu.Lock()
		if c.dead {
			c.mu.Unlock()
			return
		}
		var err error
		switch {
		case c.closeCode != 0:
			code, text := c.closeCode, c.closeText
			if code == proto.CloseServiceRestart && c.restart.every > 0 {
				text = c.restart.hint(c.s.now()).String()
			}
			c.mu.Unlock()
			c.sendClose(code, text)
			return // writing stays true: nothing is written after a close
		case c.pingDue:
			c.pingDue = false
			c.mu.Unlock()
			err = c.ws.WriteControl(websocket.PingMessage, nil, c.s.now().Add(c.s.cfg.WriteWait))
		case c.heartbeats > 0:
			c.heartbeats--
			c.mu.Unlock()
			c.ws.SetWriteDeadline(c.s.now().Add(c.s.cfg.WriteWait))
			err = c.ws.WriteMessage(websocket.TextMessage, []byte(proto.HeartBeat))
		case len(c.queue) > 0:
			e := c.queue[0]
			c.queue[0] = nil
			c.queue = c.queue[1:]
			if len(c.queue) == 0 {
				c.queue = nil // an idle socket holds no backing array
			}
			c.mu.Unlock()
			if e.ID > c.lastID {
				err = c.writeFrame(e.ID, e.Frame, e.Published)
			} else if !e.Published.IsZero() {
				// Already written by the replay, which raced this live
				// publish: it still counts once in the publish-to-write
				// latency, measured now (an upper bound).
				c.s.m.latency.Observe(c.s.now().Sub(e.Published).Seconds())
			}
		default:
			c.writing = false
			c.mu.Unlock()
			return
		}
		if err != nil {
			c.s.log.Debug("write failed", "user", c.user, "err", err)
			c.terminate()
			return
		}
	}
}

// sendClose writes the close frame and gives the peer WriteWait to answer
// before the reader gives up and the socket is closed.
func (c *client) sendClose(code int, text string) {
	deadline := c.s.now().Add(c.s.cfg.WriteWait)
	if err := c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), deadline); err != nil {
		c.terminate()
		return
	}
	if c.polled.Load() {
		time.AfterFunc(c.s.cfg.WriteWait, c.terminate)
		return
	}
	c.ws.NetConn().SetReadDeadline(deadline)
}

// readLoop reads until the socket fails: pongs and HeartBeats keep it alive,
// HeartBeats are answered, anything else a client sends is ignored.
func (c *client) readLoop() {
	defer c.terminate()
	cfg := c.s.cfg
	c.ws.SetReadLimit(int64(cfg.MaxClientFrame))
	alive := func() { c.ws.SetReadDeadline(c.s.now().Add(cfg.PongWait)) }
	alive()
	c.ws.SetPongHandler(func(string) error { alive(); return nil })
	var buf [len(proto.HeartBeat) + 2]byte
	for {
		typ, r, err := c.ws.NextReader()
		if err != nil {
			c.s.log.Debug("socket closed", "user", c.user, "err", err)
			return
		}
		if typ != websocket.TextMessage {
			continue
		}
		n, _ := io.ReadFull(r, buf[:])
		if strings.TrimRight(string(buf[:n]), "\r\n") == proto.HeartBeat {
			alive()
			c.heartbeat()
		}
	}
}
