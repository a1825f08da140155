package desktoptest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/introspect"
	"github.com/godbus/dbus/v5/prop"
)

// TrayWatcher is a StatusNotifierWatcher: the D-Bus service a panel runs
// so tray icons (StatusNotifierItems) can register. With it a test can see
// the app's tray item, its icon and its menu (com.canonical.dbusmenu), and
// click menu items — what a user's panel does.
type TrayWatcher struct {
	conn *dbus.Conn
	mu   sync.Mutex
	// items are "busname/path" strings of registered items.
	items  []string
	signal chan struct{}
}

const (
	watcherName  = "org.kde.StatusNotifierWatcher"
	watcherPath  = dbus.ObjectPath("/StatusNotifierWatcher")
	watcherIface = "org.kde.StatusNotifierWatcher"
	itemIface    = "org.kde.StatusNotifierItem"
	menuIface    = "com.canonical.dbusmenu"
)

// StartTrayWatcher claims org.kde.StatusNotifierWatcher on the test
// desktop's bus. Start it before the app, or the app logs that it could
// not register (it re-registers when the name appears, too).
func StartTrayWatcher(t testing.TB) *TrayWatcher {
	t.Helper()
	env := Require(t)
	w, err := NewTrayWatcher(env.BusAddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	return w
}

// NewTrayWatcher claims org.kde.StatusNotifierWatcher on the bus at addr,
// for programs (rundesktop) rather than tests. Close releases it.
func NewTrayWatcher(addr string) (*TrayWatcher, error) {
	conn, err := dbus.Connect(addr)
	if err != nil {
		return nil, fmt.Errorf("desktoptest: connect: %w", err)
	}
	w := &TrayWatcher{conn: conn, signal: make(chan struct{})}
	fail := func(err error) (*TrayWatcher, error) {
		conn.Close()
		return nil, fmt.Errorf("desktoptest: tray watcher: %w", err)
	}
	if err := conn.Export(watcherMethods{w}, watcherPath, watcherIface); err != nil {
		return fail(err)
	}
	if _, err := prop.Export(conn, watcherPath, prop.Map{watcherIface: {
		"IsStatusNotifierHostRegistered": {Value: true, Emit: prop.EmitTrue},
		"ProtocolVersion":                {Value: int32(0), Emit: prop.EmitTrue},
		"RegisteredStatusNotifierItems":  {Value: []string{}, Emit: prop.EmitTrue},
	}}); err != nil {
		return fail(err)
	}
	node := &introspect.Node{Name: string(watcherPath), Interfaces: []introspect.Interface{
		introspect.IntrospectData, prop.IntrospectData,
		{Name: watcherIface, Methods: introspect.Methods(watcherMethods{w})},
	}}
	if err := conn.Export(introspect.NewIntrospectable(node), watcherPath, "org.freedesktop.DBus.Introspectable"); err != nil {
		return fail(err)
	}
	reply, err := conn.RequestName(watcherName, dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		return fail(fmt.Errorf("cannot own %s (reply %v): %v", watcherName, reply, err))
	}
	return w, nil
}

// Close releases the watcher's name and connection.
func (w *TrayWatcher) Close() { w.conn.Close() }

// Item returns the first registered item without waiting, if any.
func (w *TrayWatcher) Item() (*TrayItem, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.items) == 0 {
		return nil, false
	}
	i := strings.Index(w.items[0], "/")
	return &TrayItem{conn: w.conn, Bus: w.items[0][:i], Path: dbus.ObjectPath(w.items[0][i:])}, true
}

// Changed is closed at the next registration.
func (w *TrayWatcher) Changed() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.signal
}

type watcherMethods struct{ w *TrayWatcher }

// RegisterStatusNotifierItem is called by an item with its object path (as
// fyne.io/systray does) or its bus name.
func (m watcherMethods) RegisterStatusNotifierItem(sender dbus.Sender, service string) *dbus.Error {
	item := service
	if strings.HasPrefix(service, "/") {
		item = string(sender) + service
	} else {
		item = service + "/StatusNotifierItem"
	}
	w := m.w
	w.mu.Lock()
	w.items = append(w.items, item)
	close(w.signal)
	w.signal = make(chan struct{})
	w.mu.Unlock()
	return nil
}

func (m watcherMethods) RegisterStatusNotifierHost(service string) *dbus.Error { return nil }

// TrayItem is a registered tray item.
type TrayItem struct {
	conn *dbus.Conn
	Bus  string
	Path dbus.ObjectPath
}

