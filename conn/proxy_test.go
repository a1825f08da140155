package conn

import (
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"
)

// faultProxy is a TCP proxy in the test process that injects faults
// between the client and a server: black hole (bytes vanish), pause (bytes
// wait), latency with jitter (order kept), reset (RST every connection) and
// refuse (RST every new connection).
type faultProxy struct {
	ln     net.Listener
	target string

	mu       sync.Mutex
	mode     proxyMode
	resumed  chan struct{} // closed when a pause ends
	latency  time.Duration
	jitter   time.Duration
	conns    map[net.Conn]struct{}
	accepted []time.Time
	wg       sync.WaitGroup
}

type proxyMode int

const (
	proxyPass proxyMode = iota
	proxyBlackHole
	proxyPause
	proxyRefuse
)

func newFaultProxy(t testing.TB, target string) *faultProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}, resumed: make(chan struct{})}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *faultProxy) url() string { return "ws://" + p.ln.Addr().String() }

func (p *faultProxy) setMode(m proxyMode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mode == proxyPause && m != proxyPause {
		close(p.resumed)
		p.resumed = make(chan struct{})
	}
	p.mode = m
}

func (p *faultProxy) setLatency(latency, jitter time.Duration) {
	p.mu.Lock()
	p.latency, p.jitter = latency, jitter
	p.mu.Unlock()
}

func (p *faultProxy) acceptTimes() []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]time.Time(nil), p.accepted...)
}

// reset sends RST on every open connection, both sides.
func (p *faultProxy) reset() {
	p.mu.Lock()
	conns := p.conns
	p.conns = map[net.Conn]struct{}{}
	p.mu.Unlock()
	for c := range conns {
		rst(c)
	}
}

func rst(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

func (p *faultProxy) close() {
	_ = p.ln.Close()
	p.setMode(proxyPass)
	p.reset()
	p.wg.Wait()
}

func (p *faultProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.accepted = append(p.accepted, time.Now())
		refuse := p.mode == proxyRefuse
		p.mu.Unlock()
		if refuse {
			rst(c)
			continue
		}
		up, err := net.DialTimeout("tcp", p.target, time.Second)
		if err != nil {
			rst(c)
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[up] = struct{}{}, struct{}{}
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(c, up)
		go p.pipe(up, c)
	}
}

type chunk struct {
	b  []byte
	at time.Time
}

// pipe copies src to dst through the fault model. A reader goroutine
// stamps each chunk with its delivery time; this goroutine delivers in
// order.
func (p *faultProxy) pipe(src, dst net.Conn) {
	defer p.wg.Done()
	q := make(chan chunk, 4096)
	go func() {
		defer close(q)
		var last time.Time
		for {
			buf := make([]byte, 32<<10)
			n, err := src.Read(buf)
			if n > 0 {
				p.mu.Lock()
				mode, resumed, lat, jit := p.mode, p.resumed, p.latency, p.jitter
				p.mu.Unlock()
				if mode == proxyPause {
					<-resumed
					p.mu.Lock()
					mode, lat, jit = p.mode, p.latency, p.jitter
					p.mu.Unlock()
				}
				if mode == proxyBlackHole {
					continue
				}
				d := lat
				if jit > 0 {
					d += time.Duration(rand.Int64N(int64(2*jit))) - jit
				}
				at := time.Now().Add(d)
				if at.Before(last) {
					at = last
				}
				last = at
				q <- chunk{buf[:n], at}
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
}
