package server

import (
	"errors"
	"net"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tidings-app/tidings/proto"
)

// startReading reads c's socket through the poller when it can (a plain
// TCP socket, Linux, Config.GoroutineReaders off), else from a goroutine of
// its own (readLoop). Through TLS the bytes the socket holds are not what
// a frame parser needs, so TLS sockets keep their goroutine.
func (c *client) startReading() {
	if p := c.s.poller; p != nil {
		if tc, ok := c.ws.NetConn().(*net.TCPConn); ok {
			if rc, err := tc.SyscallConn(); err == nil {
				fd := -1
				if rc.Control(func(u uintptr) { fd = int(u) }) == nil && fd >= 0 {
					c.rc = rc
					c.seen()
					c.polled.Store(true) // before add: ready may run at once
					if err := p.add(c, fd); err == nil {
						return
					}
					c.polled.Store(false)
				}
			}
		}
	}
	go c.readLoop()
}

// seen records a sign of life (a pong or a HeartBeat); the sweep drops a
// polled socket silent for PongWait.
func (c *client) seen() { c.lastSeen.Store(c.s.now().UnixNano()) }

// silentFor reports how long a polled socket has shown no sign of life.
func (c *client) silentFor(now time.Time) time.Duration {
	return now.Sub(time.Unix(0, c.lastSeen.Load()))
}

// readReady runs when the poller saw c's socket readable: it reads what is
// there without waiting, handles every whole frame, keeps a partial one,
// and re-arms. The poller is one-shot, so one readReady runs at a time.
func (c *client) readReady() {
	var buf [512]byte
	for {
		n, again, err := c.s.poller.read(c, buf[:])
		if again {
			break
		}
		if err != nil || n == 0 {
			if err == nil {
				err = errors.New("EOF")
			}
			c.s.log.Debug("socket closed", "user", c.user, "err", err)
			c.terminate()
			return
		}
		c.pending = append(c.pending, buf[:n]...)
		if !c.consume() {
			return
		}
		if n < len(buf) {
			break // level-triggered: re-arming reports anything left
		}
	}
	c.s.poller.rearm(c)
}

// consume handles the whole frames in c.pending like readLoop does through
// gorilla: pongs and HeartBeats are signs of life, HeartBeats are answered,
// pings get a pong, a close is echoed and ends the socket, other data is
// ignored. A framing error closes with 1002 (1009 when too large). It
// returns false when the socket is done.
func (c *client) consume() bool {
	b := c.pending
	for {
		f, n, err := parseClientFrame(b, c.s.cfg.MaxClientFrame)
		if err != nil {
			code := websocket.CloseProtocolError
			if errors.Is(err, errFrameTooBig) {
				code = websocket.CloseMessageTooBig
			}
			c.fail(code, err)
			return false
		}
		if n == 0 {
			break
		}
		b = b[n:]
		switch f.op {
		case websocket.PongMessage:
			c.seen()
		case websocket.PingMessage:
			_ = c.ws.WriteControl(websocket.PongMessage, f.payload, c.s.now().Add(c.s.cfg.WriteWait))
		case websocket.TextMessage:
			if f.fin && strings.TrimRight(string(f.payload), "\r\n") == proto.HeartBeat {
				c.seen()
				c.heartbeat()
			}
		case websocket.CloseMessage:
			code, ok := closeCodeOf(f.payload)
			if !ok {
				c.fail(websocket.CloseProtocolError, errFrameProtocol)
				return false
			}
			echo := []byte{}
			if code != websocket.CloseNoStatusReceived {
				echo = websocket.FormatCloseMessage(code, "")
			}
			_ = c.ws.WriteControl(websocket.CloseMessage, echo, c.s.now().Add(c.s.cfg.WriteWait))
			c.s.log.Debug("socket closed", "user", c.user, "code", code)
			c.terminate()
			return false
		}
	}
	switch {
	case len(b) == 0:
		c.pending = nil // an idle socket holds no buffer
	case len(b) < len(c.pending):
		c.pending = append([]byte(nil), b...)
	}
	return true
}

// fail closes the socket after a framing error, telling the client why.
func (c *client) fail(code int, err error) {
	c.s.log.Debug("socket closed", "user", c.user, "err", err)
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, ""), c.s.now().Add(c.s.cfg.WriteWait))
	c.terminate()
}

// sweep drops the polled sockets that have been silent for PongWait (the
// goroutine readers have a read deadline for that).
func (s *Server) sweep() {
	now := s.now()
	s.each(func(c *client) {
		if c.polled.Load() && c.silentFor(now) > s.cfg.PongWait {
			s.log.Debug("socket closed", "user", c.user, "err", "no pong or HeartBeat within the pong wait")
			c.terminate()
		}
	})
}
