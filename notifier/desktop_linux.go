package notifier

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gen2brain/beeep"
	"github.com/godbus/dbus/v5"

	"github.com/tidings-app/tidings/assets"
	"github.com/tidings-app/tidings/sanitize"
)

// On Linux the popup goes straight to org.freedesktop.Notifications over
// the session bus: beeep v0.11.3 can only send urgency normal (Notify) or
// critical (Alert, which also rings the terminal bell), so it cannot say
// "low", and it has no replaces_id for updating a "(×3)" in place. beeep
// (notify-send, kdialog) remains the fallback when the bus call fails.

const (
	fdoName     = "org.freedesktop.Notifications"
	fdoIface    = "org.freedesktop.Notifications"
	fdoPath     = dbus.ObjectPath("/org/freedesktop/Notifications")
	fdoNotify   = fdoIface + ".Notify"
	fdoInvoked  = fdoIface + ".ActionInvoked"
	fdoClosed   = fdoIface + ".NotificationClosed"
	maxGroups   = 512 // replaces_id entries remembered
	maxURLs     = 512 // clickable popups remembered
	openTimeout = 30 * time.Second
)

// Desktop is the platform Notifier.
type Desktop struct {
	log      *slog.Logger
	bus      func() (*dbus.Conn, error)
	icon     dbus.Variant // the icon hint: image-path (a file) or image-data
	iconHint string       // "image-path" or "image-data"; "" without an icon

	// Open opens a clicked popup's URL; OpenURL unless a test injects one.
	Open OpenFunc

	mu     sync.Mutex
	groups map[string]uint32 // Popup.Group → notification id to replace
	urls   map[uint32]string // notification id → click URL
	listen *clickListener    // started with the first clickable popup
	closed bool
	open   string // the click action's label; "" is English
}

// clickListener receives ActionInvoked signals on the session bus.
type clickListener struct {
	bus  *dbus.Conn
	ch   chan *dbus.Signal
	stop chan struct{}
	done chan struct{}
}

// SetOpenLabel sets the label of a popup's click action ("Open" in
// English), in the user's language. Call it before the first Show.
func (d *Desktop) SetOpenLabel(s string) {
	d.mu.Lock()
	d.open = s
	d.mu.Unlock()
}

func (d *Desktop) openLabel() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.open == "" {
		return Texts["popup.open"]
	}
	return d.open
}

// NewDesktop returns the platform Notifier, showing the app icon with every
// popup.
func NewDesktop(logger *slog.Logger) *Desktop {
	if logger == nil {
		logger = slog.Default()
	}
	beeep.AppName = AppName
	d := &Desktop{log: logger.With("component", "notifier"), bus: dbus.SessionBus, Open: OpenURL,
		groups: map[string]uint32{}, urls: map[uint32]string{}}
	d.iconHint, d.icon = popupIcon(d.log)
	return d
}

// popupIcon picks how popups carry the app icon: by the path of a 64 px PNG
// in the user's cache directory, or, when that file cannot be written, as
// the pixels themselves in the image-data hint.
func popupIcon(log *slog.Logger) (string, dbus.Variant) {
	img, err := appIcon64()
	if err != nil {
		log.Warn("app icon unusable; popups go without it", "err", err)
		return "", dbus.Variant{}
	}
	dir, err := os.UserCacheDir()
	if err == nil {
		var path string
		if path, err = writeIconFile(filepath.Join(dir, "tidings"), img); err == nil {
			return "image-path", dbus.MakeVariant((&url.URL{Scheme: "file", Path: path}).String())
		}
	}
	log.Info("popup icon file unavailable; popups carry the pixels", "err", err)
	return "image-data", dbus.MakeVariant(imageData{W: int32(img.Rect.Dx()), H: int32(img.Rect.Dy()), Stride: int32(img.Stride),
		Alpha: true, Bits: 8, Channels: 4, Data: img.Pix})
}

// imageData is the freedesktop "image-data" hint, D-Bus type (iiibiiay).
type imageData struct {
	W, H, Stride int32
	Alpha        bool
	Bits         int32
	Channels     int32
	Data         []byte
}

