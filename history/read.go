package history

import (
	"context"
	"database/sql"
	"time"

	"github.com/tidings-app/tidings/conn"
)

// Key is a message's identity: the server (account) it came from and the
// protocol's message id.
type Key struct {
	Server string
	ID     string
}

// Entry is one stored message.
type Entry struct {
	conn.Message       // CatchUp is always false: it is not stored
	Seq          int64 // the store's row id: stable, increases with insertion
	Read         bool
	Notified     bool
}

// Key returns the entry's identity.
func (e Entry) Key() Key { return Key{Server: e.Server, ID: e.ID} }

// Cursor marks a position in the newest-first order, for keyset paging:
// pass the Cursor of the last entry of a page to get the next page. The
// zero Cursor means "from the newest".
type Cursor struct {
	Received time.Time
	Seq      int64
}

// Cursor returns the position just after e in the newest-first order.
func (e Entry) Cursor() Cursor { return Cursor{Received: e.Received, Seq: e.Seq} }

// IsZero reports whether c is the start of the list.
func (c Cursor) IsZero() bool { return c.Seq == 0 && c.Received.IsZero() }

// DefaultPageSize is used when a page size ≤ 0 is asked for.
const DefaultPageSize = 50

// maxPageSize bounds one query's result.
const maxPageSize = 1000

const entryColumns = `m.seq, m.server, m.msg_id, m.received, m.sent, m.title, m.body,
	m.priority, m.url, m.source, m.markdown, m.read, m.notified, m.extra`

// Page returns up to limit entries older than before, newest first
// (by received time, then by insertion order). Paging is by key, so it
// costs the same on page 1 and page 2 000, and messages arriving meanwhile
// never shift or repeat entries on later pages.
func (s *Store) Page(ctx context.Context, before Cursor, limit int) ([]Entry, error) {
	limit = clampLimit(limit)
	if before.IsZero() {
		return s.query(ctx, "page", `SELECT `+entryColumns+` FROM messages m
			ORDER BY m.received DESC, m.seq DESC LIMIT ?`, limit)
	}
	return s.query(ctx, "page", `SELECT `+entryColumns+` FROM messages m
		WHERE (m.received, m.seq) < (?, ?)
		ORDER BY m.received DESC, m.seq DESC LIMIT ?`,
		before.Received.UnixMicro(), before.Seq, limit)
}

// Get returns one entry, and false if it is not stored.
func (s *Store) Get(ctx context.Context, k Key) (Entry, bool, error) {
	es, err := s.query(ctx, "get", `SELECT `+entryColumns+` FROM messages m
		WHERE m.server = ? AND m.msg_id = ?`, k.Server, k.ID)
	if err != nil || len(es) == 0 {
		return Entry{}, false, err
	}
	return es[0], true, nil
}

// Unnotified returns, oldest first, up to limit stored messages whose popup
// was never confirmed by MarkNotified. At start-up the app pops these (and
// marks them) before going live: a crash between Insert and MarkNotified
// thus re-pops at most the messages in flight, never a duplicate for the
// rest.
func (s *Store) Unnotified(ctx context.Context, limit int) ([]Entry, error) {
	return s.query(ctx, "unnotified", `SELECT `+entryColumns+` FROM messages m
		WHERE m.notified = 0 ORDER BY m.seq LIMIT ?`, clampLimit(limit))
}

// Count returns how many messages are stored.
func (s *Store) Count(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM messages`).Scan(&n); err != nil {
		return 0, s.fail("count", err)
	}
	return n, nil
}

// UnreadCount returns how many messages are unread.
func (s *Store) UnreadCount(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT coalesce(sum(n), 0) FROM unread_counts`).Scan(&n); err != nil {
		return 0, s.fail("unread count", err)
	}
	return n, nil
}

// UnreadBySource returns the unread count per source; sources with no
// unread message are absent.
func (s *Store) UnreadBySource(ctx context.Context) (map[string]int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT source, n FROM unread_counts WHERE n > 0`)
	if err != nil {
		return nil, s.fail("unread by source", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var src string
		var n int
		if err := rows.Scan(&src, &n); err != nil {
			return nil, s.fail("unread by source", err)
		}
		out[src] = n
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("unread by source", err)
	}
	return out, nil
}

func clampLimit(limit int) int {
	switch {
	case limit <= 0:
		return DefaultPageSize
	case limit > maxPageSize:
		return maxPageSize
	}
	return limit
}

// query runs a SELECT of entryColumns and scans the entries.
func (s *Store) query(ctx context.Context, what, q string, args ...any) ([]Entry, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.fail(what, err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		var received int64
		var sent sql.NullInt64
		var prio int
		var extra string
		if err := rows.Scan(&e.Seq, &e.Server, &e.ID, &received, &sent, &e.Title, &e.Body,
			&prio, &e.URL, &e.Source, &e.Markdown, &e.Read, &e.Notified, &extra); err != nil {
			return nil, s.fail(what, err)
		}
		e.Received = time.UnixMicro(received)
		if sent.Valid {
			e.Sent = time.UnixMicro(sent.Int64)
		}
		e.Priority = conn.Priority(prio)
		e.Extra = decodeExtra(extra)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(what, err)
	}
	return out, nil
}
