package history

import "sync"

// Subscribe returns a channel that receives a value after the stored
// messages change (insert, read flags, delete, clear, pruning), and a
// function that ends the subscription. Signals coalesce: the channel holds
// at most one pending value, so a burst of a thousand inserts wakes a slow
// watcher once or twice, never blocks the store, and the watcher should
// re-query what it shows. MarkNotified does not signal. The channel is
// closed by cancel or by Close.
func (s *Store) Subscribe() (<-chan struct{}, func()) {
	return s.watchers.add()
}

// watchers is the set of subscribed channels.
type watchers struct {
	mu     sync.Mutex
	chans  map[chan struct{}]struct{}
	closed bool
}

func (w *watchers) add() (<-chan struct{}, func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	ch := make(chan struct{}, 1)
	if w.closed {
		close(ch)
		return ch, func() {}
	}
	if w.chans == nil {
		w.chans = map[chan struct{}]struct{}{}
	}
	w.chans[ch] = struct{}{}
	return ch, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if _, ok := w.chans[ch]; ok {
			delete(w.chans, ch)
			close(ch)
		}
	}
}

// notify signals every watcher without blocking.
func (w *watchers) notify() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for ch := range w.chans {
		select {
		case ch <- struct{}{}:
		default: // a signal is already pending: coalesce
		}
	}
}

func (w *watchers) closeAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	for ch := range w.chans {
		close(ch)
	}
	w.chans = nil
}
