// Command tidings is the desktop tray notifier. main only wires: it parses
// flags, builds the pieces and runs the Fyne app.
package main

import (
	"flag"
	"fmt"
	"os"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/tidings-app/tidings/assets"
)

// AppID is the reverse-DNS application ID, the same as in FyneApp.toml.
const AppID = "io.github.tidings_app.tidings"

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := flag.NewFlagSet("tidings", flag.ContinueOnError)
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *showVersion {
		fmt.Println("tidings", version)
		return 0
	}
	a := app.NewWithID(AppID)
	a.SetIcon(fyne.NewStaticResource("icon.png", assets.AppIcon))
	w := a.NewWindow("Tidings")
	w.SetContent(container.NewPadded(widget.NewLabel("Tidings")))
	w.Resize(fyne.NewSize(360, 200))
	w.ShowAndRun()
	return 0
}
