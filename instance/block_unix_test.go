//go:build unix

package instance

import (
	"path/filepath"
	"strings"
	"testing"
)

// blockEndpoint gives a directory whose socket path is over AF_UNIX's
// limit, so nothing can listen there.
func blockEndpoint(t *testing.T) string {
	return filepath.Join(t.TempDir(), strings.Repeat("d", maxSockPath))
}
