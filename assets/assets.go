// Package assets embeds Tidings' icons: the app icon and one tray icon per
// state. The PNGs are rendered from the SVG sources in src/ by
// `make icons`; they are drawn as a filled disc with a white rim so they stay
// legible at 16–22 px on light and on dark panels.
package assets

import _ "embed"

// AppIcon is the 256×256 application icon (window, packages, notifications).
//
//go:embed icon.png
var AppIcon []byte

// Tray icons, 64×64, one per state the tray shows.
var (
	//go:embed tray-connected.png
	TrayConnected []byte
	//go:embed tray-unread.png
	TrayUnread []byte
	//go:embed tray-offline.png
	TrayOffline []byte
	//go:embed tray-login.png
	TrayNeedsLogin []byte
)
