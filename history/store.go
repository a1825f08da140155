// Package history is Tidings' durable message history: every pushed message
// is stored once, keyed by (server, message id), in an SQLite database
// (modernc.org/sqlite, pure Go) in WAL mode with synchronous=FULL, so a
// message Insert reported stored survives a crash or power loss.
//
// The store answers the queries the UI needs (newest-first pages, unread
// counts, full-text search), prunes itself by age and count in the
// background, and tells watchers when something changed. A `notified` flag
// set after the popup lets the app re-pop, after a crash, exactly the
// messages whose popup may not have been shown.
//
// History never stops the app from starting: a corrupt or unreadable
// database is moved aside and a fresh one created; if even that fails the
// store runs in memory for the session. Message content is untrusted: it is
// stored as given (the notifier sanitises for display) but its size is
// bounded (see Config).
//
// history imports no Fyne.
package history

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Errors returned by the store.
var (
	ErrClosed  = errors.New("history: store is closed")
	ErrNoPath  = errors.New("history: no database path given")
	ErrInvalid = errors.New("history: invalid message")
	// ErrInMemory: the database file could not be used; this session
	// keeps history in memory (Path is "").
	ErrInMemory = errors.New("history: the database file cannot be used; history is in memory for this session")
)

// Config configures a Store. Zero values get the defaults in withDefaults;
// a negative retention value switches that limit off.
type Config struct {
	// Path of the database file; DefaultPath gives the usual place. Its
	// directory is created if missing.
	Path   string
	Logger *slog.Logger

	// BusyTimeout is how long SQLite waits for a lock held by another
	// connection before failing. Default 5 s.
	BusyTimeout time.Duration

	// Size caps applied on insert, in bytes of UTF-8. Longer values are cut
	// at a rune boundary and end in "…" (the whole, with marker, fits the
	// cap). Defaults: title 1 KiB, body 64 KiB, URL 4 KiB, source 256 B.
	// Server and ID are identity and never cut: a message whose Server or
	// ID is empty or longer than MaxKeyBytes (default 1 KiB) is refused
	// with ErrInvalid.
	MaxTitleBytes  int
	MaxBodyBytes   int
	MaxURLBytes    int
	MaxSourceBytes int
	MaxKeyBytes    int

	// Retention: messages received more than MaxAge ago, and all but the
	// newest MaxCount messages, are deleted. Defaults 365 days and 50 000;
	// negative means no limit.
	MaxAge   time.Duration
	MaxCount int
	// RetentionInterval is how often the background pruner runs (also once
	// at start). Default 1 h; negative disables the background pruner
	// (Prune can still be called).
	RetentionInterval time.Duration
	// PruneBatch is how many rows one pruning transaction deletes, so a big
	// prune never holds the write lock for long. Default 2 000.
	PruneBatch int

	// Now is the clock, for tests. Default time.Now.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	c.Logger = c.Logger.With("component", "history")
	if c.BusyTimeout <= 0 {
		c.BusyTimeout = 5 * time.Second
	}
	if c.MaxTitleBytes <= 0 {
		c.MaxTitleBytes = 1 << 10
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 64 << 10
	}
	if c.MaxURLBytes <= 0 {
		c.MaxURLBytes = 4 << 10
	}
	if c.MaxSourceBytes <= 0 {
		c.MaxSourceBytes = 256
	}
	if c.MaxKeyBytes <= 0 {
		c.MaxKeyBytes = 1 << 10
	}
	if c.MaxAge == 0 {
		c.MaxAge = 365 * 24 * time.Hour
	}
	if c.MaxCount == 0 {
		c.MaxCount = 50_000
	}
	if c.RetentionInterval == 0 {
		c.RetentionInterval = time.Hour
	}
	if c.PruneBatch <= 0 {
		c.PruneBatch = 2000
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Store is the message history. Its methods are safe for concurrent use.
type Store struct {
	cfg        Config
	log        *slog.Logger
	db         *sql.DB
	path       string // "" when running in memory
	movedAside string // where a bad database was moved at Open, if anywhere

	wmu sync.Mutex // serialises write transactions within this process
	// writer is the connection kept out of the pool for writes, with a
	// small page cache: a burst of inserts then fills one 2 MiB cache
	// instead of one large cache per pooled connection it happened to
	// use (readers keep the large ones). hint is another, with
	// synchronous=NORMAL, for writes whose loss in a power cut costs only
	// a repeat popup (MarkNotified). Both nil in memory. Guarded by wmu.
	writer, hint *sql.Conn

	watchers watchers

	retMu    sync.Mutex // guards the limits, which SetRetention changes
	maxAge   time.Duration
	maxCount int
	pruneNow chan struct{}

	stop      context.CancelFunc
	done      chan struct{}
	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

// Open opens (creating if needed) the history database at cfg.Path,
// migrating it to the current schema. A file that is not a usable Tidings
// database (garbage, truncated, corrupt pages, a schema from a newer build)
// is renamed aside with a timestamp suffix, logged, and replaced by a fresh
// database; if the file cannot be used at all (for example its directory is
// read-only) the store runs in memory for this session and says so in the
// log. Open returns an error only when ctx ends or cfg.Path is empty.
//
// ctx also bounds the background pruner: it stops when ctx is cancelled or
// at Close, whichever comes first.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Path == "" {
		return nil, ErrNoPath
	}
	cfg = cfg.withDefaults()
	s := &Store{cfg: cfg, log: cfg.Logger, maxAge: cfg.MaxAge, maxCount: cfg.MaxCount, pruneNow: make(chan struct{}, 1)}

	db, err := openFile(ctx, cfg)
	switch {
	case err == nil:
		s.db, s.path = db, cfg.Path
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case isBadDatabase(err):
		aside, merr := moveAside(cfg.Path, cfg.Now())
		if merr != nil {
			s.log.Error("history database is unusable and could not be moved aside; keeping history in memory for this session",
				"path", cfg.Path, "err", err, "move_err", merr)
			break
		}
		s.movedAside = aside
		s.log.Warn("history database was unusable; moved it aside and started a fresh one",
			"path", cfg.Path, "moved_to", aside, "err", err)
		if db, err = openFile(ctx, cfg); err == nil {
			s.db, s.path = db, cfg.Path
		} else {
			s.log.Error("fresh history database could not be created; keeping history in memory for this session",
				"path", cfg.Path, "err", err)
		}
	default:
		s.log.Error("history database could not be opened; keeping history in memory for this session",
			"path", cfg.Path, "err", err)
	}
	if s.db == nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if s.db, err = openMemory(ctx); err != nil {
			return nil, fmt.Errorf("history: in-memory fallback: %w", err)
		}
	} else {
		if s.writer, err = writerConn(ctx, s.db, false); err != nil {
			s.log.Warn("history: no connection of its own for writes; they use the pool", "err", err)
		}
		if s.hint, err = writerConn(ctx, s.db, true); err != nil {
			s.log.Warn("history: no relaxed connection; marking popups shown waits for the disk", "err", err)
		}
	}

	bg, stop := context.WithCancel(ctx)
	s.stop, s.done = stop, make(chan struct{})
	go s.retentionLoop(bg)
	return s, nil
}

