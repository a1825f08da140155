package gotifyinterop

import (
	"net"
	"sync"
	"testing"
	"time"
)

// proxy is a loopback TCP proxy with three faults: refuse new connections,
// black hole (bytes vanish both ways), and a silent client (bytes from the
// client vanish on the connections open now; the server's still arrive), as
// a client whose pongs are lost.
type proxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	refuse bool
	hole   bool
	conns  map[*pair]struct{}
	wg     sync.WaitGroup
}

type pair struct {
	client, server net.Conn
	mute           bool // client→server bytes are dropped
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, conns: map[*pair]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() { _ = ln.Close(); p.reset(); p.wg.Wait() })
	return p
}

func (p *proxy) url() string { return "http://" + p.ln.Addr().String() }

func (p *proxy) set(f func(p *proxy)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(p)
}

// muteClients makes every open connection's client silent.
func (p *proxy) muteClients() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.mute = true
	}
}

func (p *proxy) open() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// reset closes every open connection with RST.
func (p *proxy) reset() {
	p.mu.Lock()
	conns := p.conns
	p.conns = map[*pair]struct{}{}
	p.mu.Unlock()
	for c := range conns {
		rst(c.client)
		rst(c.server)
	}
}

func rst(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		refuse := p.refuse
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
		pr := &pair{client: c, server: up}
		p.mu.Lock()
		p.conns[pr] = struct{}{}
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(pr, c, up, true)
		go p.pipe(pr, up, c, false)
	}
}

func (p *proxy) pipe(pr *pair, src, dst net.Conn, upstream bool) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			drop := p.hole || (upstream && pr.mute)
			p.mu.Unlock()
			if !drop {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					break
				}
			}
		}
		if err != nil {
			break
		}
	}
	_ = dst.Close()
	_ = src.Close()
	p.mu.Lock()
	delete(p.conns, pr)
	p.mu.Unlock()
}
