package testkit

import (
	"bufio"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// echo is a loopback server that writes back every line it reads.
func echo(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(c, c); _ = c.Close() }()
		}
	}()
	t.Cleanup(func() { _ = ln.Close(); <-done })
	return ln.Addr().String()
}

func roundTrip(c net.Conn, line string, within time.Duration) (string, error) {
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		return "", err
	}
	_ = c.SetReadDeadline(time.Now().Add(within))
	return bufio.NewReader(c).ReadString('\n')
}

func dial(t *testing.T, p *Proxy) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestTheProxyPassesBytesAndEveryFaultDoesWhatItSays(t *testing.T) {
	NoLeaks(t)
	p := StartProxy(t, echo(t))
	c := dial(t, p)
	if got, err := roundTrip(c, "one", Patience()); err != nil || got != "one\n" {
		t.Fatalf("pass: %q %v", got, err)
	}
	p.SetMode(BlackHole)
	if got, err := roundTrip(c, "lost", 50*time.Millisecond); !isTimeout(err) {
		t.Fatalf("black hole: read %q %v, want a timeout", got, err)
	}
	p.SetMode(Pause)
	if _, err := roundTrip(c, "held", 50*time.Millisecond); !isTimeout(err) {
		t.Fatalf("pause: want a timeout, got %v", err)
	}
	p.SetMode(Pass) // the held line arrives now
	_ = c.SetReadDeadline(time.Now().Add(Patience()))
	if got, err := bufio.NewReader(c).ReadString('\n'); err != nil || got != "held\n" {
		t.Fatalf("after the pause: %q %v", got, err)
	}
	p.Reset()
	if _, err := roundTrip(c, "x", Patience()); err == nil {
		t.Fatal("a reset connection still answers")
	}
	p.SetMode(Refuse)
	// The proxy accepts and resets at once: the dial itself may see the
	// reset (ECONNRESET) or the first read does; either is a refusal.
	if rc, err := net.Dial("tcp", p.Addr()); err == nil {
		_, err := roundTrip(rc, "x", Patience())
		rc.Close()
		if err == nil {
			t.Fatal("a refused connection answers")
		}
	}
	p.SetMode(Pass)
	c = dial(t, p)
	Eventually(t, "the new connection to be open", func() bool { return p.Open() == 1 })
	p.MuteClients()
	if _, err := roundTrip(c, "muted", 50*time.Millisecond); !isTimeout(err) {
		t.Fatalf("a muted client's line still reached the server: %v", err)
	}
	if got, err := roundTrip(dial(t, p), "new", Patience()); err != nil || got != "new\n" {
		t.Fatalf("a new connection after MuteClients: %q %v", got, err)
	}
	if n := p.Accepts(); n != 4 {
		t.Fatalf("accepts = %d, want 4", n)
	}
}

func TestACutProxyRefusesDialsUntilItIsRestoredOnTheSameAddress(t *testing.T) {
	NoLeaks(t)
	p := StartProxy(t, echo(t))
	addr := p.Addr()
	c := dial(t, p)
	p.Cut()
	if _, err := roundTrip(c, "x", Patience()); err == nil {
		t.Fatal("a connection survived the cut")
	}
	if _, err := net.Dial("tcp", addr); !isRefused(err) {
		t.Fatalf("dial after the cut: %v, want connection refused", err)
	}
	if err := p.Restore(); err != nil {
		t.Fatal(err)
	}
	if p.Addr() != addr {
		t.Fatalf("restored on %s, want %s", p.Addr(), addr)
	}
	if got, err := roundTrip(dial(t, p), "back", Patience()); err != nil || got != "back\n" {
		t.Fatalf("after restore: %q %v", got, err)
	}
}

func TestLatencyDelaysEveryChunkAndKeepsTheirOrder(t *testing.T) {
	p := StartProxy(t, echo(t))
	p.SetLatency(20*time.Millisecond, 10*time.Millisecond)
	c := dial(t, p)
	r := bufio.NewReader(c)
	start := time.Now()
	for _, s := range []string{"a\n", "b\n", "c\n"} {
		if _, err := io.WriteString(c, s); err != nil {
			t.Fatal(err)
		}
	}
	_ = c.SetReadDeadline(time.Now().Add(Patience()))
	for _, want := range []string{"a\n", "b\n", "c\n"} {
		if got, err := r.ReadString('\n'); err != nil || got != want {
			t.Fatalf("got %q %v, want %q", got, err, want)
		}
	}
	// Two passes (there and back) of at least 10 ms each: a lower bound,
	// which a busy machine cannot break.
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Fatalf("round trip took %v with a latency of 20±10 ms each way", d)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
