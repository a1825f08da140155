// Command rundesktop runs one command inside a private test desktop (a
// throwaway HOME, its own D-Bus session, an unlocked gnome-keyring and an
// Xvfb display) and tears it all down when the command exits:
//
//	go run ./internal/desktoptest/rundesktop -- out/tidings
//
// It is how scripts take screenshots and how a developer tries the app
// without touching their own session. With -tray-log FILE it also plays a
// panel's part: it runs a StatusNotifierWatcher, and when a tray item
// registers it writes the item and its menu's labels to FILE, so a script
// can check that an app reached the tray.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/tidings-app/tidings/internal/desktoptest"
)

func main() {
	printEnv := flag.Bool("print-env", false, "print the desktop's environment before running the command")
	trayLog := flag.String("tray-log", "", "run a tray watcher and write the registered item and its menu to this file")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: rundesktop [-print-env] -- COMMAND [ARGS…]")
		os.Exit(2)
	}
	env, err := desktoptest.Start(desktoptest.Needs{Keyring: true, Display: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, "rundesktop:", err)
		os.Exit(1)
	}
	if *trayLog != "" {
		w, err := desktoptest.NewTrayWatcher(env.BusAddr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "rundesktop:", err)
			env.Close()
			os.Exit(1)
		}
		defer w.Close()
		go logTray(w, *trayLog)
	}
	code := runIn(env, *printEnv, flag.Args())
	env.Close()
	os.Exit(code)
}

func runIn(env *desktoptest.Env, printEnv bool, args []string) int {
	if printEnv {
		for _, kv := range env.Environ() {
			fmt.Println(kv)
		}
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), env.Environ()...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "rundesktop:", err)
		return 1
	}
	go func() {
		for s := range sig {
			_ = cmd.Process.Signal(s)
		}
	}()
	if err := cmd.Wait(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		return 1
	}
	return 0
}

// logTray waits for a tray item, then writes it and its menu to path (the
// menu is read until it has items: the app fills it after registering).
func logTray(w *desktoptest.TrayWatcher, path string) {
	ch := w.Changed()
	it, ok := w.Item()
	for !ok {
		<-ch
		ch = w.Changed()
		it, ok = w.Item()
	}
	var labels []string
	for range 100 {
		menu, err := it.Menu()
		if err == nil && len(menu) > 0 {
			for _, mi := range menu {
				labels = append(labels, mi.Label)
			}
			break
		}
		time.Sleep(100 * time.Millisecond) // polling the app's menu until it is filled
	}
	line := fmt.Sprintf("registered %s%s\nmenu: %s\n", it.Bus, it.Path, strings.Join(labels, " | "))
	_ = os.WriteFile(path, []byte(line), 0o644)
}
