package testkit

import (
	"errors"

	"golang.org/x/sys/windows"
)

// Winsock's own code: syscall.ECONNREFUSED is never returned on Windows.
func isRefused(err error) bool { return errors.Is(err, windows.WSAECONNREFUSED) }
