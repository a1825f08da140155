package client

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/tidings-app/tidings/conn"
	"github.com/tidings-app/tidings/history"
	"github.com/tidings-app/tidings/notifier"
)

// batchMax bounds one history transaction.
const batchMax = 512

// Defaults of the pipeline's retry after a failed write.
const (
	DefaultStoreRetry = 5 * time.Second
	// maxUnsaved bounds what is kept in memory while history cannot be
	// written. Past it the oldest are dropped from memory only: the resume
	// point did not move past them, so the next start fetches them again.
	maxUnsaved = 100_000
)

// pipeline moves messages from the connection's sink into history and then
// to the notifier. push never blocks and never drops: the queue is a slice
// that grows with a burst (a message is a few hundred bytes; a burst of
// 10 000 is a few MB for the moment it takes the worker to store it). The
// worker stores in batches, so a burst costs a few transactions.
//
// When history cannot be written (a full disk, a read-only directory), the
// messages still pop up (the user hears about everything) and are kept in
// memory and written again every retry until it works; the resume point
// lives in history, so it does not move past them, and a restart before
// the disk recovers fetches them from the server again. onProblem hears
// the first failure and the recovery (nil), once each.
type pipeline struct {
	store     *history.Store
	disp      *notifier.Dispatcher
	log       *slog.Logger
	retry     time.Duration
	onProblem func(error)
	shown     *shownLedger // shown by the last run, not stored: no second popup

	mu      sync.Mutex
	queue   []queued
	unsaved []conn.Message // shown, not yet stored; only the worker touches it
	wake    chan struct{}  // 1-buffered: "the queue is not empty"
}

func newPipeline(store *history.Store, disp *notifier.Dispatcher, log *slog.Logger, retry time.Duration, onProblem func(error), shown *shownLedger) *pipeline {
	if retry <= 0 {
		retry = DefaultStoreRetry
	}
	if onProblem == nil {
		onProblem = func(error) {}
	}
	if shown == nil {
		shown = loadShown("", log)
	}
	return &pipeline{store: store, disp: disp, log: log, retry: retry, onProblem: onProblem, shown: shown, wake: make(chan struct{}, 1)}
}

// queued is a message to store, or (rebase set) the rebase of its Server's
// rows, in order with the messages around it.
type queued struct {
	m      conn.Message
	rebase *conn.Rebase
	quiet  bool // stored and marked notified, never popped up
}

// push queues a message. It never blocks.
func (p *pipeline) push(m conn.Message) { p.enqueue(queued{m: m}) }

// pushQuiet queues a message to store without a popup (re-fetched into a
// rebuilt history).
func (p *pipeline) pushQuiet(m conn.Message) { p.enqueue(queued{m: m, quiet: true}) }

// pushRebase queues the rebase of server's rows (conn.EventRebase): it
// runs after every message queued before it and before any queued after.
func (p *pipeline) pushRebase(server string, r *conn.Rebase) {
	p.enqueue(queued{m: conn.Message{Server: server}, rebase: r})
}

func (p *pipeline) enqueue(q queued) {
	p.mu.Lock()
	p.queue = append(p.queue, q)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// take removes up to batchMax queued messages of one kind (to pop up, or
// quiet), stopping before a rebase; a rebase at the head is returned alone
// (batch nil).
func (p *pipeline) take() (batch []conn.Message, quiet bool, rebase *queued) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.queue) == 0 {
		return nil, false, nil
	}
	if p.queue[0].rebase != nil {
		q := p.queue[0]
		p.queue = p.queue[1:]
		return nil, false, &q
	}
	quiet = p.queue[0].quiet
	batch = make([]conn.Message, 0, min(len(p.queue), batchMax))
	for len(batch) < batchMax && len(p.queue) > 0 && p.queue[0].rebase == nil && p.queue[0].quiet == quiet {
		batch = append(batch, p.queue[0].m)
		p.queue = p.queue[1:]
	}
	if len(p.queue) == 0 {
		p.queue = nil // let a burst's backing array go
	}
	return batch, quiet, nil
}

// next stores (or rebases) what is queued, until the queue is empty.
func (p *pipeline) next(ctx context.Context) {
	for {
		batch, quiet, rebase := p.take()
		switch {
		case rebase != nil:
			p.rebase(ctx, rebase)
		case batch == nil:
			return
		case quiet:
			p.storeQuiet(ctx, batch)
		default:
			p.store1(ctx, batch)
		}
	}
}

// storeQuiet stores a batch without popups and marks it notified. If it
// cannot be written it waits with the unsaved messages (which are saved
// without popups too).
func (p *pipeline) storeQuiet(ctx context.Context, batch []conn.Message) {
	if len(p.unsaved) > 0 {
		p.keepUnsaved(batch)
		return
	}
	if _, err := p.store.InsertBatch(ctx, batch); err != nil && !errors.Is(err, history.ErrInvalid) {
		p.log.Error("cannot store re-fetched messages in history; retrying", "count", len(batch), "err", err)
		p.keepUnsaved(batch)
		p.onProblem(err)
		return
	}
	if err := p.store.MarkNotified(ctx, keysOf(batch)...); err != nil {
		p.log.Warn("cannot mark re-fetched messages notified", "err", err)
	}
}

