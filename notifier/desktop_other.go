//go:build !linux

package notifier

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"

	"github.com/gen2brain/beeep"

	"github.com/tidings-app/tidings/assets"
	"github.com/tidings-app/tidings/sanitize"
)

// Desktop is the platform Notifier: beeep (Windows toast, macOS
// terminal-notifier / osascript, D-Bus on the BSDs). beeep knows two levels:
// critical popups use Alert (with sound), the rest Notify.
type Desktop struct {
	log  *slog.Logger
	icon any // a lasting PNG path, or the PNG bytes when none could be written
}

// Close releases nothing: beeep popups have no click callbacks here, so the
// UI opens a message's URL from history with OpenURL.
func (d *Desktop) Close() error { return nil }

// SetOpenLabel does nothing here: these popups have no click action.
func (d *Desktop) SetOpenLabel(string) {}

// NewDesktop returns the platform Notifier, showing the app icon with every
// popup.
func NewDesktop(logger *slog.Logger) *Desktop {
	if logger == nil {
		logger = slog.Default()
	}
	beeep.AppName = AppName
	d := &Desktop{log: logger.With("component", "notifier"), icon: assets.AppIcon}
	// Given bytes, beeep writes a temp PNG and deletes it as soon as the
	// toast is handed over, before Windows reads it, and go-toast registers
	// that vanished path as the app's icon (HKCU\Software\Classes\
	// AppUserModelId). A file in the cache directory stays.
	if img, err := appIcon64(); err == nil {
		if dir, err := os.UserCacheDir(); err == nil {
			if path, err := writeIconFile(filepath.Join(dir, "tidings"), img); err == nil {
				d.icon = path
			} else {
				d.log.Info("popup icon file unavailable; beeep gets the pixels", "err", err)
			}
		}
	}
	return d
}

// Show hands p to beeep. beeep takes no context; ctx is checked first.
func (d *Desktop) Show(ctx context.Context, p Popup) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	title, body := p.Title, p.Body
	switch runtime.GOOS {
	case "windows":
		// go-toast puts the text into XML CDATA and, in its PowerShell
		// fallback, into a double-quoted here-string.
		title, body = sanitize.WindowsToast(title), sanitize.WindowsToast(body)
	case "darwin":
		// terminal-notifier and osascript show plain text.
	default:
		// BSDs: beeep speaks to a freedesktop server, which renders markup.
		title, body = sanitize.Markup(title), sanitize.Markup(body)
	}
	send := beeep.Notify
	if p.Urgency == UrgencyCritical {
		send = beeep.Alert
	}
	if err := send(title, body, d.icon); err != nil {
		return fmt.Errorf("%w: %w", ErrNoServer, err)
	}
	return nil
}
