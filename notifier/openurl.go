package notifier

import (
	"context"
	"errors"
	"fmt"
	"os/exec"

	"github.com/tidings-app/tidings/sanitize"
)

// ErrUnsafeURL says a click URL is not an http(s) URL with a host and
// without user information; it is never opened.
var ErrUnsafeURL = errors.New("notifier: click URL is not a plain http(s) URL")

// OpenFunc opens a click URL; the UI takes one so tests can inject a fake.
type OpenFunc func(ctx context.Context, rawURL string) error

// OpenURL opens rawURL in the user's browser with the OS opener (xdg-open,
// open, or rundll32 url.dll,FileProtocolHandler), passing it as one argv
// element: no shell ever sees it. Only URLs sanitize.URL accepts are opened.
// It waits for the opener to exit, bounded by ctx.
func OpenURL(ctx context.Context, rawURL string) error {
	return openWith(ctx, rawURL, runArgv)
}

var _ OpenFunc = OpenURL

func openWith(ctx context.Context, rawURL string, run func(ctx context.Context, argv []string) error) error {
	u, ok := sanitize.URL(rawURL)
	if !ok {
		return ErrUnsafeURL
	}
	return run(ctx, openerArgv(u))
}

func runArgv(ctx context.Context, argv []string) error {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	if err := cmd.Run(); err != nil {
		// Neither the URL nor the opener's output (which may echo it) goes
		// into the error: the URL may carry a token in its query.
		return fmt.Errorf("notifier: %s failed: %w", argv[0], err)
	}
	return nil
}