// rebase renames the rows of a server whose ids restarted lower, so its
// new messages are not taken for repeats. Messages still waiting to be
// saved are written first (they are from before). If it fails, new
// messages whose ids an old row holds are not stored; the log says so.
func (p *pipeline) rebase(ctx context.Context, q *queued) {
	p.saveUnsaved(ctx)
	if err := p.store.Rebase(ctx, q.m.Server, q.rebase.Newest, time.Now()); err != nil {
		p.log.Error("cannot rebase history after the server's ids restarted; new messages with old ids may be missing from it",
			"account", q.m.Server, "err", err)
	}
}

// run stores and dispatches until ctx ends, retrying unsaved messages
// every p.retry.
func (p *pipeline) run(ctx context.Context) {
	timer := time.NewTimer(p.retry)
	defer timer.Stop()
	for {
		var retry <-chan time.Time
		if len(p.unsaved) > 0 {
			timer.Reset(p.retry)
			retry = timer.C
		}
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		case <-retry:
			p.saveUnsaved(ctx)
		}
		p.next(ctx)
	}
}

// drain stores what is still queued (after the connection stopped), and
// tries once more what could not be saved.
func (p *pipeline) drain(ctx context.Context) {
	p.next(ctx)
	p.saveUnsaved(ctx)
	if n := len(p.unsaved); n > 0 {
		p.log.Error("quitting with messages that could not be saved; the next start fetches them again", "count", n)
		p.shown.note(keysOf(p.unsaved)...) // Client.Close writes the ledger

	}
}

// store1 inserts a batch and dispatches the messages history did not have.
// They are dispatched as soon as the insert knows which are new, while its
// commit waits for the disk, so a popup does not wait for the fsync. While
// earlier messages wait to be saved, a batch joins them (in order) after
// popping up.
func (p *pipeline) store1(ctx context.Context, batch []conn.Message) {
	if len(p.unsaved) > 0 {
		p.showUnsaved(batch)
		return
	}
	dispatched := false
	var seen []conn.Message // popped up by the last run, which could not store them
	_, err := p.store.InsertBatchThen(ctx, batch, func(stored []bool) {
		dispatched = true
		for i, m := range batch {
			switch {
			case !stored[i]:
			case p.shown.take(m):
				seen = append(seen, m)
			default:
				p.disp.Dispatch(m)
			}
		}
	})
	switch {
	case err == nil:
		if len(seen) > 0 {
			if err := p.store.MarkNotified(ctx, keysOf(seen)...); err != nil {
				p.log.Warn("cannot mark messages shown before the restart notified", "err", err)
			}
		}
	case errors.Is(err, context.Canceled) && !dispatched:
		// shutting down mid-batch: drain stores it with a fresh context
		back := make([]queued, len(batch))
		for i, m := range batch {
			back[i] = queued{m: m}
		}
		p.mu.Lock()
		p.queue = append(back, p.queue...)
		p.mu.Unlock()
	case errors.Is(err, history.ErrInvalid) && !dispatched:
		// nothing in it can ever be stored: show it, do not retry
		p.log.Error("messages history refuses; showing them", "count", len(batch), "err", err)
		for _, m := range batch {
			p.disp.Dispatch(m)
		}
	case dispatched:
		// the commit failed after the popups: keep them to save again
		p.log.Error("cannot store messages in history after showing them; retrying", "count", len(batch), "err", err)
		p.keepUnsaved(batch)
		p.onProblem(err)
	default:
		p.log.Error("cannot store messages in history; showing them and retrying", "count", len(batch), "err", err)
		p.showUnsaved(batch)
		p.onProblem(err)
	}
}

// showUnsaved pops batch up and keeps it to save later.
func (p *pipeline) showUnsaved(batch []conn.Message) {
	for _, m := range batch {
		p.disp.Dispatch(m)
	}
	p.keepUnsaved(batch)
}

func (p *pipeline) keepUnsaved(batch []conn.Message) {
	p.unsaved = append(p.unsaved, batch...)
	if over := len(p.unsaved) - maxUnsaved; over > 0 {
		p.log.Error("too many messages waiting to be saved; the oldest wait for the next start's catch-up", "dropped", over)
		p.unsaved = append([]conn.Message(nil), p.unsaved[over:]...)
	}
}

// saveUnsaved writes what could not be saved before, in batches, without
// popping anything up again (all of it was shown), and marks it notified.
func (p *pipeline) saveUnsaved(ctx context.Context) {
	if len(p.unsaved) == 0 {
		return
	}
	for len(p.unsaved) > 0 {
		n := min(len(p.unsaved), batchMax)
		batch := p.unsaved[:n]
		if _, err := p.store.InsertBatch(ctx, batch); err != nil && !errors.Is(err, history.ErrInvalid) {
			p.log.Warn("still cannot store messages in history", "waiting", len(p.unsaved), "err", err)
			return
		}
		if err := p.store.MarkNotified(ctx, keysOf(batch)...); err != nil {
			p.log.Warn("cannot mark saved messages notified", "err", err)
		}
		p.unsaved = p.unsaved[n:]
	}
	p.unsaved = nil
	if keys := p.shown.pendingKeys(); len(keys) > 0 { // marks that failed meanwhile
		if err := p.store.MarkNotified(ctx, keys...); err == nil {
			p.shown.settled(keys...)
		}
	}
	p.log.Info("history writable again; every waiting message is saved")
	p.onProblem(nil)
}

// keysOf lists the history keys of msgs.
func keysOf(msgs []conn.Message) []history.Key {
	keys := make([]history.Key, len(msgs))
	for i, m := range msgs {
		keys[i] = history.Key{Server: m.Server, ID: m.ID}
	}
	return keys
}
