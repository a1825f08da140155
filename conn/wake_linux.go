//go:build linux

package conn

import (
	"context"
	"fmt"

	"github.com/godbus/dbus/v5"
)

func platformWakeWatchers() []WakeWatcher { return []WakeWatcher{&DBusWatcher{}} }

// D-Bus names the watcher listens to.
const (
	login1Name      = "org.freedesktop.login1"
	login1Path      = "/org/freedesktop/login1"
	login1Manager   = "org.freedesktop.login1.Manager"
	prepareForSleep = "PrepareForSleep"
	nmName          = "org.freedesktop.NetworkManager"
	nmPath          = "/org/freedesktop/NetworkManager"
	nmStateChanged  = "StateChanged"
	// nmConnectedGlobal is NM_STATE_CONNECTED_GLOBAL.
	nmConnectedGlobal = 70
)

// DBusWatcher kicks on logind's PrepareForSleep(false) (the machine
// resumed) and on NetworkManager's StateChanged to CONNECTED_GLOBAL.
type DBusWatcher struct {
	// Address of the bus; empty means the system bus. Tests use a private
	// dbus-daemon.
	Address string
}

// Watch implements WakeWatcher.
func (w *DBusWatcher) Watch(ctx context.Context, kick func(reason string)) error {
	var c *dbus.Conn
	var err error
	if w.Address == "" {
		c, err = dbus.ConnectSystemBus(dbus.WithContext(ctx))
	} else {
		c, err = dbus.Connect(w.Address, dbus.WithContext(ctx))
	}
	if err != nil {
		return fmt.Errorf("conn: wake watcher: connect to D-Bus: %w", err)
	}
	defer c.Close()
	if err := c.AddMatchSignalContext(ctx, dbus.WithMatchSender(login1Name), dbus.WithMatchObjectPath(login1Path),
		dbus.WithMatchInterface(login1Manager), dbus.WithMatchMember(prepareForSleep)); err != nil {
		return fmt.Errorf("conn: wake watcher: match logind: %w", err)
	}
	if err := c.AddMatchSignalContext(ctx, dbus.WithMatchSender(nmName), dbus.WithMatchObjectPath(nmPath),
		dbus.WithMatchInterface(nmName), dbus.WithMatchMember(nmStateChanged)); err != nil {
		return fmt.Errorf("conn: wake watcher: match NetworkManager: %w", err)
	}
	ch := make(chan *dbus.Signal, 16)
	c.Signal(ch)
	defer c.RemoveSignal(ch)
	for {
		select {
		case <-ctx.Done():
			return nil
		case sig, ok := <-ch:
			if !ok {
				return fmt.Errorf("conn: wake watcher: D-Bus connection closed")
			}
			if reason := wakeReason(sig); reason != "" {
				kick(reason)
			}
		}
	}
}

// wakeReason says whether a signal means "probe or dial now".
func wakeReason(sig *dbus.Signal) string {
	switch sig.Name {
	case login1Manager + "." + prepareForSleep:
		if len(sig.Body) == 1 {
			if sleeping, ok := sig.Body[0].(bool); ok && !sleeping {
				return "resumed from sleep"
			}
		}
	case nmName + "." + nmStateChanged:
		if len(sig.Body) == 1 {
			if st, ok := sig.Body[0].(uint32); ok && st == nmConnectedGlobal {
				return "network up"
			}
		}
	}
	return ""
}
