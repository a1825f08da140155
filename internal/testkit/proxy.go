package testkit

import (
	"errors"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"
)

// Mode is what a Proxy does with the bytes and connections it sees.
type Mode int

const (
	// Pass forwards bytes (after the latency, if one is set).
	Pass Mode = iota
	// BlackHole drops every byte, both ways, on every connection.
	BlackHole
	// Pause holds every byte until the mode changes, then delivers it.
	Pause
	// Refuse accepts new connections and resets them at once.
	Refuse
)

// Proxy is a loopback TCP proxy that puts faults between a client and a
// server: a black hole, a pause, latency with jitter (order kept), a client
// whose bytes vanish (MuteClients), a reset of every connection, refused
// connections, and a cut (the server's machine went away: every connection
// reset, dials refused by the kernel until Restore listens again on the
// same address).
type Proxy struct {
	target string
	addr   string

	mu      sync.Mutex
	ln      net.Listener
	mode    Mode
	resumed chan struct{} // closed when a pause ends
	latency time.Duration
	jitter  time.Duration
	conns   map[*pair]struct{}
	accepts int
	closed  bool
	wg      sync.WaitGroup
}

type pair struct {
	client, server net.Conn
	mute           bool // client→server bytes are dropped
}

// NewProxy listens on a free loopback port and forwards to target.
func NewProxy(target string) (*Proxy, error) {
	p := &Proxy{target: target, conns: map[*pair]struct{}{}, resumed: make(chan struct{})}
	if err := p.listen("127.0.0.1:0"); err != nil {
		return nil, err
	}
	return p, nil
}

// StartProxy is NewProxy for a test: it fails t on error and closes the
// proxy when the test ends.
func StartProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	p, err := NewProxy(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.addr }

// SetMode switches the fault model for every connection, open or new.
func (p *Proxy) SetMode(m Mode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mode == Pause && m != Pause {
		close(p.resumed)
		p.resumed = make(chan struct{})
	}
	p.mode = m
}

// SetLatency delays every chunk by latency ± jitter, keeping their order.
func (p *Proxy) SetLatency(latency, jitter time.Duration) {
	p.mu.Lock()
	p.latency, p.jitter = latency, jitter
	p.mu.Unlock()
}

// MuteClients silences the client side of every connection open now: what
// the client sends vanishes, what the server sends still arrives (a client
// whose pongs are lost).
func (p *Proxy) MuteClients() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.mute = true
	}
}

// Open is the number of connections open through the proxy.
func (p *Proxy) Open() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// Accepts is the number of connections accepted so far.
func (p *Proxy) Accepts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepts
}

// Reset closes every open connection, both sides, with RST.
func (p *Proxy) Reset() {
	p.mu.Lock()
	conns := p.conns
	p.conns = map[*pair]struct{}{}
	p.mu.Unlock()
	for c := range conns {
		rst(c.client)
		rst(c.server)
	}
}

// Cut resets every connection and stops listening, as when the server's
// machine goes away; Restore undoes it.
func (p *Proxy) Cut() {
	p.mu.Lock()
	ln := p.ln
	p.ln = nil
	p.mu.Unlock()
	if ln != nil {
		_ = ln.Close()
	}
	p.Reset()
}

// Restore listens again on the address the proxy had before Cut.
func (p *Proxy) Restore() error {
	p.mu.Lock()
	up := p.ln != nil
	p.mu.Unlock()
	if up {
		return nil
	}
	return p.listen(p.addr)
}

// Close stops the proxy and waits for its goroutines.
func (p *Proxy) Close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.Cut()
	p.SetMode(Pass)
	p.wg.Wait()
}

func (p *Proxy) listen(addr string) error {
	var ln net.Listener
	var err error
	for range 100 { // the port was just released: it may take a moment
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond) // retrying a bind, not synchronisation
	}
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		_ = ln.Close()
		return errors.New("testkit: proxy closed")
	}
	p.ln, p.addr = ln, ln.Addr().String()
	p.wg.Add(1)
	go p.accept(ln)
	return nil
}

func rst(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

func (p *Proxy) accept(ln net.Listener) {
	defer p.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.accepts++
		refuse := p.mode == Refuse
		p.mu.Unlock()
		if refuse {
			rst(c)
			continue
		}
		up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
		if err != nil {
			rst(c)
			continue
		}
		pr := &pair{client: c, server: up}
		p.mu.Lock()
		if p.ln != ln { // cut meanwhile
			p.mu.Unlock()
			rst(c)
			rst(up)
			continue
		}
		p.conns[pr] = struct{}{}
		p.wg.Add(2)
		p.mu.Unlock()
		go p.pipe(pr, c, up, true)
		go p.pipe(pr, up, c, false)
	}
}

type chunk struct {
	b  []byte
	at time.Time
}

// pipe copies src to dst through the fault model: a reader goroutine
// stamps each chunk with its delivery time, this one delivers in order.
func (p *Proxy) pipe(pr *pair, src, dst net.Conn, upstream bool) {
	defer p.wg.Done()
	q := make(chan chunk, 4096)
	go func() {
		defer close(q)
		var last time.Time
		for {
			buf := make([]byte, 32<<10)
			n, err := src.Read(buf)
			if n > 0 {
				if c, ok := p.stamp(pr, buf[:n], upstream, last); ok {
					last = c.at
					q <- c
				}
			}
			if err != nil {
				return
			}
		}
	}()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for c := range q {
		if d := time.Until(c.at); d > 0 {
			timer.Reset(d)
			<-timer.C
		}
		if _, err := dst.Write(c.b); err != nil {
			break
		}
	}
	_ = dst.Close()
	_ = src.Close()
	for range q { // let the reader finish
	}
	p.mu.Lock()
	delete(p.conns, pr)
	p.mu.Unlock()
}

// stamp applies the fault model to one chunk: false if it is dropped. A
// pause blocks here until it ends.
func (p *Proxy) stamp(pr *pair, b []byte, upstream bool, last time.Time) (chunk, bool) {
	p.mu.Lock()
	mode, resumed := p.mode, p.resumed
	p.mu.Unlock()
	if mode == Pause {
		<-resumed
	}
	p.mu.Lock()
	mode, lat, jit, mute := p.mode, p.latency, p.jitter, pr.mute
	p.mu.Unlock()
	if mode == BlackHole || (upstream && mute) {
		return chunk{}, false
	}
	d := lat
	if jit > 0 {
		d += time.Duration(rand.Int64N(int64(2*jit))) - jit
	}
	at := time.Now().Add(d)
	if at.Before(last) {
		at = last
	}
	return chunk{b, at}, true
}
