//go:build !unix

package desktoptest

import (
	"os"
	"syscall"
)

// Start refuses to run off Unix (ErrUnsupportedOS), so nothing is started
// here; these keep the package building for the tests that import it.
func ownGroup() *syscall.SysProcAttr { return nil }
func stopGroup(p *os.Process)        { _ = p.Kill() }
func killGroup(p *os.Process)        { _ = p.Kill() }
