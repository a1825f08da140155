package main

import (
	"os"

	"golang.org/x/sys/windows"
)

// exit ends the process once run has closed everything it opened. On
// Windows it terminates the process instead of ExitProcess (os.Exit): after
// a toast, go-toast leaves a COM class factory, implemented by Go
// callbacks, registered for good, and the DLL detach that ExitProcess runs
// calls back into a runtime that is exiting — "fatal error: exitsyscall:
// syscall frame is no longer valid", then a hang with a dead tray icon
// (Wine in Windows 10 mode, 3 of 3; go-ole/go-ole#222 is the same on real
// Windows). TerminateProcess runs no DLL detach.
func exit(code int) {
	os.Stdout.Sync()
	os.Stderr.Sync()
	if err := windows.TerminateProcess(windows.CurrentProcess(), uint32(code)); err != nil {
		os.Exit(code)
	}
	select {} // TerminateProcess does not return for the calling process
}
