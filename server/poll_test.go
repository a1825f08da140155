package server

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tidings-app/tidings/internal/testkit"
	"github.com/tidings-app/tidings/proto"
)

// readerModes: every socket behaviour holds with the poller (the default on
// Linux) and with a goroutine per socket.
var readerModes = []struct {
	name       string
	goroutines bool
}{{"poller", false}, {"goroutine per socket", true}}

func TestSocketsBehaveTheSameReadByThePollerOrByAGoroutine(t *testing.T) {
	for _, mode := range readerModes {
		t.Run(mode.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.GoroutineReaders = mode.goroutines
			cfg.PingPeriod = 20 * time.Millisecond
			cfg.PongWait = 100 * time.Millisecond
			cfg.MaxClientFrame = 64
			ts := startServer(t, t.TempDir(), cfg)
			if !mode.goroutines && runtime.GOOS == "linux" && ts.s.poller == nil {
				t.Fatal("no poller on Linux")
			}
			ts.addUser("alice", "pw")
			tok := ts.login("alice", "pw")

			t.Run("HeartBeat answered, client ping ponged", func(t *testing.T) {
				c := ts.dial(tok, 0)
				pong := make(chan string, 1)
				c.SetPongHandler(func(s string) error { pong <- s; return nil })
				c.WriteControl(websocket.PingMessage, []byte("hi"), time.Now().Add(time.Second))
				c.WriteMessage(websocket.TextMessage, []byte(proto.HeartBeat+"\n"))
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				for {
					_, b, err := c.ReadMessage()
					if err != nil {
						t.Fatal(err)
					}
					if string(b) == proto.HeartBeat {
						break
					}
				}
				select {
				case s := <-pong:
					if s != "hi" {
						t.Errorf("pong %q", s)
					}
				case <-time.After(testkit.Patience()):
					t.Error("no pong for the client's ping")
				}
			})
			t.Run("a frame over the limit closes with 1009", func(t *testing.T) {
				c := ts.dial(tok, 0)
				c.WriteMessage(websocket.TextMessage, []byte(strings.Repeat("x", 65)))
				if code := closeCode(t, c, 5*time.Second); code != websocket.CloseMessageTooBig {
					t.Errorf("close %d", code)
				}
			})
			t.Run("a client close is echoed", func(t *testing.T) {
				c := ts.dial(tok, 0)
				c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(4001, "bye"), time.Now().Add(time.Second))
				if code := closeCode(t, c, 5*time.Second); code != 4001 {
					t.Errorf("echo %d", code)
				}
			})
			t.Run("a silent client is dropped and a live one stays", func(t *testing.T) {
				testkit.Eventually(t, "the earlier sockets to go", func() bool { return ts.s.ConnectedClients() == 0 })
				silent := ts.dial(tok, 0)
				silent.SetPingHandler(func(string) error { return nil }) // never answers
				silentGone := make(chan error, 1)
				go func() {
					for {
						if _, _, err := silent.ReadMessage(); err != nil {
							silentGone <- err
							return
						}
					}
				}()
				live := ts.dial(tok, 0)
				livePong, liveGone := make(chan string, 8), make(chan error, 1)
				live.SetPongHandler(func(s string) error { livePong <- s; return nil })
				go func() {
					for {
						if _, _, err := live.ReadMessage(); err != nil {
							liveGone <- err
							return
						}
					}
				}()
				// The silent one's socket is closed by the server: its read fails.
				select {
				case <-silentGone:
				case err := <-liveGone:
					t.Fatalf("the live client was dropped (%v) while the silent one was kept", err)
				case <-time.After(testkit.Patience()):
					t.Fatal("the silent client was never dropped")
				}
				time.Sleep(4 * cfg.PongWait) // time passing is what is tested: the live one must survive it
				select {
				case err := <-liveGone:
					t.Fatalf("the live client was dropped after the silent one: %v", err)
				default:
				}
				if n := ts.s.ConnectedClients(); n != 1 {
					t.Errorf("%d sockets after four pong waits, want the live one", n)
				}
				// And the one left is the live one: the server still answers it.
				live.WriteControl(websocket.PingMessage, []byte("still here"), time.Now().Add(testkit.Patience()))
				select {
				case p := <-livePong:
					if p != "still here" {
						t.Errorf("the live client got pong %q", p)
					}
				case err := <-liveGone:
					t.Fatalf("the live client was dropped: %v", err)
				case <-time.After(testkit.Patience()):
					t.Fatal("the server no longer answers the live client")
				}
				live.Close()
			})
			t.Run("a message reaches the socket", func(t *testing.T) {
				c := ts.dial(tok, 0)
				ts.publish(ts.publisher(), proto.PublishRequest{To: "alice", Message: "hello"})
				if m := next(t, c); m.Message != "hello" {
					t.Errorf("got %q", m.Message)
				}
			})
		})
	}
}

func TestAnIdleSocketReadByThePollerHoldsNoGoroutine(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the poller is Linux only")
	}
	const n = 200
	for _, mode := range readerModes {
		t.Run(mode.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.GoroutineReaders = mode.goroutines
			ts := startServer(t, t.TempDir(), cfg)
			ts.addUser("alice", "pw")
			tok := ts.login("alice", "pw")
			before := runtime.NumGoroutine()
			for range n {
				ts.dial(tok, 0) // the test side does not read: no goroutine there
			}
			testkit.Eventually(t, "the sockets to register", func() bool { return ts.s.ConnectedClients() == n })
			var grown int
			testkit.Eventually(t, "the handlers to return", func() bool {
				grown = runtime.NumGoroutine() - before
				if mode.goroutines {
					return readLoops() >= n
				}
				return grown < n/10
			})
			// The total moves with unrelated goroutines that come and go
			// (a login's connection closing); the readers themselves are
			// counted by their frame, exactly.
			readers := readLoops()
			switch {
			case mode.goroutines && readers != n:
				t.Errorf("%d reader goroutines for %d sockets read by goroutines: the comparison is wrong", readers, n)
			case !mode.goroutines && readers != 0:
				t.Errorf("%d reader goroutines for %d polled sockets", readers, n)
			}
			t.Logf("%s: %d goroutines (%d readers) for %d idle sockets", mode.name, grown, readers, n)
		})
	}
}

// readLoops counts the goroutines in (*client).readLoop.
func readLoops() int {
	buf := make([]byte, 16<<20)
	return strings.Count(string(buf[:runtime.Stack(buf, true)]), "server.(*client).readLoop(")
}
