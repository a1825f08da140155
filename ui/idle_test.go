package ui

import (
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/tidings-app/tidings/internal/testkit"
)

// fakeLoop stands in for Fyne's UI loop: one goroutine runs the queued
// functions in order and records whether it is inside one.
type fakeLoop struct {
	ch chan func()

	mu      sync.Mutex
	busy    bool // running a queued function now
	ran     int  // functions finished
	queued  int  // functions handed over
	stopped chan struct{}
}

func startFakeLoop(t *testing.T) *fakeLoop {
	l := &fakeLoop{ch: make(chan func(), 64), stopped: make(chan struct{})}
	go func() {
		defer close(l.stopped)
		for f := range l.ch {
			l.mu.Lock()
			l.busy = true
			l.mu.Unlock()
			f()
			l.mu.Lock()
			l.busy = false
			l.ran++
			l.mu.Unlock()
		}
	}()
	t.Cleanup(func() { close(l.ch); <-l.stopped })
	return l
}

func (l *fakeLoop) do(f func()) {
	l.mu.Lock()
	l.queued++
	l.mu.Unlock()
	l.ch <- f
}

func (l *fakeLoop) state() (busy bool, ran, queued int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.busy, l.ran, l.queued
}

// resetShown forgets the windows other tests showed.
func resetShown(t *testing.T) {
	shownMu.Lock()
	clear(shown)
	shownMu.Unlock()
	everShown.Store(false)
	t.Cleanup(func() {
		shownMu.Lock()
		clear(shown)
		shownMu.Unlock()
		everShown.Store(false)
	})
}

func startTestIdler(t *testing.T, l *fakeLoop, cfg IdlerConfig) *Idler {
	cfg.Do = l.do
	i := StartIdler(cfg)
	t.Cleanup(i.Stop)
	return i
}

func TestTheUILoopIsParkedAfterTheGraceAndRunsAgainOnceWoken(t *testing.T) {
	resetShown(t)
	l := startFakeLoop(t)
	i := startTestIdler(t, l, IdlerConfig{Grace: 5 * time.Millisecond, Recheck: time.Hour})
	testkit.Eventually(t, "a park", func() bool { return i.Parks() == 1 })
	if busy, _, _ := l.state(); !busy {
		t.Fatal("the idler counted a park but the loop is not held")
	}
	ran := make(chan struct{})
	l.do(func() { close(ran) })
	select {
	case <-ran:
		t.Fatal("a function ran while the loop was parked")
	default:
	}
	i.Wake()
	<-ran // the park returned and the queue moved on
	// Unbounded (no window was ever shown): one park, held until woken.
	testkit.Eventually(t, "the second park after the next grace", func() bool { return i.Parks() == 2 })
	if busy, _, _ := l.state(); !busy {
		t.Fatal("the second park does not hold the loop")
	}
}

func TestDoWakesAParkedLoopBeforeHandingItWork(t *testing.T) {
	resetShown(t)
	l := startFakeLoop(t)
	i := startTestIdler(t, l, IdlerConfig{Grace: 5 * time.Millisecond, Recheck: time.Hour})
	testkit.Eventually(t, "a park", func() bool { return i.Parks() == 1 })
	ran := make(chan struct{})
	Do(func() { close(ran) })
	select {
	case <-ran:
	case <-time.After(testkit.Patience()):
		t.Fatal("Do's function did not run")
	}
}

func TestAParkQueuedBetweenDosWakeAndItsFunctionStepsAside(t *testing.T) {
	resetShown(t)
	l := startFakeLoop(t)
	var i *Idler
	var race bool
	// The hand-over used by Do: the first time, a park slips into the
	// queue first, as the idler's timer could queue one right after Do's
	// wake (it reads the epoch after the wake, so the epoch check alone
	// would let it park).
	i = StartIdler(IdlerConfig{Grace: time.Hour, Recheck: time.Hour, Do: func(f func()) {
		if !race {
			race = true
			i.mu.Lock()
			epoch := i.epoch
			i.mu.Unlock()
			l.do(func() { i.park(epoch) })
		}
		l.do(f)
	}})
	t.Cleanup(i.Stop)
	ran := make(chan struct{})
	Do(func() { close(ran) })
	select {
	case <-ran:
	case <-time.After(testkit.Patience()):
		t.Fatal("Do's function is stuck behind a park")
	}
	if n := i.Parks(); n != 0 {
		t.Fatalf("%d parks while Do's function was pending", n)
	}
}

