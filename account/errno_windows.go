package account

import (
	"syscall"

	"golang.org/x/sys/windows"
)

// The socket errors Explain puts into words. Winsock reports its own codes
// (WSAECONNREFUSED is 10061): syscall.ECONNREFUSED on Windows is a value Go
// invented that no dial returns, and errors.Is does not map one to the
// other, so a refused connection read "Something went wrong".
var (
	refusedErrnos     = []error{syscall.ECONNREFUSED, windows.WSAECONNREFUSED}
	unreachableErrnos = []error{syscall.ENETUNREACH, syscall.EHOSTUNREACH, syscall.EADDRNOTAVAIL,
		windows.WSAENETUNREACH, windows.WSAEHOSTUNREACH, windows.WSAEADDRNOTAVAIL}
	resetErrnos = []error{syscall.ECONNRESET, syscall.EPIPE, windows.WSAECONNRESET, windows.WSAECONNABORTED, windows.ERROR_BROKEN_PIPE}
)
