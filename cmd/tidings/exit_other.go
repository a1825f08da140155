//go:build !windows

package main

import "os"

// exit ends the process; see exit_windows.go for why Windows differs.
func exit(code int) { os.Exit(code) }
