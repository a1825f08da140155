package account

import (
	"os"
	"testing"

	"github.com/tidings-app/tidings/internal/desktoptest"
)

// helperEnv selects a keyring scenario in a re-executed test binary; see
// keyring_subprocess_test.go.
const helperEnv = "TIDINGS_ACCOUNT_KEYRING_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		// A child process: keep the bus address the parent chose.
		os.Exit(m.Run())
	}
	os.Exit(desktoptest.Main(m, desktoptest.Needs{Keyring: true}))
}
