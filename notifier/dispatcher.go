package notifier

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidings-app/tidings/conn"
	"github.com/tidings-app/tidings/sanitize"
)

// Config configures a Dispatcher. Zero fields get the defaults of
// withDefaults, so tests can shrink every window to milliseconds.
type Config struct {
	Notifier Notifier     // required
	Policy   Policy       // initial policy; change it with SetPolicy
	Logger   *slog.Logger // default: slog.Default()
	Now      func() time.Time
	// Notified is called from the worker with the messages whose popup
	// was shown (alone or inside a summary) or that the policy kept to
	// history only, so the caller can set history's notified flag
	// (MarkNotified). Messages dropped from a full queue, or still held in
	// a window when Close is called, are not reported: they are still
	// "not notified" in history and pop up once at the next start.
	Notified func(refs []Ref)

	QueueSize   int           // messages waiting for the worker; default 256
	ShowTimeout time.Duration // bound on one Show call; default 5 s

	BurstLimit  int           // popups per source per window before summarising; default 3
	BurstWindow time.Duration // default 10 s
	// BurstMaxWait: a source in summary mode is summarised once it has been
	// quiet for BurstWindow, so one storm gives one summary; a storm that
	// goes on still gets one at least this often. Default 60 s.
	BurstMaxWait time.Duration
	MergeWindow  time.Duration // identical messages within it are merged; default 30 s

	CatchUpLimit   int           // a catch-up batch larger than this becomes one popup; default 3
	CatchUpGap     time.Duration // a batch ends after this quiet gap; default 2 s
	CatchUpMaxWait time.Duration // and at the latest this long after it began; default 10 s

	LinkNotices bool // show "connection lost / restored"; off by default
	// Say renders one of Texts in the user's language (any goroutine);
	// nil is English.
	Say          func(key string, args map[string]any) string
	LinkGrace    time.Duration // down longer than this before "lost"; default 30 s
	LinkInterval time.Duration // at most one "lost" per server per interval; default 10 min
}

