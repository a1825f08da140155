package notifier

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/gen2brain/beeep"
	"github.com/godbus/dbus/v5"

	"github.com/tidings-app/tidings/assets"
	"github.com/tidings-app/tidings/notifier/sanitize"
)

// On Linux the popup goes straight to org.freedesktop.Notifications over
// the session bus: beeep v0.11.3 can only send urgency normal (Notify) or
// critical (Alert, which also rings the terminal bell), so it cannot say
// "low", and it has no replaces_id for updating a "(×3)" in place. beeep
// (notify-send, kdialog) remains the fallback when the bus call fails.

const (
	fdoName   = "org.freedesktop.Notifications"
	fdoPath   = dbus.ObjectPath("/org/freedesktop/Notifications")
	fdoNotify = "org.freedesktop.Notifications.Notify"
	maxGroups = 512 // replaces_id entries remembered
)

// Desktop is the platform Notifier.
type Desktop struct {
	log  *slog.Logger
	bus  func() (*dbus.Conn, error)
	icon dbus.Variant // image-data hint, 64×64 RGBA

	mu     sync.Mutex
	groups map[string]uint32 // Popup.Group → notification id to replace
}

// NewDesktop returns the platform Notifier, showing the app icon with every
// popup.
func NewDesktop(logger *slog.Logger) *Desktop {
	if logger == nil {
		logger = slog.Default()
	}
	beeep.AppName = AppName
	d := &Desktop{log: logger.With("component", "notifier"), bus: dbus.SessionBus, groups: map[string]uint32{}}
	if icon, err := appIconHint(); err == nil {
		d.icon = icon
	} else {
		d.log.Warn("app icon unusable; popups go without it", "err", err)
	}
	return d
}

// appIconHint decodes and scales the app icon once per process.
var appIconHint = sync.OnceValues(func() (dbus.Variant, error) {
	img, err := iconRGBA(assets.AppIcon, 64)
	if err != nil {
		return dbus.Variant{}, err
	}
	return dbus.MakeVariant(imageData{W: int32(img.Rect.Dx()), H: int32(img.Rect.Dy()), Stride: int32(img.Stride),
		Alpha: true, Bits: 8, Channels: 4, Data: img.Pix}), nil
})

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
	if d.icon.Signature().String() != "" {
		hints["image-data"] = d.icon
	}
	d.mu.Lock()
	replaces := d.groups[p.Group]
	d.mu.Unlock()
	var id uint32
	call := bus.Object(fdoName, fdoPath).CallWithContext(ctx, fdoNotify, 0,
		AppName, replaces, "", sanitize.Markup(p.Title), sanitize.Markup(p.Body),
		[]string{}, hints, int32(-1))
	if err := call.Store(&id); err != nil {
		return err
	}
	if p.Group != "" {
		d.mu.Lock()
		if len(d.groups) >= maxGroups {
			clear(d.groups)
		}
		d.groups[p.Group] = id
		d.mu.Unlock()
	}
	return nil
}
