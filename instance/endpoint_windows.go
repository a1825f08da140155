package instance

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"
)

// endpoint is a named pipe. Pipe names are machine-wide, so the name
// carries a hash of the per-user directory (two users, or two test
// directories, never meet), and listen lets only this user open it. Windows
// 10 has AF_UNIX too, but Wine has none and older Windows 10 builds lack
// it; a pipe works on every Windows.
func endpoint(appID, dir string) (string, error) {
	sum := sha256.Sum256([]byte(strings.ToLower(dir)))
	return `\\.\pipe\` + appID + "-" + hex.EncodeToString(sum[:8]), nil
}

// listen creates the pipe's first instance (go-winio refuses if someone
// already made one: a squatter cannot take our name), readable and
// writable by this user's SID only.
func listen(pipe string, log *slog.Logger) (net.Listener, error) {
	tok := windows.GetCurrentProcessToken()
	user, err := tok.GetTokenUser()
	if err != nil {
		return nil, fmt.Errorf("instance: who am I: %w", err)
	}
	sddl := "D:P(A;;GA;;;" + user.User.Sid.String() + ")"
	ln, err := winio.ListenPipe(pipe, &winio.PipeConfig{SecurityDescriptor: sddl})
	if err != nil {
		return nil, fmt.Errorf("instance: listen on %s: %w", pipe, err)
	}
	return ln, nil
}

// unlisten: a pipe goes away with its last handle.
func unlisten(string) {}

func dial(ctx context.Context, pipe string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return winio.DialPipeContext(ctx, pipe)
}
