package conn

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// WakeWatcher notices moments after which a live socket may be dead or a
// waiting dial may now succeed: resume from sleep, network up. Watch blocks
// until ctx ends and calls kick (from its own goroutine; kick must not
// block) with a short reason for each such moment. One watcher can kick
// every Supervisor of the app.
type WakeWatcher interface {
	Watch(ctx context.Context, kick func(reason string)) error
}

// DefaultWakeWatchers is the clock-jump detector (every OS) plus the
// platform's own watcher (logind and NetworkManager over D-Bus on Linux).
func DefaultWakeWatchers() []WakeWatcher {
	return append([]WakeWatcher{&ClockJumpDetector{}}, platformWakeWatchers()...)
}

// WatchWake runs watchers until ctx ends and returns when all have
// returned. A watcher that fails (no system bus) is logged and left out;
// the others keep running.
func WatchWake(ctx context.Context, log *slog.Logger, kick func(reason string), watchers ...WakeWatcher) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "conn/wake")
	var wg sync.WaitGroup
	for _, w := range watchers {
		wg.Go(func() {
			if err := w.Watch(ctx, kick); err != nil && ctx.Err() == nil {
				log.Warn("wake watcher stopped", "watcher", fmt.Sprintf("%T", w), "err", err)
			}
		})
	}
	wg.Wait()
}

// ClockJumpDetector notices a suspend on any OS: Go's monotonic clock
// stops while the machine sleeps, the wall clock does not. On every tick it
// compares how far the wall clock moved (time.Now().Round(0) deltas) with
// how far the monotonic clock moved; a difference over Threshold is a
// resume (or a clock change, after which a probe is cheap anyway).
type ClockJumpDetector struct {
	Interval  time.Duration // tick period; default 5 s
	Threshold time.Duration // jump that counts; default 3 s

	// Test hooks: tick source and the two clocks.
	ticks <-chan time.Time
	wall  func() time.Time
	mono  func() time.Duration
}

// Watch implements WakeWatcher.
func (d *ClockJumpDetector) Watch(ctx context.Context, kick func(reason string)) error {
	interval, threshold := d.Interval, d.Threshold
	if interval <= 0 {
		interval = 5 * time.Second
	}
	if threshold <= 0 {
		threshold = 3 * time.Second
	}
	ticks, wall, mono := d.ticks, d.wall, d.mono
	if ticks == nil {
		t := time.NewTicker(interval)
		defer t.Stop()
		ticks = t.C
	}
	if wall == nil {
		wall = func() time.Time { return time.Now().Round(0) } // strip the monotonic reading
	}
	if mono == nil {
		start := time.Now()
		mono = func() time.Duration { return time.Since(start) } // monotonic
	}
	prevWall, prevMono := wall(), mono()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticks:
			w, m := wall(), mono()
			jump := w.Sub(prevWall) - (m - prevMono)
			prevWall, prevMono = w, m
			if jump > threshold || jump < -threshold {
				kick("clock jump (resume from sleep?)")
			}
		}
	}
}
