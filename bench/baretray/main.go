// Command baretray is the idle-cost baseline of the benchmarks: the least a
// Fyne tray app can be — an empty desktop.App with a one-item tray menu and
// no window. bench/e2e builds it (cgo) and starts it the way it starts
// tidings.
package main

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/driver/desktop"

	"github.com/tidings-app/tidings/assets"
)

func main() {
	a := app.NewWithID("io.github.tidings_app.baretray")
	icon := fyne.NewStaticResource("icon.png", assets.AppIcon)
	a.SetIcon(icon)
	if d, ok := a.(desktop.App); ok {
		d.SetSystemTrayMenu(fyne.NewMenu("Bare", fyne.NewMenuItem("Hello", func() {})))
		d.SetSystemTrayIcon(fyne.NewStaticResource("tray.png", assets.TrayConnected))
	}
	a.Run()
}
