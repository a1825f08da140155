package testkit

import (
	"testing"
	"time"
)

func TestGuardStretchesAWaitOnlyWhenTheRunIsNotTimed(t *testing.T) {
	for _, tc := range []struct {
		timing string
		in     time.Duration
		want   time.Duration
	}{
		{"", time.Second, time.Minute},
		{"", 2 * time.Minute, 2 * time.Minute},
		{"1", time.Second, time.Second},
	} {
		t.Setenv("TIDINGS_TIMING", tc.timing)
		t.Setenv("TIDINGS_PATIENCE", "")
		if got := Guard(tc.in); got != tc.want {
			t.Errorf("TIDINGS_TIMING=%q Guard(%v) = %v, want %v", tc.timing, tc.in, got, tc.want)
		}
	}
}

func TestWithinFailsAFigureOverItsBoundOnlyInATimedRun(t *testing.T) {
	for _, tc := range []struct {
		timing   string
		got      time.Duration
		want     bool
		wantFail bool
	}{
		{"", 2 * time.Second, true, false},
		{"1", 2 * time.Second, false, true},
		{"1", time.Second, true, false},
	} {
		t.Setenv("TIDINGS_TIMING", tc.timing)
		ft := &fakeT{}
		if ok := Within(ft, "x", tc.got, time.Second); ok != tc.want || ft.failed != tc.wantFail {
			t.Errorf("timing %q, %v: ok %v failed %v, want %v %v", tc.timing, tc.got, ok, ft.failed, tc.want, tc.wantFail)
		}
	}
}

func TestWaitUntilReportsAConditionThatNeverHolds(t *testing.T) {
	if WaitUntil(5*time.Millisecond, func() bool { return false }) {
		t.Fatal("WaitUntil reported a false condition as holding")
	}
	n := 0
	if !WaitUntil(Patience(), func() bool { n++; return n == 3 }) {
		t.Fatal("WaitUntil missed a condition that came to hold")
	}
}

func TestSeedIsTakenFromTheEnvironmentWhenSet(t *testing.T) {
	t.Setenv("TIDINGS_SEED", "")
	if got := Seed(t, 7); got != 7 {
		t.Fatalf("Seed = %d, want the fallback 7", got)
	}
	t.Setenv("TIDINGS_SEED", "42")
	if got := Seed(t, 7); got != 42 {
		t.Fatalf("Seed = %d, want 42 from TIDINGS_SEED", got)
	}
}

// fakeT records whether Errorf was called.
type fakeT struct {
	testing.TB
	failed bool
}

func (f *fakeT) Helper()               {}
func (f *fakeT) Logf(string, ...any)   {}
func (f *fakeT) Errorf(string, ...any) { f.failed = true }
