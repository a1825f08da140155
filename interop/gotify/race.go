package gotifyinterop

import (
	"bufio"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
)

// Gotify's /stream handler writes the 101 before it registers the stream
// (api/stream.Handle: Upgrade, then register), so a message stored and
// pushed in between goes to nobody, and a client whose catch-up already
// asked for the newest id misses it. The race window is microseconds; the
// hook below makes it happen on purpose.

type raceHook struct {
	appToken string
	msg      map[string]any
	wait     time.Duration
	listed   chan struct{} // closed when a GET /message has been answered
	once     sync.Once
	fired    atomic.Bool // the hook went to one stream only
	result   chan RaceResult
}

// RaceResult says what an armed race did.
type RaceResult struct {
	ID  uint  // the message published inside the window
	Err error // the publish failed
	// Listed reports that a GET /message (the client's catch-up) was
	// answered before the publish, i.e. the race was really reproduced.
	Listed bool
}

// RaceNextStream arms a one-shot hook on the next /stream upgrade: after
// Gotify has written the 101 and before it registers the stream, the hook
// waits (up to wait) until a GET /message has been answered, then
// publishes msg with appToken through the real handler. The result
// arrives on the returned channel.
func (s *Server) RaceNextStream(appToken string, msg map[string]any, wait time.Duration) <-chan RaceResult {
	h := &raceHook{appToken: appToken, msg: msg, wait: wait, listed: make(chan struct{}), result: make(chan RaceResult, 1)}
	s.mu.Lock()
	s.race = h
	s.mu.Unlock()
	return h.result
}

// raceStream is the /stream middleware: when a race is armed, Gotify's
// handler gets a writer whose hijacked connection runs the hook after its
// first write (the 101).
func (s *Server) raceStream(c *gin.Context) {
	s.mu.Lock()
	h := s.race
	s.mu.Unlock()
	if h != nil && !h.fired.Swap(true) {
		c.Writer = hookWriter{ResponseWriter: c.Writer, after: func() { s.fire(h) }}
	}
	c.Next()
}

// raceListed is the GET /message middleware: it tells an armed race that a
// listing has been answered.
func (s *Server) raceListed(c *gin.Context) {
	c.Next()
	s.mu.Lock()
	h := s.race
	s.mu.Unlock()
	if h != nil {
		h.once.Do(func() { close(h.listed) })
	}
}

func (s *Server) fire(h *raceHook) {
	defer func() {
		s.mu.Lock()
		if s.race == h {
			s.race = nil
		}
		s.mu.Unlock()
	}()
	t := time.NewTimer(h.wait)
	defer t.Stop()
	r := RaceResult{}
	select {
	case <-h.listed:
		r.Listed = true
	case <-t.C:
	}
	r.ID, r.Err = s.Publish(h.appToken, h.msg)
	h.result <- r
}

type hookWriter struct {
	gin.ResponseWriter
	after func()
}

func (w hookWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := w.ResponseWriter.Hijack()
	if err != nil {
		return c, rw, err
	}
	return &hookConn{Conn: c, after: w.after}, rw, nil
}

type hookConn struct {
	net.Conn
	after func()
	once  sync.Once
}

func (c *hookConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.once.Do(c.after)
	return n, err
}
