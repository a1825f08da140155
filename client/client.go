// Package client is Tidings without a face: it logs in through account,
// keeps one conn.Supervisor for the configured account, stores every message
// in the history, and hands the new ones to the notifier as soon as the
// insert knows they are new (while its commit is made durable). cmd/tidings
// adapts it to the ui package's interfaces; tests drive it directly against
// a real server, a real keyring and a real bus.
//
// The message path: conn's sink (must not block) → an in-memory queue that
// never drops → one worker that inserts batches into history → for each
// message history did not have yet, notifier.Dispatch (before the commit's
// fsync returns) → after the popup, history.MarkNotified. A crash anywhere
// re-pops at most the messages stored but not yet marked, once, at the next
// start; a crash between a popup and its commit shows that message again
// once, when the restart's catch-up fetches it.
package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tidings-app/tidings/account"
	"github.com/tidings-app/tidings/conn"
	"github.com/tidings-app/tidings/history"
	"github.com/tidings-app/tidings/notifier"
)

// Errors.
var (
	// ErrNeedsLogin: no account is configured, or its token is gone.
	ErrNeedsLogin = errors.New("client: log in needed")
	// ErrClosed: the client was closed.
	ErrClosed = errors.New("client: closed")
)

// Config is what a Client needs.
type Config struct {
	Accounts *account.Manager  // required
	History  *history.Store    // required
	Notifier notifier.Notifier // required (notifier.NewDesktop in the app)
	Policy   notifier.Policy   // initial popup policy
	// LinkNotices turns on the "connection lost / restored" popups.
	LinkNotices bool
	Logger      *slog.Logger
	// OnStatus receives every connection state change, in order. Called
	// from any goroutine; must not block.
	OnStatus func(conn.Status)
	// OnStorage hears that history cannot be written (err) and, later, that
	// it can again (nil): the tray says so meanwhile. Called from the
	// pipeline's goroutine; must not block.
	OnStorage func(err error)
	// StorageNotice is the popup shown once when history stops being
	// writable, in the user's language (default: English).
	StorageNotice Notice
	// ShortNotice is the popup shown when a catch-up fetched only the
	// newest of the missed messages; its Body is a fmt format with
	// %[1]d (fetched) and %[2]d (missed). Default: English.
	ShortNotice Notice
	// MovedAsideNotice is shown once at start when history was unusable
	// and moved aside (Body: a fmt format with %[1]s, where it went);
	// InMemoryNotice when the history file cannot be used at all and this
	// session keeps it in memory (Body: %[1]s, the file). Default: English.
	MovedAsideNotice Notice
	InMemoryNotice   Notice
	// NoKeyringNotice is shown when a login cannot be remembered (no system
	// keyring answers); SettingsNotice when a login's settings file cannot
	// be written (Body: %[1]s, the file). Default: English.
	NoKeyringNotice Notice
	SettingsNotice  Notice
	// OnWarning hears that a lasting account problem began (on) or ended:
	// account.ErrNoKeyring or account.ErrConfigNotSaved. The tray states
	// it meanwhile. Must not block.
	OnWarning func(problem error, on bool)
	// StoreRetry is how often messages that could not be saved are written
	// again (default DefaultStoreRetry).
	StoreRetry time.Duration
	// ShownPath is the file that carries, to the next start, which
	// messages popped up but could not be stored when Tidings quit (a full
	// disk), so they do not pop up again when they are fetched again. Put
	// it off the data disk: DefaultShownPath. "" keeps no such file.
	ShownPath string
	// HistoryFile names the history file in notices (History.Path is ""
	// when it fell back to memory).
	HistoryFile string
	// Tune adjusts each connection's config before it starts (tests scale
	// durations down; the app leaves it nil).
	Tune func(*conn.Config)
	// Dispatch adjusts the notifier's dispatcher config (tests shrink its
	// windows).
	Dispatch func(*notifier.Config)
	// WakeWatchers kick the connection on resume and network-up; nil means
	// conn.DefaultWakeWatchers(), an empty non-nil slice means none.
	WakeWatchers []conn.WakeWatcher
}

