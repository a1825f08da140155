package instance_test

import (
	"errors"
	"fmt"
	"os"

	"github.com/tidings-app/tidings/instance"
)

// How cmd/tidings starts: the first launch keeps the lock for the life of
// the process; a later one hands over "show-history" and exits.
func Example() {
	const appID = "io.github.tidings_app.tidings"
	showHistory := func() { /* fyne.Do(ui.ShowHistory) */ }
	inst, err := instance.Acquire(appID, func(cmd string) {
		if cmd == "show-history" {
			showHistory()
		}
	})
	if errors.Is(err, instance.ErrRunning) {
		if err := instance.Send(appID, "show-history"); err != nil {
			fmt.Fprintln(os.Stderr, "tidings is already running but did not answer:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if err != nil {
		// no runtime dir, read-only disk…: run anyway, without the guarantee
		fmt.Fprintln(os.Stderr, "single-instance check unavailable:", err)
	} else {
		defer inst.Close()
	}
	// … run the app …
}
