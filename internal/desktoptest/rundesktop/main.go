// Command rundesktop runs one command inside a private test desktop (a
// throwaway HOME, its own D-Bus session, an unlocked gnome-keyring and an
// Xvfb display) and tears it all down when the command exits:
//
//	go run ./internal/desktoptest/rundesktop -- out/tidings
//
// It is how scripts take screenshots and how a developer tries the app
// without touching their own session.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/tidings-app/tidings/internal/desktoptest"
)

func main() {
	printEnv := flag.Bool("print-env", false, "print the desktop's environment before running the command")
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
