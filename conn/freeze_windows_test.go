package conn

import "testing"

// freeze needs SIGSTOP, which Windows has no equivalent of in os or
// syscall: the frozen-server check runs on Unix only.
func (p *serverProcess) freeze(t *testing.T) {
	t.Skip("freezing the server process needs SIGSTOP: Unix only")
}

func (p *serverProcess) thaw(t *testing.T) {}
