package ui

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
)

// Fyne's driver loop wakes 60 times a second even when no window is open (a
// ticker in its GL loop polls events and walks the windows). For a tray app
// that sits idle for days that is nearly all it costs: about 1.5 % of a core
// on the benchmark machine and hundreds of thread wake-ups a second, which
// keep a laptop's CPU out of its deep sleep states.
//
// An Idler stops that while no window is on screen: when nothing has run on
// the UI goroutine for Grace, it hands the loop (with fyne.Do) a function
// that blocks until Wake, and the loop, stuck in it, neither ticks nor polls.
// Everything this package sends to the UI goroutine goes through Do, which
// wakes it first, and SysTray delivers menu clicks the same way. Use it only
// where the tray does not need the UI goroutine's event loop: on Linux and
// the BSDs the tray is a D-Bus service with its own goroutines; Fyne's tray
// on macOS and Windows runs in the UI loop.
//
// Once a window has been shown, the app may own the X clipboard (text
// copied from the history), and X hands paste requests to the owner's event
// loop; from then on a park lasts at most MaxPark, so a paste elsewhere waits
// at most that long.

// IdlerConfig configures an Idler. Zero durations take the defaults.
type IdlerConfig struct {
	// Grace is how long the UI goroutine must have had nothing to do, with
	// no window shown, before it is parked (default 2 s).
	Grace time.Duration
	// MaxPark bounds a park once a window has been shown (default 3 s).
	MaxPark time.Duration
	// Poll is how long the loop runs between two bounded parks, so that it
	// polls its events a few times (default 50 ms).
	Poll time.Duration
	// Recheck is how often a park refused because a window was shown is
	// tried again without a Wake (default 10 s; hiding a window wakes).
	Recheck time.Duration
	// Do runs a function on the UI goroutine (default fyne.Do).
	Do  func(func())
	Log *slog.Logger
}

