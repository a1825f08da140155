package testkit

import (
	"context"
	"sync"
)

// Recorder is a notifier for tests (a notifier.Notifier when P is
// notifier.Popup): it remembers every popup and can be made to fail or to
// block until released.
type Recorder[P any] struct {
	mu     sync.Mutex
	popups []P
	err    error
	gate   chan struct{} // when non-nil, Show waits for it (or ctx)
	signal chan struct{} // closed and replaced on every Show
}

// NewRecorder returns an empty Recorder.
func NewRecorder[P any]() *Recorder[P] { return &Recorder[P]{signal: make(chan struct{})} }

// Show records p.
func (r *Recorder[P]) Show(ctx context.Context, p P) error {
	r.mu.Lock()
	gate := r.gate
	r.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.popups = append(r.popups, p)
	close(r.signal)
	r.signal = make(chan struct{})
	return r.err
}

// Fail makes later Show calls record and return err.
func (r *Recorder[P]) Fail(err error) {
	r.mu.Lock()
	r.err = err
	r.mu.Unlock()
}

// Block makes later Show calls wait until the returned release is called.
func (r *Recorder[P]) Block() (release func()) {
	gate := make(chan struct{})
	r.mu.Lock()
	r.gate = gate
	r.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			r.mu.Lock()
			r.gate = nil
			r.mu.Unlock()
			close(gate)
		})
	}
}

// Popups returns what was shown so far.
func (r *Recorder[P]) Popups() []P {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]P(nil), r.popups...)
}

// Changed returns a channel closed at the next Show.
func (r *Recorder[P]) Changed() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.signal
}
