//go:build linux

package conn

import (
	"context"
	"testing"
	"time"

	"github.com/tidings-app/tidings/internal/testkit"
)

func TestDBusWatcherKicksOnResumeAndNetworkUpOnly(t *testing.T) {
	addr := privateBus(t)
	sys := newFakeSystemServices(t, addr)
	kicks := make(chan string, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := (&DBusWatcher{Address: addr}).Watch(ctx, func(r string) { kicks <- r }); err != nil {
			t.Error(err)
		}
	}()
	defer func() { cancel(); <-done }()
	// The watcher's match rules are installed asynchronously: repeat the
	// first signal until it is heard.
	warm := time.NewTicker(10 * time.Millisecond)
	defer warm.Stop()
	deadline := time.After(testkit.Patience())
warmup:
	for {
		sys.networkState(t, nmConnectedGlobal)
		select {
		case r := <-kicks:
			if r != "network up" {
				t.Fatalf("reason %q", r)
			}
			break warmup
		case <-warm.C:
		case <-deadline:
			t.Fatal("watcher never heard NetworkManager")
		}
	}
	for len(kicks) > 0 {
		<-kicks
	}
	sys.prepareForSleep(t, true) // going to sleep: not a kick
	sys.networkState(t, 20)      // NM_STATE_DISCONNECTED: not a kick
	sys.prepareForSleep(t, false)
	select {
	case r := <-kicks:
		if r != "resumed from sleep" {
			t.Fatalf("first kick %q, want resume (sleep and disconnect must not kick)", r)
		}
	case <-time.After(testkit.Patience()):
		t.Fatal("no kick on resume")
	}
}

func TestDBusWatcherReportsAMissingBus(t *testing.T) {
	err := (&DBusWatcher{Address: "unix:path=/nonexistent/bus"}).Watch(context.Background(), func(string) {})
	if err == nil {
		t.Fatal("no error for a missing bus")
	}
}
