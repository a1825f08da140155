//go:build !windows

package account

import "syscall"

// The socket errors Explain puts into words, as this OS reports them.
var (
	refusedErrnos     = []error{syscall.ECONNREFUSED}
	unreachableErrnos = []error{syscall.ENETUNREACH, syscall.EHOSTUNREACH, syscall.EADDRNOTAVAIL}
	resetErrnos       = []error{syscall.ECONNRESET, syscall.EPIPE}
)