// dsn builds the modernc.org/sqlite DSN: every pooled connection gets the
// busy timeout, WAL, synchronous=FULL and foreign keys; write transactions
// begin IMMEDIATE so two writers never deadlock upgrading a read lock.
func dsn(path string, busy time.Duration) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busy.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	// Up to 16 MiB of page cache per connection (allocated on demand): a
	// 100 000-message history then stays in memory instead of being re-read
	// page by page on every batch.
	q.Add("_pragma", "cache_size(-16384)")
	q.Set("_txlock", "immediate")
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

// openFile opens the database file, checks it and migrates it. Any error
// leaves nothing open.
func openFile(ctx context.Context, cfg Config) (*sql.DB, error) {
	if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o700); err != nil {
		return nil, fmt.Errorf("history: create data directory: %w", err)
	}
	// Message history is private: create the file owner-only (SQLite gives
	// its -wal and -shm the main file's mode).
	if f, err := os.OpenFile(cfg.Path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	}
	db, err := sql.Open("sqlite", dsn(cfg.Path, cfg.BusyTimeout))
	if err != nil {
		return nil, fmt.Errorf("history: open %s: %w", cfg.Path, err)
	}
	db.SetMaxOpenConns(5) // 3 for the pool, 2 kept aside by Open (writerConn)
	db.SetMaxIdleConns(5)
	if !cleanSinceClose(cfg.Path) {
		if err := check(ctx, db); err != nil {
			db.Close()
			return nil, err
		}
	}
	if err := migrate(ctx, db, latestSchema); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// writerCacheKiB is the page cache of each write connection: enough for
// the pages an insert walks (the tail of each index) and the FTS segment
// being merged.
const writerCacheKiB = 2048

// writerConn takes one connection out of db's pool for writes and gives it
// a small page cache. relaxed sets synchronous=NORMAL: in WAL mode its
// commits reach the log file (an app crash keeps them) without waiting for
// the disk; the next FULL commit's sync makes them durable too.
func writerConn(ctx context.Context, db *sql.DB, relaxed bool) (*sql.Conn, error) {
	c, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	pragmas := []string{fmt.Sprintf("PRAGMA cache_size(-%d)", writerCacheKiB)}
	if relaxed {
		pragmas = append(pragmas, "PRAGMA synchronous(NORMAL)")
	}
	for _, p := range pragmas {
		if _, err := c.ExecContext(ctx, p); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// openMemory is the last resort: a private in-memory database on a single
// connection (each new connection to :memory: would be a different one).
func openMemory(ctx context.Context) (*sql.DB, error) {
	db, err := sql.Open("sqlite", "file::memory:?_txlock=immediate")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := migrate(ctx, db, latestSchema); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Path is the database file in use, or "" when the store fell back to
// memory because the file could not be used.
func (s *Store) Path() string { return s.path }

// MovedAside is where Open moved an unusable database, or "" if it did not.
func (s *Store) MovedAside() string { return s.movedAside }

// Close stops the background pruner, waits for it, closes every watcher
// channel, waits for a write in flight and closes the database. Later calls
// return the first call's result; other methods then return ErrClosed.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.stop()
		<-s.done
		s.watchers.closeAll()
		s.wmu.Lock()
		defer s.wmu.Unlock()
		for _, c := range []*sql.Conn{s.writer, s.hint} {
			if c != nil {
				_ = c.Close() // back to the pool, which Close then closes
			}
		}
		s.closeErr = s.db.Close()
		if s.closeErr == nil && s.path != "" {
			if err := markClean(s.path); err != nil {
				s.log.Warn("history: cannot mark the database closed cleanly; the next start checks it in full", "err", err)
			}
		}
	})
	return s.closeErr
}

// fail turns an error from the database into the store's error: ErrClosed
// once Close has begun, otherwise err wrapped with what was being done.
func (s *Store) fail(what string, err error) error {
	if s.closed.Load() {
		return ErrClosed
	}
	return fmt.Errorf("history: %s: %w", what, err)
}