func TestTheLoopIsNotParkedWhileAWindowIsShown(t *testing.T) {
	resetShown(t)
	w := test.NewTempApp(t).NewWindow("shown")
	shownMu.Lock()
	shown[w] = true
	shownMu.Unlock()
	l := startFakeLoop(t)
	i := startTestIdler(t, l, IdlerConfig{Grace: time.Millisecond, Recheck: time.Millisecond})
	testkit.Eventually(t, "three park attempts", func() bool { _, ran, _ := l.state(); return ran >= 3 })
	if n := i.Parks(); n != 0 {
		t.Fatalf("parked %d times with a window on screen", n)
	}
	// Hiding the window wakes the idler, which parks after the grace.
	shownMu.Lock()
	delete(shown, w)
	shownMu.Unlock()
	i.Wake()
	testkit.Eventually(t, "a park once the window is hidden", func() bool { return i.Parks() >= 1 })
}

func TestWorkArrivingBetweenQueueingAndRunningAParkCancelsIt(t *testing.T) {
	resetShown(t)
	l := startFakeLoop(t)
	gate := make(chan struct{})
	l.do(func() { <-gate }) // the loop is busy with something long
	// The grace is long enough that no fresh park follows the stale one
	// before the check below.
	i := startTestIdler(t, l, IdlerConfig{Grace: 200 * time.Millisecond, Recheck: time.Hour})
	testkit.Eventually(t, "a park queued behind the busy function", func() bool { _, _, q := l.state(); return q == 2 })
	i.Wake() // work arrives: the queued park is stale
	close(gate)
	testkit.Eventually(t, "the stale park to run", func() bool { _, ran, _ := l.state(); return ran == 2 })
	if n := i.Parks(); n != 0 {
		t.Fatalf("a stale park held the loop (%d parks)", n)
	}
	testkit.Eventually(t, "a park after the next grace", func() bool { return i.Parks() == 1 })
}

func TestOnceAWindowWasShownAParkEndsAfterMaxParkSoTheLoopCanPollItsEvents(t *testing.T) {
	resetShown(t)
	everShown.Store(true)
	l := startFakeLoop(t)
	i := startTestIdler(t, l, IdlerConfig{Grace: time.Millisecond, MaxPark: 5 * time.Millisecond, Poll: time.Millisecond, Recheck: time.Hour})
	testkit.Eventually(t, "three bounded parks without a Wake", func() bool { return i.Parks() >= 3 })
}

func TestStopReleasesAParkedLoopAndQueuesNoMoreParks(t *testing.T) {
	resetShown(t)
	l := startFakeLoop(t)
	i := StartIdler(IdlerConfig{Grace: time.Millisecond, Recheck: time.Millisecond, Do: l.do})
	testkit.Eventually(t, "a park", func() bool { return i.Parks() == 1 })
	i.Stop()
	testkit.Eventually(t, "the loop to be released", func() bool { busy, _, _ := l.state(); return !busy })
	_, _, queued := l.state()
	// The run goroutine has ended (Stop waited for it): a park already
	// queued would be refused, and none can be queued any more.
	ran := make(chan struct{})
	l.do(func() { close(ran) })
	<-ran
	if _, _, q := l.state(); q != queued+1 {
		t.Fatalf("parks were queued after Stop: %d handed over, want %d", q, queued+1)
	}
	if n := i.Parks(); n != 1 {
		t.Fatalf("parks after Stop: %d", n)
	}
	if current.Load() == i {
		t.Fatal("Do still wakes a stopped idler")
	}
	i.Stop() // again: nothing
}