// Client ties the pieces together. Its methods are safe for concurrent use.
type Client struct {
	cfg  Config
	log  *slog.Logger
	disp *notifier.Dispatcher
	pipe *pipeline

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// rebuiltAt is when this run started with a history Open had to move
	// aside (zero otherwise): what an account without a resume point
	// re-fetches, sent before it, is stored without popups.
	rebuiltAt time.Time

	mu     sync.Mutex
	sup    *conn.Supervisor
	acct   account.Account
	closed bool
}

// New starts the message pipeline and the notifier, and re-offers the
// messages history holds as not notified (a crash between store and popup).
// It does not connect: call Resume or Login.
func New(cfg Config) (*Client, error) {
	if cfg.Accounts == nil || cfg.History == nil || cfg.Notifier == nil {
		return nil, errors.New("client: Accounts, History and Notifier are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.OnStatus == nil {
		cfg.OnStatus = func(conn.Status) {}
	}
	c := &Client{cfg: cfg, log: cfg.Logger.With("component", "client")}
	if cfg.History.MovedAside() != "" {
		c.rebuiltAt = time.Now()
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	dcfg := notifier.Config{
		Notifier:    cfg.Notifier,
		Policy:      cfg.Policy,
		Logger:      cfg.Logger,
		LinkNotices: cfg.LinkNotices,
		Notified:    c.markNotified,
	}
	if cfg.Dispatch != nil {
		cfg.Dispatch(&dcfg)
	}
	disp, err := notifier.NewDispatcher(dcfg)
	if err != nil {
		c.cancel()
		return nil, fmt.Errorf("client: notifier: %w", err)
	}
	c.disp = disp
	c.pipe = newPipeline(cfg.History, disp, c.log, cfg.StoreRetry, c.storageProblem, loadShown(cfg.ShownPath, c.log))
	c.wg.Add(1)
	go func() { defer c.wg.Done(); c.pipe.run(c.ctx) }()
	c.historyNotices()
	c.reofferUnnotified()
	watchers := cfg.WakeWatchers
	if watchers == nil {
		watchers = conn.DefaultWakeWatchers()
	}
	if len(watchers) > 0 {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			conn.WatchWake(c.ctx, c.log, func(reason string) { c.Kick() }, watchers...)
		}()
	}
	return c, nil
}

// Notice is a popup from Tidings itself.
type Notice struct{ Title, Body string }

var defaultStorageNotice = Notice{
	Title: "Messages are not being saved",
	Body: "Tidings cannot write its history: the disk may be full or the folder read-only. " +
		"Messages still pop up and are saved as soon as writing works again. Free some space to fix it.",
}

var defaultShortNotice = Notice{
	Title: "Not every missed message was fetched",
	Body:  "%[1]d of %[2]d missed messages were fetched; the older ones are still on the server.",
}

var (
	defaultMovedAsideNotice = Notice{
		Title: "Message history was damaged and started anew",
		Body:  "The old history file was moved to %[1]s. Earlier messages and read marks are in it, not in the history window.",
	}
	defaultInMemoryNotice = Notice{
		Title: "Messages are not being saved",
		Body:  "Tidings cannot use its history file %[1]s (read-only folder or no space). Messages pop up but are kept only until Tidings quits.",
	}
)

// historyNotices tells the user, once at start, what Open did to a history
// it could not use: moved aside (a popup), or kept in memory (a popup, and
// OnStorage for the tray line, for the whole session).
func (c *Client) historyNotices() {
	pick := func(n, def Notice) Notice {
		if n.Title == "" {
			return def
		}
		return n
	}
	if aside := c.cfg.History.MovedAside(); aside != "" {
		n := pick(c.cfg.MovedAsideNotice, defaultMovedAsideNotice)
		c.disp.Notice(n.Title, fmt.Sprintf(n.Body, aside))
	}
	if c.cfg.History.Path() == "" {
		n := pick(c.cfg.InMemoryNotice, defaultInMemoryNotice)
		c.disp.Notice(n.Title, fmt.Sprintf(n.Body, c.cfg.HistoryFile))
		if c.cfg.OnStorage != nil {
			c.cfg.OnStorage(history.ErrInMemory)
		}
	}
}

// shortCatchUp tells the user that a catch-up stopped at its bound.
func (c *Client) shortCatchUp(s *conn.ShortCatchUp) {
	n := c.cfg.ShortNotice
	if n.Title == "" {
		n = defaultShortNotice
	}
	missed := strconv.Itoa(s.Missed)
	if s.AtLeast {
		missed += "+"
	}
	c.disp.Notice(n.Title, fmt.Sprintf(strings.ReplaceAll(n.Body, "%[2]d", "%[2]s"), s.Fetched, missed))
}

// storageProblem tells the user, once per episode, that messages are not
// being saved (a popup and, through OnStorage, the tray), and that it is
// over.
func (c *Client) storageProblem(err error) {
	if err != nil {
		n := c.cfg.StorageNotice
		if n.Title == "" {
			n = defaultStorageNotice
		}
		c.disp.Notice(n.Title, n.Body)
	}
	if c.cfg.OnStorage != nil {
		c.cfg.OnStorage(err)
	}
}

// reofferUnnotified hands the dispatcher what history stored but never
// popped (the app died in between). They count as catch-up, so a pile of
// them becomes one summary.
func (c *Client) reofferUnnotified() {
	entries, err := c.cfg.History.Unnotified(c.ctx, 1000)
	if err != nil {
		c.log.Warn("cannot read messages not yet notified", "err", err)
		return
	}
	var seen []history.Key
	for _, e := range entries {
		m := e.Message
		if c.pipe.shown.take(m) { // shown before the quit; its mark was lost
			seen = append(seen, history.Key{Server: m.Server, ID: m.ID})
			continue
		}
		m.CatchUp = true
		c.disp.Dispatch(m)
	}
	if len(seen) > 0 {
		if err := c.cfg.History.MarkNotified(c.ctx, seen...); err != nil {
			c.log.Warn("cannot mark messages shown before the restart notified", "err", err)
		}
	}
	if len(entries) > 0 {
		c.log.Info("re-offered messages stored but not notified", "count", len(entries))
	}
}

func (c *Client) markNotified(refs []notifier.Ref) {
	keys := make([]history.Key, len(refs))
	for i, r := range refs {
		keys[i] = history.Key{Server: r.Server, ID: r.ID}
	}
	if err := c.cfg.History.MarkNotified(c.ctx, keys...); err != nil && !errors.Is(err, history.ErrClosed) {
		c.log.Warn("cannot mark messages notified", "err", err)
		c.pipe.shown.note(keys...) // so the next start does not show them again
	}
}

// Dispatcher is the notifier's dispatcher (policy, status, counters).
func (c *Client) Dispatcher() *notifier.Dispatcher { return c.disp }

// Account returns the account the client is (or was last) connected with.
func (c *Client) Account() (account.Account, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.acct, c.acct.Server != ""
}

// Kick makes the connection retry or probe now (Reconnect now, network-up,
// resume from sleep).
func (c *Client) Kick() {
	c.mu.Lock()
	sup := c.sup
	c.mu.Unlock()
	if sup != nil {
		sup.Kick()
	}
}

// Close stops the connection, drains the pipeline into history, stops the
// notifier and the wake watchers. It does not close the history store.
func (c *Client) Close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	sup := c.sup
	c.sup = nil
	c.mu.Unlock()
	if sup != nil {
		sup.Stop()
	}
	c.cancel()
	c.wg.Wait()
	c.pipe.drain(context.Background())
	_ = c.disp.Close()
	if n, err := c.pipe.shown.flush(); err != nil {
		c.log.Warn("cannot note which messages were shown but not saved; they will pop up again at the next start", "count", n, "err", err)
	} else if n > 0 {
		c.log.Info("noted messages shown but not saved, so the next start does not show them again", "count", n, "path", c.cfg.ShownPath)
	}
}
