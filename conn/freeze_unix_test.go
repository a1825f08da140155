//go:build unix

package conn

import (
	"syscall"
	"testing"
)

// freeze stops the server process: the kernel still accepts its TCP
// connections, nobody answers them.
func (p *serverProcess) freeze(t *testing.T) { _ = p.cmd.Process.Signal(syscall.SIGSTOP) }

// thaw lets a frozen server process run again.
func (p *serverProcess) thaw(t *testing.T) { _ = p.cmd.Process.Signal(syscall.SIGCONT) }
