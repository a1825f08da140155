package natsjs_test

import (
	"io"
	"net"
	"sync"
	"testing"
)

// loadBalancer is a tiny TCP proxy on loopback: each connection goes to the
// first backend not marked dead. kill marks one dead and cuts its
// connections, as a crashed instance would.
type loadBalancer struct {
	ln net.Listener

	mu       sync.Mutex
	backends []string
	dead     map[string]bool
	conns    map[string]map[net.Conn]struct{}
	wg       sync.WaitGroup
}

func newLoadBalancer(t *testing.T, backends ...string) *loadBalancer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &loadBalancer{ln: ln, backends: backends, dead: map[string]bool{}, conns: map[string]map[net.Conn]struct{}{}}
	l.wg.Add(1)
	go l.accept()
	t.Cleanup(l.close)
	return l
}

func (l *loadBalancer) addr() string { return l.ln.Addr().String() }

func (l *loadBalancer) accept() {
	defer l.wg.Done()
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return
		}
		l.wg.Add(1)
		go l.proxy(c)
	}
}

func (l *loadBalancer) pick() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, b := range l.backends {
		if !l.dead[b] {
			return b
		}
	}
	return ""
}

func (l *loadBalancer) track(backend string, cs ...net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dead[backend] {
		return false
	}
	if l.conns[backend] == nil {
		l.conns[backend] = map[net.Conn]struct{}{}
	}
	for _, c := range cs {
		l.conns[backend][c] = struct{}{}
	}
	return true
}

func (l *loadBalancer) untrack(backend string, cs ...net.Conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range cs {
		delete(l.conns[backend], c)
	}
}

func (l *loadBalancer) proxy(c net.Conn) {
	defer l.wg.Done()
	defer c.Close()
	backend := l.pick()
	if backend == "" {
		return
	}
	s, err := net.Dial("tcp", backend)
	if err != nil {
		return
	}
	defer s.Close()
	if !l.track(backend, c, s) {
		return
	}
	defer l.untrack(backend, c, s)
	done := make(chan struct{}, 2)
	go func() { io.Copy(s, c); s.Close(); done <- struct{}{} }()
	go func() { io.Copy(c, s); c.Close(); done <- struct{}{} }()
	<-done
	<-done
}

// kill sends no more connections to backend and cuts the open ones.
func (l *loadBalancer) kill(backend string) {
	l.mu.Lock()
	l.dead[backend] = true
	var cs []net.Conn
	for c := range l.conns[backend] {
		cs = append(cs, c)
	}
	l.mu.Unlock()
	for _, c := range cs {
		c.Close()
	}
}

func (l *loadBalancer) close() {
	l.ln.Close()
	for _, b := range l.backends {
		l.kill(b)
	}
	l.wg.Wait()
}
