package instance

import (
	"log/slog"
	"testing"
)

// blockEndpoint gives a directory whose pipe name another process already
// listens on (a squatter, or a stuck older copy), so listen fails.
func blockEndpoint(t *testing.T) string {
	dir := t.TempDir()
	pipe, _ := endpoint(testID, dir)
	ln, err := listen(pipe, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("squatting %s: %v", pipe, err)
	}
	t.Cleanup(func() { ln.Close() })
	// Windows refuses a second first instance of a pipe (FILE_CREATE);
	// Wine 8 does not, so there the squat cannot be staged.
	if again, err := listen(pipe, slog.New(slog.DiscardHandler)); err == nil {
		again.Close()
		t.Skip("this Windows (Wine) let a second listener create the same pipe: cannot stage a failed listen")
	}
	return dir
}