// WaitItem returns the first item that registers, or fails after timeout.
func (w *TrayWatcher) WaitItem(t testing.TB, timeout time.Duration) *TrayItem {
	t.Helper()
	deadline := time.After(timeout)
	for {
		ch := w.Changed()
		if it, ok := w.Item(); ok {
			return it
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("desktoptest: no tray item registered within %v", timeout)
		}
	}
}

// Items returns every item registered so far, oldest first (items of
// processes that have exited stay in the list).
func (w *TrayWatcher) Items() []*TrayItem {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]*TrayItem, 0, len(w.items))
	for _, it := range w.items {
		i := strings.Index(it, "/")
		out = append(out, &TrayItem{conn: w.conn, Bus: it[:i], Path: dbus.ObjectPath(it[i:])})
	}
	return out
}

// PID returns the process id of the item's D-Bus connection.
func (it *TrayItem) PID() (uint32, error) {
	var pid uint32
	err := it.conn.BusObject().Call("org.freedesktop.DBus.GetConnectionUnixProcessID", 0, it.Bus).Store(&pid)
	return pid, err
}

// Property reads one org.kde.StatusNotifierItem property.
func (it *TrayItem) Property(name string) (any, error) {
	v, err := it.conn.Object(it.Bus, it.Path).GetProperty(itemIface + "." + name)
	if err != nil {
		return nil, err
	}
	return v.Value(), nil
}

// IconPixmap returns the item's icon as D-Bus hands it to a panel: the
// largest of its ARGB32 (network byte order) pixmaps.
func (it *TrayItem) IconPixmap() (w, h int, argb []byte, err error) {
	var pixmaps []struct {
		W, H int32
		Data []byte
	}
	v, err := it.conn.Object(it.Bus, it.Path).GetProperty(itemIface + ".IconPixmap")
	if err != nil {
		return 0, 0, nil, err
	}
	if err := dbus.Store([]any{v.Value()}, &pixmaps); err != nil {
		return 0, 0, nil, err
	}
	if len(pixmaps) == 0 {
		return 0, 0, nil, fmt.Errorf("desktoptest: no icon pixmap")
	}
	best := pixmaps[0]
	for _, p := range pixmaps[1:] {
		if p.W*p.H > best.W*best.H {
			best = p
		}
	}
	return int(best.W), int(best.H), best.Data, nil
}

// MenuItem is one entry of the item's menu.
type MenuItem struct {
	ID       int32
	Label    string
	Enabled  bool
	Visible  bool
	Checked  bool // toggle-state 1
	Children []MenuItem
}

type layout struct {
	ID       int32
	Props    map[string]dbus.Variant
	Children []dbus.Variant
}

// Menu reads the whole menu through com.canonical.dbusmenu.GetLayout.
func (it *TrayItem) Menu() ([]MenuItem, error) {
	var rev uint32
	var root layout
	obj := it.conn.Object(it.Bus, it.Path+"/menu")
	if err := obj.Call(menuIface+".GetLayout", 0, int32(0), int32(-1), []string{}).Store(&rev, &root); err != nil {
		return nil, err
	}
	return children(root), nil
}

func children(l layout) []MenuItem {
	var out []MenuItem
	for _, v := range l.Children {
		var c layout
		if err := dbus.Store([]any{v.Value()}, &c); err != nil {
			continue
		}
		mi := MenuItem{ID: c.ID, Enabled: true, Visible: true, Children: children(c)}
		if p, ok := c.Props["label"]; ok {
			mi.Label, _ = p.Value().(string)
		}
		if p, ok := c.Props["enabled"]; ok {
			mi.Enabled, _ = p.Value().(bool)
		}
		if p, ok := c.Props["visible"]; ok {
			mi.Visible, _ = p.Value().(bool)
		}
		if p, ok := c.Props["toggle-state"]; ok {
			s, _ := p.Value().(int32)
			mi.Checked = s == 1
		}
		if p, ok := c.Props["type"]; ok && p.Value() == "separator" {
			continue
		}
		out = append(out, mi)
	}
	return out
}

// Click sends a "clicked" event for a menu item, as a panel does.
func (it *TrayItem) Click(id int32) error {
	obj := it.conn.Object(it.Bus, it.Path+"/menu")
	return obj.Call(menuIface+".Event", 0, id, "clicked", dbus.MakeVariant(""), uint32(time.Now().Unix())).Err
}

// Find returns the first visible item whose label contains text.
func Find(items []MenuItem, text string) (MenuItem, bool) {
	for _, mi := range items {
		if mi.Visible && strings.Contains(mi.Label, text) {
			return mi, true
		}
		if c, ok := Find(mi.Children, text); ok {
			return c, true
		}
	}
	return MenuItem{}, false
}
