//go:build !linux

package conn

import "testing"

// Sleep and network events come from logind and NetworkManager on the
// system D-Bus, which only Linux has: the tests that send them skip.
func privateBusOrSkip(t *testing.T) string {
	t.Skip("wake events come over D-Bus (logind, NetworkManager): Linux only")
	return ""
}

type wakeWatch struct{}

func startWakeWatch(t *testing.T, addr string, sup *Supervisor) *wakeWatch { return &wakeWatch{} }
func (w *wakeWatch) resume(t *testing.T)                                   {}
func (w *wakeWatch) networkUp(t *testing.T)                                {}
