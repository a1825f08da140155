//go:build linux

package conn

import (
	"bufio"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// privateBus starts a real dbus-daemon for the test and returns its
// address; the test is skipped when dbus-daemon is not installed.
func privateBus(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("dbus-daemon")
	if err != nil {
		t.Skip("dbus-daemon not installed")
	}
	cmd := exec.Command(path, "--session", "--nofork", "--print-address")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("dbus-daemon: %v", err)
	}
	return strings.TrimSpace(line)
}

// fakeSystemServices is a second connection on the private bus that owns
// the logind and NetworkManager names and emits their signals.
type fakeSystemServices struct{ c *dbus.Conn }

func newFakeSystemServices(t *testing.T, addr string) *fakeSystemServices {
	t.Helper()
	c, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	for _, name := range []string{login1Name, nmName} {
		if reply, err := c.RequestName(name, dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
			t.Fatalf("request %s: %v %v", name, reply, err)
		}
	}
	return &fakeSystemServices{c: c}
}

func (f *fakeSystemServices) prepareForSleep(t *testing.T, sleeping bool) {
	t.Helper()
	if err := f.c.Emit(login1Path, login1Manager+"."+prepareForSleep, sleeping); err != nil {
		t.Fatal(err)
	}
}

func (f *fakeSystemServices) networkState(t *testing.T, state uint32) {
	t.Helper()
	if err := f.c.Emit(nmPath, nmName+"."+nmStateChanged, state); err != nil {
		t.Fatal(err)
	}
}

func privateBusOrSkip(t *testing.T) string { return privateBus(t) }

// wakeWatch runs the real DBusWatcher against a private bus, kicking sup.
type wakeWatch struct{ sys *fakeSystemServices }

func startWakeWatch(t *testing.T, addr string, sup *Supervisor) *wakeWatch {
	t.Helper()
	sys := newFakeSystemServices(t, addr)
	armed := make(chan struct{})
	heard := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		WatchWake(ctx, testLogger(), func(string) {
			select {
			case <-armed:
				sup.Kick()
			default:
				select {
				case heard <- struct{}{}:
				default:
				}
			}
		}, &DBusWatcher{Address: addr})
	}()
	t.Cleanup(func() { cancel(); <-done })
	// Warm up until the watcher's match rules are in place (unarmed).
	deadline := time.Now().Add(5 * time.Second)
	for {
		sys.networkState(t, nmConnectedGlobal)
		select {
		case <-heard:
			close(armed)
			return &wakeWatch{sys: sys}
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("wake watcher never heard the bus")
		}
	}
}

func (w *wakeWatch) resume(t *testing.T)    { w.sys.prepareForSleep(t, false) }
func (w *wakeWatch) networkUp(t *testing.T) { w.sys.networkState(t, nmConnectedGlobal) }
