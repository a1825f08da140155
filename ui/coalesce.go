package ui

import (
	"sync"
	"time"
)

// coalescer turns any number of Poke calls into a bounded number of calls
// of its function: at most one call per interval, and always one call after
// the last Poke. fn runs on the coalescer's own goroutine (so it may do slow
// work such as store queries) and hands widget changes to fyne.Do itself.
type coalescer struct {
	interval time.Duration
	fn       func()
	kick     chan struct{}
	stop     chan struct{}
	done     chan struct{}
	once     sync.Once
}

func newCoalescer(interval time.Duration, fn func()) *coalescer {
	c := &coalescer{
		interval: interval,
		fn:       fn,
		kick:     make(chan struct{}, 1),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	go c.run()
	return c
}

// Poke asks for a run. It never blocks and may be called from any goroutine.
func (c *coalescer) Poke() {
	select {
	case c.kick <- struct{}{}:
	default: // a run is already pending
	}
}

// Close stops the goroutine and returns when fn will not be called again.
func (c *coalescer) Close() {
	c.once.Do(func() { close(c.stop) })
	<-c.done
}

func (c *coalescer) run() {
	defer close(c.done)
	t := time.NewTimer(c.interval)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-c.kick:
		}
		c.fn()
		// Rest for one interval; pokes meanwhile collapse into one pending run.
		t.Reset(c.interval)
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
	}
}