func (c IdlerConfig) withDefaults() IdlerConfig {
	if c.Grace <= 0 {
		c.Grace = 2 * time.Second
	}
	if c.MaxPark <= 0 {
		c.MaxPark = 3 * time.Second
	}
	if c.Poll <= 0 {
		c.Poll = 50 * time.Millisecond
	}
	if c.Recheck <= 0 {
		c.Recheck = 10 * time.Second
	}
	if c.Do == nil {
		c.Do = fyne.Do
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return c
}

// Idler parks the UI goroutine while the app shows nothing. Its methods are
// safe from any goroutine.
type Idler struct {
	cfg    IdlerConfig
	kick   chan struct{}
	repark chan struct{}
	quit   chan struct{}
	done   chan struct{}

	mu      sync.Mutex
	epoch   uint64        // bumped by every Wake
	parked  chan struct{} // closed by Wake; nil while not parked
	queued  bool          // a park is waiting in the UI queue
	pending int           // functions handed over by Do that have not run yet
	stopped bool
	parks   int
	repeat  bool // the next park follows a bounded one: don't log it
}

// current is the running Idler that Do wakes, if any.
var current atomic.Pointer[Idler]

// StartIdler starts parking the UI goroutine and makes Do wake it. Stop it
// before the app quits: a park queued after the quit would never return.
func StartIdler(cfg IdlerConfig) *Idler {
	i := &Idler{cfg: cfg.withDefaults(), kick: make(chan struct{}, 1), repark: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	current.Store(i)
	go i.run()
	return i
}

// Do runs f on the UI goroutine (fyne.Do, or the running Idler's Do),
// waking it first if it is parked.
// Every hand-over to the UI goroutine in this package goes through it. No
// park runs between the wake and f: one queued meanwhile finds f pending
// and steps aside. (What Fyne itself hands to its loop, such as a theme
// change, waits for the next wake.)
func Do(f func()) {
	i := current.Load()
	if i == nil {
		fyne.Do(f)
		return
	}
	i.mu.Lock()
	i.pending++
	i.mu.Unlock()
	i.Wake()
	i.cfg.Do(func() {
		i.mu.Lock()
		i.pending--
		i.mu.Unlock()
		f()
	})
}

// Wake releases a parked UI goroutine and restarts the grace period.
func (i *Idler) Wake() {
	i.mu.Lock()
	i.epoch++
	i.repeat = false
	if i.parked != nil {
		close(i.parked)
		i.parked = nil
	}
	i.mu.Unlock()
	select {
	case i.kick <- struct{}{}:
	default:
	}
}

// Stop wakes the UI goroutine for good; no park is queued after it
// returns. Calling it again does nothing.
func (i *Idler) Stop() {
	i.mu.Lock()
	if i.stopped {
		i.mu.Unlock()
		return
	}
	i.stopped = true
	i.mu.Unlock()
	current.CompareAndSwap(i, nil)
	i.Wake()
	close(i.quit)
	<-i.done
}

// Parks counts the parks so far (tests and logs).
func (i *Idler) Parks() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.parks
}

func (i *Idler) run() {
	defer close(i.done)
	t := time.NewTimer(i.cfg.Grace)
	defer t.Stop()
	for {
		select {
		case <-i.quit:
			return
		case <-i.kick:
			t.Reset(i.cfg.Grace)
			continue
		case <-i.repark:
			t.Reset(i.cfg.Poll)
			continue
		case <-t.C:
		}
		i.mu.Lock()
		epoch, queue := i.epoch, !i.queued && !i.stopped
		i.queued = i.queued || queue
		i.mu.Unlock()
		if queue {
			i.cfg.Do(func() { i.park(epoch) })
		}
		t.Reset(i.cfg.Recheck)
	}
}

// park runs on the UI goroutine and blocks it until Wake, unless something
// happened since the park was queued or a window is on screen.
func (i *Idler) park(epoch uint64) {
	i.mu.Lock()
	i.queued = false
	if i.stopped || i.epoch != epoch || i.pending > 0 || windowsShown() {
		i.mu.Unlock()
		return
	}
	ch := make(chan struct{})
	i.parked = ch
	i.parks++
	bounded, repeat := everShown.Load(), i.repeat
	i.mu.Unlock()
	if !repeat {
		i.cfg.Log.Debug("ui: nothing on screen, UI loop parked", "bounded", bounded)
	}
	if !bounded {
		<-ch
		return
	}
	t := time.NewTimer(i.cfg.MaxPark)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
		// Let the loop poll its events for Poll (a tick is 1/60 s), then
		// park again, rather than after the whole grace.
		i.mu.Lock()
		if i.parked == ch {
			i.parked = nil
			i.repeat = true
		}
		i.mu.Unlock()
		select {
		case i.repark <- struct{}{}:
		default:
		}
	}
}

// Which windows are on screen, for the Idler: changed only through
// showWindow and hideWindow.
var (
	shownMu   sync.Mutex
	shown     = map[fyne.Window]bool{}
	everShown atomic.Bool
)

func windowsShown() bool {
	shownMu.Lock()
	defer shownMu.Unlock()
	return len(shown) > 0
}

// showWindow shows w (UI goroutine) and keeps the UI loop awake while it is
// on screen.
func showWindow(w fyne.Window) {
	shownMu.Lock()
	shown[w] = true
	shownMu.Unlock()
	everShown.Store(true)
	w.Show()
}

// hideWindow hides w (UI goroutine); once nothing is on screen the Idler
// may park the UI loop after its grace.
func hideWindow(w fyne.Window) {
	if loopEnded.Load() {
		return // the windows went with the loop
	}
	shownMu.Lock()
	delete(shown, w)
	shownMu.Unlock()
	w.Hide()
	if i := current.Load(); i != nil {
		i.Wake()
	}
}

// loopEnded is set once the app's UI loop has returned.
var loopEnded atomic.Bool

// LoopEnded tells the ui package that the app's UI loop has returned (a
// Quit, or SIGTERM, which Fyne handles itself by ending the loop and the
// window system): closing the ui from then on stops its background work
// but touches no window, which would panic ("The GLFW library is not
// initialized"). Call it right after App.Run returns.
func LoopEnded() { loopEnded.Store(true) }
