package client

import (
	"context"
	"errors"
	"log/slog"
	"sync"

	"github.com/tidings-app/tidings/conn"
	"github.com/tidings-app/tidings/history"
	"github.com/tidings-app/tidings/notifier"
)

// batchMax bounds one history transaction.
const batchMax = 512

// pipeline moves messages from the connection's sink into history and then
// to the notifier. push never blocks and never drops: the queue is a slice
// that grows with a burst (a message is a few hundred bytes; a burst of
// 10 000 is a few MB for the moment it takes the worker to store it). The
// worker stores in batches, so a burst costs a few transactions.
type pipeline struct {
	store *history.Store
	disp  *notifier.Dispatcher
	log   *slog.Logger

	mu    sync.Mutex
	queue []conn.Message
	wake  chan struct{} // 1-buffered: "the queue is not empty"
}

func newPipeline(store *history.Store, disp *notifier.Dispatcher, log *slog.Logger) *pipeline {
	return &pipeline{store: store, disp: disp, log: log, wake: make(chan struct{}, 1)}
}

// push queues a message. It never blocks.
func (p *pipeline) push(m conn.Message) {
	p.mu.Lock()
	p.queue = append(p.queue, m)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// take removes up to batchMax queued messages.
func (p *pipeline) take() []conn.Message {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := min(len(p.queue), batchMax)
	if n == 0 {
		return nil
	}
	batch := append([]conn.Message(nil), p.queue[:n]...)
	p.queue = p.queue[n:]
	if len(p.queue) == 0 {
		p.queue = nil // let a burst's backing array go
	}
	return batch
}

// run stores and dispatches until ctx ends.
func (p *pipeline) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		}
		for batch := p.take(); batch != nil; batch = p.take() {
			p.store1(ctx, batch)
		}
	}
}

// drain stores what is still queued (after the connection stopped).
func (p *pipeline) drain(ctx context.Context) {
	for batch := p.take(); batch != nil; batch = p.take() {
		p.store1(ctx, batch)
	}
}

// store1 inserts a batch and dispatches the messages history did not have.
// They are dispatched as soon as the insert knows which are new, while its
// commit waits for the disk, so a popup does not wait for the fsync. If
// the store fails before that point, the messages still pop up (the user
// is told now; the history will miss them, which the log says) rather than
// vanish; if the commit fails after it, they have popped up already and the
// history misses them (a restart's catch-up from the last stored id asks
// the server for them again).
func (p *pipeline) store1(ctx context.Context, batch []conn.Message) {
	dispatched := false
	_, err := p.store.InsertBatchThen(ctx, batch, func(stored []bool) {
		dispatched = true
		for i, m := range batch {
			if stored[i] {
				p.disp.Dispatch(m)
			}
		}
	})
	switch {
	case err == nil:
	case dispatched:
		p.log.Error("cannot store messages in history after showing them", "count", len(batch), "err", err)
	case errors.Is(err, context.Canceled):
		// shutting down mid-batch: drain stores it with a fresh context
		p.mu.Lock()
		p.queue = append(batch, p.queue...)
		p.mu.Unlock()
	default:
		p.log.Error("cannot store messages in history; showing them anyway", "count", len(batch), "err", err)
		for _, m := range batch {
			p.disp.Dispatch(m)
		}
	}
}
