package history

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/tidings-app/tidings/conn"
)

// ellipsis marks a value cut to its size cap.
const ellipsis = "…"

// insertChunk is how many messages one INSERT statement carries. FTS5
// flushes its pending index data at every statement boundary inside a
// transaction, so one multi-row statement per chunk, rather than one per
// message, is what makes a batch cheap: 1 000 rows a statement measured
// 5–7× faster than one row a statement on 100 000 messages. At 10
// parameters a row that is 11 000, below SQLite's limit of 32 766.
const insertChunk = 1000

const (
	insertHead = `INSERT INTO messages
	(server, msg_id, received, sent, title, body, priority, url, source, markdown, extra) VALUES `
	insertRow  = `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	insertTail = ` ON CONFLICT (server, msg_id) DO NOTHING RETURNING server, msg_id`
)

// insertChunkRows inserts the messages at indices idx in one statement and
// sets stored[i] for each one actually inserted. RETURNING lists only the
// inserted rows; a key repeated within the chunk is inserted once, and
// credited to its first occurrence.
func insertChunkRows(ctx context.Context, tx *sql.Tx, msgs []conn.Message, rows [][]any, idx []int, stored []bool) (int, error) {
	var q strings.Builder
	q.WriteString(insertHead)
	args := make([]any, 0, len(idx)*11)
	pending := make(map[Key][]int, len(idx))
	for n, i := range idx {
		if n > 0 {
			q.WriteString(", ")
		}
		q.WriteString(insertRow)
		args = append(args, rows[i]...)
		k := Key{msgs[i].Server, msgs[i].ID}
		pending[k] = append(pending[k], i)
	}
	q.WriteString(insertTail)
	res, err := tx.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return 0, err
	}
	defer res.Close()
	inserted := 0
	for res.Next() {
		var k Key
		if err := res.Scan(&k.Server, &k.ID); err != nil {
			return 0, err
		}
		if is := pending[k]; len(is) > 0 {
			stored[is[0]] = true
			inserted++
		}
	}
	return inserted, res.Err()
}

// Insert stores m unless a message with the same (Server, ID) is already
// stored. It reports whether m was newly stored: false means a duplicate
// (a catch-up replay, a retry), which the caller must not notify again.
// When Insert returns true the message is on disk (synchronous=FULL).
//
// A zero Received is set to now. Title, Body, URL and Source are cut to the
// Config caps; an empty or oversized Server or ID is refused with
// ErrInvalid. CatchUp is not stored.
func (s *Store) Insert(ctx context.Context, m conn.Message) (bool, error) {
	stored, err := s.InsertBatch(ctx, []conn.Message{m})
	if len(stored) == 1 && err == nil {
		return stored[0], nil
	}
	return false, err
}

// InsertBatch stores a burst of messages in one transaction (one fsync),
// with the same rules as Insert, and reports per message whether it was
// newly stored; a message repeated within the batch is stored once.
//
// If some messages are invalid the others are still stored: the error
// (errors.Is(err, ErrInvalid)) names the invalid ones by index, and their
// entries in the result are false. On any other error nothing is stored
// and the result is nil.
func (s *Store) InsertBatch(ctx context.Context, msgs []conn.Message) ([]bool, error) {
	return s.InsertBatchThen(ctx, msgs, nil)
}

// InsertBatchThen is InsertBatch that also calls early, when the batch added
// something, with which messages are new: inside the transaction, before its
// commit waits for the disk. A caller can start work on the new messages
// (raise their popups) while they are being made durable. If the commit
// then fails, early has run and the error is returned as by InsertBatch.
func (s *Store) InsertBatchThen(ctx context.Context, msgs []conn.Message, early func(stored []bool)) ([]bool, error) {
	stored := make([]bool, len(msgs))
	var invalid []error
	rows := make([][]any, len(msgs))
	for i, m := range msgs {
		args, err := s.insertArgs(m)
		if err != nil {
			invalid = append(invalid, fmt.Errorf("message %d: %w", i, err))
			continue
		}
		rows[i] = args
	}
	if len(invalid) == len(msgs) { // nothing to write (or an empty batch)
		return stored, errors.Join(invalid...)
	}
	var changed bool
	err := s.write(ctx, "insert", func(tx *sql.Tx) error {
		var chunk []int // indices into msgs of the valid messages, ≤ insertChunk
		for i := 0; i <= len(rows); i++ {
			if i < len(rows) && rows[i] != nil {
				chunk = append(chunk, i)
			}
			if len(chunk) == insertChunk || (i == len(rows) && len(chunk) > 0) {
				n, err := insertChunkRows(ctx, tx, msgs, rows, chunk, stored)
				if err != nil {
					return err
				}
				changed = changed || n > 0
				chunk = chunk[:0]
			}
		}
		if changed && early != nil {
			early(slices.Clone(stored))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if changed {
		s.watchers.notify()
	}
	return stored, errors.Join(invalid...)
}

// insertArgs validates m and returns the insert statement's arguments.
func (s *Store) insertArgs(m conn.Message) ([]any, error) {
	c := &s.cfg
	switch {
	case m.Server == "" || m.ID == "":
		return nil, fmt.Errorf("%w: empty server or id", ErrInvalid)
	case len(m.Server) > c.MaxKeyBytes || len(m.ID) > c.MaxKeyBytes:
		return nil, fmt.Errorf("%w: server or id longer than %d bytes", ErrInvalid, c.MaxKeyBytes)
	}
	received := m.Received
	if received.IsZero() {
		received = c.Now()
	}
	var sent any // NULL when unknown
	if !m.Sent.IsZero() {
		sent = m.Sent.UnixMicro()
	}
	return []any{
		m.Server, m.ID, received.UnixMicro(), sent,
		capBytes(m.Title, c.MaxTitleBytes), capBytes(m.Body, c.MaxBodyBytes),
		int(m.Priority), capBytes(m.URL, c.MaxURLBytes), capBytes(m.Source, c.MaxSourceBytes),
		m.Markdown, encodeExtra(m.Extra),
	}, nil
}

// capBytes cuts s to at most max bytes at a rune boundary, ending it with
// an ellipsis when it was cut. max is at least len(ellipsis) in practice;
// below that the value is just cut.
func capBytes(s string, max int) string {
	if len(s) <= max {
		return s
	}
	keep := max - len(ellipsis)
	mark := ellipsis
	if keep < 0 {
		keep, mark = max, ""
	}
	for keep > 0 && !utf8.RuneStart(s[keep]) {
		keep--
	}
	return s[:keep] + mark
}

// MarkNotified records that the popups for keys were shown (or deliberately
// not shown by policy), so Unnotified stops returning them.
func (s *Store) MarkNotified(ctx context.Context, keys ...Key) error {
	if len(keys) == 0 {
		return nil
	}
	return s.writeHint(ctx, "mark notified", func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `UPDATE messages SET notified = 1 WHERE server = ? AND msg_id = ?`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, k := range keys {
			if _, err := st.ExecContext(ctx, k.Server, k.ID); err != nil {
				return err
			}
		}
		return nil
	})
}

// MarkRead marks one message read. It reports whether the message existed
// and was unread.
func (s *Store) MarkRead(ctx context.Context, k Key) (bool, error) {
	n, err := s.exec(ctx, "mark read",
		`UPDATE messages SET read = 1 WHERE server = ? AND msg_id = ? AND read = 0`, k.Server, k.ID)
	return n > 0, err
}

// MarkAllRead marks every message read and returns how many were unread.
func (s *Store) MarkAllRead(ctx context.Context) (int64, error) {
	return s.exec(ctx, "mark all read", `UPDATE messages SET read = 1 WHERE read = 0`)
}

// Delete removes one message and reports whether it existed. A deleted
// message that is pushed again is stored again as new.
func (s *Store) Delete(ctx context.Context, k Key) (bool, error) {
	n, err := s.exec(ctx, "delete", `DELETE FROM messages WHERE server = ? AND msg_id = ?`, k.Server, k.ID)
	return n > 0, err
}

// Clear removes every message and returns how many there were.
func (s *Store) Clear(ctx context.Context) (int64, error) {
	return s.exec(ctx, "clear", `DELETE FROM messages`)
}

// exec runs one writing statement in a transaction and notifies watchers
// if it changed any row.
func (s *Store) exec(ctx context.Context, what, query string, args ...any) (int64, error) {
	var n int64
	err := s.write(ctx, what, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err == nil && n > 0 {
		s.watchers.notify()
	}
	return n, err
}

// write runs fn in an IMMEDIATE transaction, one writer at a time in this
// process, and commits it.
func (s *Store) write(ctx context.Context, what string, fn func(*sql.Tx) error) error {
	return s.writeWith(ctx, what, false, fn)
}

// writeHint is write for what may be lost in a power cut but not in a
// crash of the app: it commits on the relaxed connection (see writerConn),
// so it does not wait for the disk.
func (s *Store) writeHint(ctx context.Context, what string, fn func(*sql.Tx) error) error {
	return s.writeWith(ctx, what, true, fn)
}

func (s *Store) writeWith(ctx context.Context, what string, relaxed bool, fn func(*sql.Tx) error) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.closed.Load() {
		return ErrClosed
	}
	begin := s.db.BeginTx
	switch {
	case relaxed && s.hint != nil:
		begin = s.hint.BeginTx
	case !relaxed && s.writer != nil:
		begin = s.writer.BeginTx
	}
	tx, err := begin(ctx, nil)
	if err != nil {
		return s.fail(what, err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return s.fail(what, err)
	}
	if err := tx.Commit(); err != nil {
		return s.fail(what, err)
	}
	return nil
}
