package desktoptest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// Notification is one org.freedesktop.Notifications.Notify call as the
// notification server received it.
type Notification struct {
	ID         uint32
	AppName    string
	ReplacesID uint32
	AppIcon    string
	Summary    string
	Body       string
	Actions    []string
	Hints      map[string]dbus.Variant
	Timeout    int32
	At         time.Time // when the server received it
}

// Urgency returns the "urgency" hint (0 low, 1 normal, 2 critical), or -1
// when the hint is absent.
func (n Notification) Urgency() int {
	v, ok := n.Hints["urgency"]
	if !ok {
		return -1
	}
	switch u := v.Value().(type) {
	case byte:
		return int(u)
	case int32:
		return int(u)
	case uint32:
		return int(u)
	}
	return -1
}

// Notifications is a recording notification server: it owns
// org.freedesktop.Notifications on a bus and remembers every Notify call, so
// tests can assert exactly what a user's notification daemon would be asked
// to show.
type Notifications struct {
	conn *dbus.Conn

	mu     sync.Mutex
	got    []Notification
	nextID uint32
	signal chan struct{} // closed and replaced on every Notify
}

const (
	notifyName  = "org.freedesktop.Notifications"
	notifyPath  = dbus.ObjectPath("/org/freedesktop/Notifications")
	notifyIface = "org.freedesktop.Notifications"
)

// StartNotifications claims the notification server's name on the test
// desktop's bus. It is released when the test ends.
func StartNotifications(t testing.TB) *Notifications {
	t.Helper()
	env := Require(t)
	conn, err := dbus.Connect(env.BusAddr)
	if err != nil {
		t.Fatalf("desktoptest: connect to bus: %v", err)
	}
	n := &Notifications{conn: conn, signal: make(chan struct{})}
	if err := conn.Export(notifyServer{n}, notifyPath, notifyIface); err != nil {
		conn.Close()
		t.Fatalf("desktoptest: export: %v", err)
	}
	reply, err := conn.RequestName(notifyName, dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		conn.Close()
		t.Fatalf("desktoptest: cannot own %s (reply %v): %v", notifyName, reply, err)
	}
	t.Cleanup(func() { conn.Close() })
	return n
}

// All returns every notification received so far.
func (n *Notifications) All() []Notification {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]Notification(nil), n.got...)
}

// Len returns how many notifications were received so far.
func (n *Notifications) Len() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.got)
}

// Changed returns a channel closed at the next Notify.
func (n *Notifications) Changed() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.signal
}

// Wait returns the notifications received once pred holds for them, or
// fails the test after timeout.
func (n *Notifications) Wait(t testing.TB, timeout time.Duration, pred func([]Notification) bool) []Notification {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		n.mu.Lock()
		got := append([]Notification(nil), n.got...)
		ch := n.signal
		n.mu.Unlock()
		if pred(got) {
			return got
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("desktoptest: condition not met within %v; notifications so far: %s", timeout, describe(got))
			return nil
		}
	}
}

func describe(ns []Notification) string {
	s := fmt.Sprintf("%d", len(ns))
	for _, x := range ns {
		s += fmt.Sprintf("\n  app=%q summary=%q body=%q urgency=%d", x.AppName, x.Summary, x.Body, x.Urgency())
	}
	return s
}

// notifyServer holds the D-Bus methods; only exported methods are exported.
type notifyServer struct{ n *Notifications }

func (s notifyServer) Notify(appName string, replacesID uint32, appIcon, summary, body string,
	actions []string, hints map[string]dbus.Variant, timeout int32) (uint32, *dbus.Error) {
	n := s.n
	n.mu.Lock()
	defer n.mu.Unlock()
	id := replacesID
	if id == 0 {
		n.nextID++
		id = n.nextID
	}
	n.got = append(n.got, Notification{ID: id, AppName: appName, ReplacesID: replacesID, AppIcon: appIcon,
		Summary: summary, Body: body, Actions: actions, Hints: hints, Timeout: timeout, At: time.Now()})
	close(n.signal)
	n.signal = make(chan struct{})
	return id, nil
}

func (s notifyServer) GetCapabilities() ([]string, *dbus.Error) {
	return []string{"body", "body-markup", "actions", "icon-static"}, nil
}

func (s notifyServer) GetServerInformation() (string, string, string, string, *dbus.Error) {
	return "tidings-test", "tidings", "1.0", "1.2", nil
}

func (s notifyServer) CloseNotification(id uint32) *dbus.Error { return nil }

// waitForBusName waits until name has an owner on the bus at addr.
func waitForBusName(addr, name string, timeout time.Duration) error {
	conn, err := dbus.Connect(addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(timeout)
	for {
		var has bool
		if err := conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, name).Store(&has); err != nil {
			return err
		}
		if has {
			return nil
		}
		select {
		case <-tick.C:
		case <-deadline:
			return fmt.Errorf("%s did not appear on the bus within %v", name, timeout)
		}
	}
}

// Invoke emits ActionInvoked for notification id from the server's own
// connection, as a daemon does when the user clicks it (action "default")
// or one of its buttons.
func (n *Notifications) Invoke(id uint32, action string) error {
	return n.conn.Emit(notifyPath, notifyIface+".ActionInvoked", id, action)
}

// updateActivationEnvironment adds variables to the environment of the
// services the bus at addr starts on demand.
func updateActivationEnvironment(addr string, vars map[string]string) error {
	conn, err := dbus.Connect(addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.BusObject().Call("org.freedesktop.DBus.UpdateActivationEnvironment", 0, vars).Err
}
