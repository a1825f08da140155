//go:build unix

package desktoptest

import (
	"os"
	"syscall"
)

// ownGroup puts a child in its own process group, so that stopGroup and
// killGroup reach whatever it forks too.
func ownGroup() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

func stopGroup(p *os.Process) { _ = syscall.Kill(-p.Pid, syscall.SIGTERM) }
func killGroup(p *os.Process) { _ = syscall.Kill(-p.Pid, syscall.SIGKILL) }
