//go:build linux

package main

import (
	"fmt"
	"os"
	"sync"
	"testing"
)

// tb lets the harness use the test helpers (servertest, desktoptest), which
// take a testing.TB, outside of `go test`. Fatal panics with a benchFailure
// that the benchmark runner recovers; cleanups run when the runner ends the
// benchmark. Methods the helpers do not call are left to the embedded nil
// interface and would panic.
type tb struct {
	testing.TB
	name string

	mu       sync.Mutex
	cleanups []func()
	errs     []string
}

type benchFailure struct{ msg string }

func newTB(name string) *tb { return &tb{name: name} }

func (t *tb) Helper()      {}
func (t *tb) Name() string { return t.name }
func (t *tb) Cleanup(f func()) {
	t.mu.Lock()
	t.cleanups = append(t.cleanups, f)
	t.mu.Unlock()
}
func (t *tb) TempDir() string {
	d, err := os.MkdirTemp("", "tidings-bench-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}
func (t *tb) Logf(format string, args ...any) { fmt.Fprintf(os.Stderr, "  "+format+"\n", args...) }
func (t *tb) Log(args ...any)                 { fmt.Fprintln(os.Stderr, append([]any{" "}, args...)...) }
func (t *tb) Errorf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	fmt.Fprintln(os.Stderr, "  error:", msg)
	t.mu.Lock()
	t.errs = append(t.errs, msg)
	t.mu.Unlock()
}
func (t *tb) Error(args ...any) { t.Errorf("%s", fmt.Sprint(args...)) }
func (t *tb) Failed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.errs) > 0
}
func (t *tb) Fatalf(format string, args ...any) { panic(benchFailure{fmt.Sprintf(format, args...)}) }
func (t *tb) Fatal(args ...any)                 { panic(benchFailure{fmt.Sprint(args...)}) }
func (t *tb) FailNow()                          { panic(benchFailure{"FailNow"}) }
func (t *tb) Skipf(format string, args ...any)  { t.Fatalf("skipped: "+format, args...) }
func (t *tb) Skip(args ...any)                  { t.Fatal(append([]any{"skipped: "}, args...)...) }

// finish runs the cleanups, newest first.
func (t *tb) finish() {
	t.mu.Lock()
	cs := t.cleanups
	t.cleanups = nil
	t.mu.Unlock()
	for i := len(cs) - 1; i >= 0; i-- {
		cs[i]()
	}
}

// guard runs fn as one benchmark with its own tb; a Fatal in it becomes an
// error, and its cleanups run at the end.
func guard(name string, fn func(t *tb)) (err error) {
	t := newTB(name)
	defer t.finish()
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(benchFailure)
			if !ok {
				panic(r)
			}
			err = fmt.Errorf("%s: %s", name, f.msg)
		}
	}()
	fn(t)
	if t.Failed() {
		return fmt.Errorf("%s: %v", name, t.errs)
	}
	return nil
}
