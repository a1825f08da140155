package testkit

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// NoLeaks checks, when t's cleanups run (after the ones registered later,
// which stop what the test started), that no goroutine started during the
// test is still running. Goroutines that exist when NoLeaks is called are
// ignored; so is what opts ignore. It looks again for up to Patience, so a
// busy machine makes it slower, never red.
func NoLeaks(t testing.TB, opts ...goleak.Option) {
	t.Helper()
	opts = append([]goleak.Option{goleak.IgnoreCurrent()}, opts...)
	t.Cleanup(func() {
		t.Helper()
		if err := findLeaks(opts); err != nil {
			t.Errorf("goroutines left behind: %v", err)
		}
	})
}

// VerifyTestMain runs the package's tests and then fails the run if a
// goroutine is left behind (goleak.VerifyTestMain with Patience).
func VerifyTestMain(m *testing.M, opts ...goleak.Option) {
	code := m.Run()
	if code == 0 {
		if err := findLeaks(opts); err != nil {
			fmt.Fprintf(os.Stderr, "FAIL: goroutines left behind after the tests: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// FindLeaks reports the goroutines goleak finds (opts: what to ignore,
// such as goleak.IgnoreCurrent() taken at a baseline), looking again for up
// to Patience before it calls them left behind.
func FindLeaks(opts ...goleak.Option) error { return findLeaks(opts) }

// findLeaks asks goleak (which itself retries for about 2 s) until no
// goroutine is left or Patience has passed.
func findLeaks(opts []goleak.Option) error {
	var err error
	WaitUntil(Patience(), func() bool {
		err = goleak.Find(opts...)
		return err == nil
	})
	return err
}
