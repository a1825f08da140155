//go:build unix

package instance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"
)

// endpoint is the Unix domain socket beside the lock.
func endpoint(appID, dir string) (string, error) {
	return filepath.Join(dir, "instance.sock"), nil
}

func checkLength(sock string) error {
	if len(sock) > maxSockPath {
		return fmt.Errorf("%w: %s", ErrPathTooLong, sock)
	}
	return nil
}

// listen serves the socket, 0600. We hold the lock, so a socket file
// already there is a crashed instance's: it is replaced.
func listen(sock string, log *slog.Logger) (net.Listener, error) {
	if err := checkLength(sock); err != nil {
		return nil, err
	}
	if err := os.Remove(sock); err == nil {
		log.Info("instance: replaced a stale socket from an earlier run", "path", sock)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("instance: remove stale socket: %w", err)
	}
	ln, err := net.Listen("unix", sock)
	if err != nil {
		return nil, fmt.Errorf("instance: listen: %w", err)
	}
	if err := os.Chmod(sock, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("instance: %w", err)
	}
	return ln, nil
}

// unlisten removes what listen left; closing a Go unix listener already
// unlinks the socket, so this is for the one that never listened.
func unlisten(sock string) { _ = os.Remove(sock) }

func dial(ctx context.Context, sock string, timeout time.Duration) (net.Conn, error) {
	if err := checkLength(sock); err != nil {
		return nil, err
	}
	d := net.Dialer{Timeout: timeout}
	return d.DialContext(ctx, "unix", sock)
}