func (c Config) withDefaults() Config {
	if c.Say == nil {
		c.Say = english
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.QueueSize <= 0 {
		c.QueueSize = 256
	}
	if c.ShowTimeout <= 0 {
		c.ShowTimeout = 5 * time.Second
	}
	if c.BurstLimit <= 0 {
		c.BurstLimit = 3
	}
	if c.BurstWindow <= 0 {
		c.BurstWindow = 10 * time.Second
	}
	if c.BurstMaxWait <= 0 {
		c.BurstMaxWait = 60 * time.Second
	}
	if c.MergeWindow <= 0 {
		c.MergeWindow = 30 * time.Second
	}
	if c.CatchUpLimit <= 0 {
		c.CatchUpLimit = 3
	}
	if c.CatchUpGap <= 0 {
		c.CatchUpGap = 2 * time.Second
	}
	if c.CatchUpMaxWait <= 0 {
		c.CatchUpMaxWait = 10 * time.Second
	}
	if c.LinkGrace <= 0 {
		c.LinkGrace = 30 * time.Second
	}
	if c.LinkInterval <= 0 {
		c.LinkInterval = 10 * time.Minute
	}
	return c
}

// ErrNoNotifier says Config.Notifier is missing.
var ErrNoNotifier = errors.New("notifier: Config.Notifier is required")

// Counters are the Dispatcher's running totals.
type Counters struct {
	Shown      uint64 // popups shown (a summary counts once)
	Suppressed uint64 // messages the policy kept to history only
	Merged     uint64 // messages covered by a summary instead of their own popup
	Dropped    uint64 // messages that found the queue full (counted in a summary)
	Failed     uint64 // popups the platform refused
	// SuppressedBy splits Suppressed by reason (index: Reason).
	SuppressedBy [numReasons]uint64
}

// Dispatcher takes messages from the connection's sink and shows popups
// from one worker goroutine. Dispatch never blocks.
type Dispatcher struct {
	cfg    Config
	log    *slog.Logger
	queue  chan queued
	kick   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	closed atomic.Bool

	mu      sync.Mutex
	policy  Policy
	links   []linkEvent
	notices []Popup
	// overflow is what Dispatch kept of messages that found the queue full.
	overflow []overflowed

	shown, suppressed, merged, dropped, failed atomic.Uint64
	linkNotices                                atomic.Bool
	suppressedBy                               [numReasons]atomic.Uint64
}

// overflowed is what a summary needs of a message that found the queue
// full.
type overflowed struct {
	ref     Ref
	source  string
	prio    conn.Priority
	catchUp bool
	at      time.Time
}

// queued is a message with the time it arrived: windows are measured by
// arrival, not by when a busy worker gets to it.
type queued struct {
	m  conn.Message
	at time.Time
}

type linkEvent struct {
	server string
	up     bool
	at     time.Time
}

// NewDispatcher starts the worker. Close stops it.
func NewDispatcher(cfg Config) (*Dispatcher, error) {
	if cfg.Notifier == nil {
		return nil, ErrNoNotifier
	}
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	d := &Dispatcher{cfg: cfg, log: cfg.Logger.With("component", "notifier"), policy: cfg.Policy,
		queue: make(chan queued, cfg.QueueSize), kick: make(chan struct{}, 1),
		ctx: ctx, cancel: cancel, done: make(chan struct{})}
	d.linkNotices.Store(cfg.LinkNotices)
	go d.run(newEngine(cfg))
	return d, nil
}

// Dispatch queues m for a popup decision. It never blocks: when the queue
// is full only what a summary needs of m is kept (its ref, source and
// priority, a few dozen bytes), and the worker counts it in the catch-up
// summary or in a summary of its own, so that no message is lost from the
// count nor left unnotified to pop up again at the next start. Dispatch
// returns false only after Close. Safe from any goroutine.
func (d *Dispatcher) Dispatch(m conn.Message) bool {
	if d.closed.Load() {
		return false
	}
	select {
	case d.queue <- queued{m, d.cfg.Now()}:
		return true
	default:
		// Logged at the 1st, 2nd, 4th, 8th… overflow: a flood must not
		// turn into a flood of log lines.
		if n := d.dropped.Add(1); n&(n-1) == 0 {
			d.log.Warn("popup queue full; the message is counted in a summary popup",
				"server", m.Server, "id", m.ID, "overflowed_total", n)
		}
		d.mu.Lock()
		d.overflow = append(d.overflow, overflowed{Ref{m.Server, m.ID}, m.Source, m.Priority, m.CatchUp, d.cfg.Now()})
		d.mu.Unlock()
		d.wake()
		return true
	}
}

// LinkState tells the Dispatcher whether server's connection is up (the
// caller maps its connection states: connected → true; reconnecting,
// offline → false; other states need not be reported). It never blocks.
func (d *Dispatcher) LinkState(server string, up bool) {
	if d.closed.Load() {
		return
	}
	d.mu.Lock()
	d.links = append(d.links, linkEvent{server, up, d.cfg.Now()})
	d.mu.Unlock()
	d.wake()
}

// Notice shows a popup from Tidings itself (a problem the user must know
// about, such as messages not being saved), decided by the policy like a
// high-priority message: paused and do-not-disturb hold it back. Callers
// rate-limit: one notice per problem. It never blocks.
func (d *Dispatcher) Notice(title, body string) {
	if d.closed.Load() {
		return
	}
	d.mu.Lock()
	d.notices = append(d.notices, Popup{Title: sanitize.Summary(title), Body: sanitize.Body(body),
		Urgency: UrgencyNormal, Group: "notice:" + hashKey(title)})
	d.mu.Unlock()
	d.wake()
}

// SetLinkNotices turns the "connection lost / restored" popups on or off,
// from now on (a pending one is dropped when turned off). Any goroutine.
func (d *Dispatcher) SetLinkNotices(on bool) {
	d.linkNotices.Store(on)
	d.wake()
}

// SetPolicy replaces the policy; it applies to messages decided from now on.
func (d *Dispatcher) SetPolicy(p Policy) {
	d.mu.Lock()
	d.policy = p
	d.mu.Unlock()
	d.wake()
}

// Policy returns the current policy.
func (d *Dispatcher) Policy() Policy {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.policy
}

// Status describes what the current policy holds back, for the UI.
func (d *Dispatcher) Status() Status { return d.Policy().Status(d.cfg.Now()) }

// counters returns the running totals.
func (d *Dispatcher) counters() Counters {
	c := Counters{Shown: d.shown.Load(), Suppressed: d.suppressed.Load(), Merged: d.merged.Load(),
		Dropped: d.dropped.Load(), Failed: d.failed.Load()}
	for i := range c.SuppressedBy {
		c.SuppressedBy[i] = d.suppressedBy[i].Load()
	}
	return c
}

// Close stops the worker and returns when it has exited; a Show in
// progress is cancelled. Messages still queued or held are left unreported
// (history still has them as not notified). Close is idempotent.
func (d *Dispatcher) Close() error {
	d.closed.Store(true)
	d.cancel()
	<-d.done
	return nil
}

func (d *Dispatcher) wake() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

func (d *Dispatcher) run(e *engine) {
	defer close(d.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		e.setLinkNotices(d.linkNotices.Load())
		if at, ok := e.next(); ok {
			timer.Reset(max(at.Sub(d.cfg.Now()), 0))
		} else {
			timer.Stop()
		}
		var out outcome
		select {
		case <-d.ctx.Done():
			return
		case q := <-d.queue:
			e.handle(q.m, d.Policy(), q.at, &out)
		case <-d.kick:
			// What is queued came first: decide it before the overflow.
			for drained := false; !drained; {
				select {
				case q := <-d.queue:
					e.handle(q.m, d.Policy(), q.at, &out)
				default:
					drained = true
				}
			}
			d.mu.Lock()
			events, notices, over := d.links, d.notices, d.overflow
			d.links, d.notices, d.overflow = nil, nil, nil
			d.mu.Unlock()
			for _, o := range over {
				e.overflowed(o, d.Policy(), &out)
			}
			e.setLinkNotices(d.linkNotices.Load()) // it may have changed with these events
			for _, ev := range events {
				e.link(ev.server, ev.up, d.Policy(), ev.at, &out)
			}
			for _, p := range notices {
				if r := d.Policy().Check("", "", conn.PriorityHigh, d.cfg.Now()); r != Allowed {
					d.suppressed.Add(1)
					d.suppressedBy[r].Add(1)
					continue
				}
				out.popups = append(out.popups, p)
			}
		case <-timer.C:
			// Messages that arrived before the deadline belong to the
			// windows it closes: decide them first.
			for drained := false; !drained; {
				select {
				case q := <-d.queue:
					e.handle(q.m, d.Policy(), q.at, &out)
				default:
					drained = true
				}
			}
			e.tick(d.cfg.Now(), d.Policy(), &out)
		}
		d.apply(out)
	}
}

// apply shows the decided popups and reports what was settled.
func (d *Dispatcher) apply(out outcome) {
	for i, r := range out.reasons {
		d.suppressed.Add(1)
		d.suppressedBy[r].Add(1)
		d.log.Debug("popup held back by policy", "server", out.settled[i].Server, "id", out.settled[i].ID, "reason", r.String())
	}
	if len(out.settled) > 0 && d.cfg.Notified != nil {
		d.cfg.Notified(out.settled)
	}
	for _, p := range out.popups {
		if d.ctx.Err() != nil {
			return
		}
		ctx, cancel := context.WithTimeout(d.ctx, d.cfg.ShowTimeout)
		err := d.cfg.Notifier.Show(ctx, p)
		cancel()
		if err != nil {
			if d.ctx.Err() != nil {
				return // closing: leave these unreported
			}
			d.failed.Add(1)
			d.log.Warn("popup failed", "err", err, "messages", len(p.Refs))
		} else {
			d.shown.Add(1)
		}
		if p.Merged {
			d.merged.Add(uint64(len(p.Refs)))
		}
		// Reported even when the platform refused it: re-popping at every
		// start would not make a broken notification server work.
		if len(p.Refs) > 0 && d.cfg.Notified != nil {
			d.cfg.Notified(p.Refs)
		}
	}
}