// Show sends p to the notification server on the session bus, falling back
// to beeep when that fails.
func (d *Desktop) Show(ctx context.Context, p Popup) error {
	err := d.notifyDBus(ctx, p)
	if err == nil || ctx.Err() != nil {
		return err
	}
	d.log.Debug("D-Bus notification failed; trying beeep", "err", err)
	title, body := sanitize.Markup(p.Title), sanitize.Markup(p.Body)
	if err2 := beeep.Notify(title, body, assets.AppIcon); err2 != nil {
		return fmt.Errorf("%w: dbus: %w; beeep: %w", ErrNoServer, err, err2)
	}
	return nil
}

func (d *Desktop) notifyDBus(ctx context.Context, p Popup) error {
	bus, err := d.bus()
	if err != nil {
		return err
	}
	hints := map[string]dbus.Variant{
		"urgency":       dbus.MakeVariant(byte(p.Urgency)),
		"desktop-entry": dbus.MakeVariant(DesktopEntry),
	}
	if d.iconHint != "" {
		hints[d.iconHint] = d.icon
	}
	actions := []string{}
	if p.URL != "" {
		if err := d.startListener(bus); err != nil {
			d.log.Debug("no click actions: cannot listen for them", "err", err)
		} else {
			actions = []string{"default", d.openLabel()}
		}
	}
	d.mu.Lock()
	replaces := d.groups[p.Group]
	d.mu.Unlock()
	var id uint32
	call := bus.Object(fdoName, fdoPath).CallWithContext(ctx, fdoNotify, 0,
		AppName, replaces, "", sanitize.Markup(p.Title), sanitize.Markup(p.Body),
		actions, hints, int32(-1))
	if err := call.Store(&id); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if p.Group != "" {
		if len(d.groups) >= maxGroups {
			clear(d.groups)
		}
		d.groups[p.Group] = id
	}
	if len(actions) > 0 {
		if len(d.urls) >= maxURLs {
			clear(d.urls)
		}
		d.urls[id] = p.URL
	} else {
		delete(d.urls, id) // a replacement without a URL
	}
	return nil
}

// startListener subscribes to the notification server's ActionInvoked and
// NotificationClosed signals once.
func (d *Desktop) startListener(bus *dbus.Conn) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return errors.New("notifier: desktop closed")
	}
	if d.listen != nil {
		return nil
	}
	if err := bus.AddMatchSignal(dbus.WithMatchObjectPath(fdoPath), dbus.WithMatchInterface(fdoIface)); err != nil {
		return err
	}
	l := &clickListener{bus: bus, ch: make(chan *dbus.Signal, 16), stop: make(chan struct{}), done: make(chan struct{})}
	bus.Signal(l.ch)
	d.listen = l
	go d.listenClicks(l)
	return nil
}

func (d *Desktop) listenClicks(l *clickListener) {
	defer close(l.done)
	for {
		select {
		case <-l.stop:
			return
		case sig, ok := <-l.ch:
			if !ok {
				return
			}
			d.onSignal(l.bus, sig)
		}
	}
}

// onSignal opens the URL of a clicked popup. Only signals from the current
// owner of org.freedesktop.Notifications count: another program on the bus
// cannot make Tidings open anything (and could only name URLs Tidings
// itself showed).
func (d *Desktop) onSignal(bus *dbus.Conn, sig *dbus.Signal) {
	if sig.Path != fdoPath || len(sig.Body) < 2 {
		return
	}
	id, ok := sig.Body[0].(uint32)
	if !ok {
		return
	}
	switch sig.Name {
	case fdoClosed:
		d.mu.Lock()
		delete(d.urls, id)
		d.mu.Unlock()
	case fdoInvoked:
		var owner string
		if err := bus.BusObject().Call("org.freedesktop.DBus.GetNameOwner", 0, fdoName).Store(&owner); err != nil || owner != sig.Sender {
			d.log.Warn("ignored a click signal not sent by the notification server")
			return
		}
		d.mu.Lock()
		u, found := d.urls[id]
		d.mu.Unlock()
		if !found {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), openTimeout)
		defer cancel()
		if err := d.Open(ctx, u); err != nil {
			d.log.Warn("could not open the clicked message's link", "err", err)
		}
	}
}

// Close stops listening for clicks. The shared session bus stays open.
func (d *Desktop) Close() error {
	d.mu.Lock()
	l := d.listen
	d.listen, d.closed = nil, true
	d.mu.Unlock()
	if l != nil {
		l.bus.RemoveSignal(l.ch)
		_ = l.bus.RemoveMatchSignal(dbus.WithMatchObjectPath(fdoPath), dbus.WithMatchInterface(fdoIface))
		close(l.stop)
		<-l.done
	}
	return nil
}
