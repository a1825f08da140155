//go:build !linux

package server

import "errors"

// poller is Linux only (epoll); elsewhere every socket has its reader
// goroutine (client.readLoop).
type poller struct{}

func newPoller(func(*client)) (*poller, error) {
	return nil, errors.New("server: no socket poller on this system")
}

func (*poller) add(*client, int) error                  { return errors.ErrUnsupported }
func (*poller) rearm(*client)                           {}
func (*poller) remove(*client)                          {}
func (*poller) close()                                  {}
func (*poller) read(*client, []byte) (int, bool, error) { return 0, false, errors.ErrUnsupported }
