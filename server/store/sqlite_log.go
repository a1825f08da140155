package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tidings-app/tidings/proto"
)

// migrations bring the schema from version i to i+1. Only append to this list.
var migrations = []string{
	`CREATE TABLE users(
		id INTEGER PRIMARY KEY,
		name TEXT NOT NULL UNIQUE,
		password BLOB NOT NULL,
		last_id INTEGER NOT NULL DEFAULT 0,
		created INTEGER NOT NULL);
	CREATE TABLE groups_(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
	CREATE TABLE members(
		group_id INTEGER NOT NULL REFERENCES groups_(id) ON DELETE CASCADE,
		user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
		PRIMARY KEY(group_id, user_id)) WITHOUT ROWID;
	CREATE INDEX members_user ON members(user_id);
	CREATE TABLE tokens(
		hash BLOB PRIMARY KEY,
		kind TEXT NOT NULL,
		user_id INTEGER REFERENCES users(id) ON DELETE CASCADE,
		name TEXT NOT NULL DEFAULT '',
		created INTEGER NOT NULL) WITHOUT ROWID;
	CREATE INDEX tokens_user ON tokens(user_id);
	CREATE TABLE messages(
		id INTEGER PRIMARY KEY,
		time INTEGER NOT NULL,
		title TEXT NOT NULL,
		body TEXT NOT NULL,
		priority INTEGER NOT NULL,
		url TEXT NOT NULL,
		topic TEXT NOT NULL,
		content_type TEXT NOT NULL);
	CREATE TABLE deliveries(
		user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
		seq INTEGER NOT NULL,
		message_id INTEGER NOT NULL REFERENCES messages(id),
		time INTEGER NOT NULL,
		PRIMARY KEY(user_id, seq)) WITHOUT ROWID;
	CREATE INDEX deliveries_message ON deliveries(message_id);
	CREATE INDEX deliveries_time ON deliveries(time);`,
}

// SchemaVersion is the schema version this build writes (PRAGMA user_version).
var SchemaVersion = len(migrations)

// ErrNewerSchema means the database was written by a newer tidings-server.
var ErrNewerSchema = errors.New("store: database schema is newer than this program")

func (s *SQLite) migrate(ctx context.Context) error {
	var v int
	if err := s.db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil {
		return fmt.Errorf("store: read schema version: %w", err)
	}
	if v > len(migrations) {
		return fmt.Errorf("%w (version %d, this program knows %d)", ErrNewerSchema, v, len(migrations))
	}
	for i := v; i < len(migrations); i++ {
		err := s.tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
				return fmt.Errorf("store: migration %d: %w", i+1, err)
			}
			_, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, i+1))
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// recipientFilter is the SQL condition on users.id selecting the recipients.
func recipientFilter(to Recipients) (string, []any, error) {
	switch {
	case to.User != "" && to.Group == "" && !to.All:
		return `name = ?`, []any{to.User}, nil
	case to.Group != "" && to.User == "" && !to.All:
		return `id IN (SELECT m.user_id FROM members m JOIN groups_ g ON g.id = m.group_id WHERE g.name = ?)`, []any{to.Group}, nil
	case to.All && to.User == "" && to.Group == "":
		return `1`, nil, nil
	}
	return "", nil, ErrNoRecipients
}

// Append stores m for every recipient in one transaction. The body is stored
// once; each recipient gets a delivery row with its next per-user id. An
// unknown user or group is ErrNotFound; a known group without members (or
// "all" with no users) stores nothing and returns no deliveries.
func (s *SQLite) Append(ctx context.Context, to Recipients, m proto.Message) ([]Delivery, error) {
	var out []Delivery
	err := s.tx(ctx, func(tx *sql.Tx) (err error) {
		out, err = appendTx(ctx, tx, to, m)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// AppendBatch stores every item in one transaction, so a burst of
// publishes costs one disk sync instead of one each. Each item runs in its
// own savepoint: one that fails (an unknown user) is rolled back alone and
// gets its error in its Appended; the others are stored. The returned error
// (begin or commit failed) means none was stored.
func (s *SQLite) AppendBatch(ctx context.Context, items []AppendItem) ([]Appended, error) {
	out := make([]Appended, len(items))
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for i, it := range items {
			if _, err := tx.ExecContext(ctx, `SAVEPOINT item`); err != nil {
				return fmt.Errorf("store: append batch: %w", err)
			}
			ds, err := appendTx(ctx, tx, it.To, it.Msg)
			if err != nil {
				out[i].Err = err
				if _, err := tx.ExecContext(ctx, `ROLLBACK TO item`); err != nil {
					return fmt.Errorf("store: append batch: %w", err)
				}
			}
			if _, err := tx.ExecContext(ctx, `RELEASE item`); err != nil {
				return fmt.Errorf("store: append batch: %w", err)
			}
			out[i].Deliveries = ds
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// appendTx is Append inside tx.
func appendTx(ctx context.Context, tx *sql.Tx, to Recipients, m proto.Message) ([]Delivery, error) {
	where, args, err := recipientFilter(to)
	if err != nil {
		return nil, err
	}
	if m.Time.IsZero() {
		m.Time = time.Now().UTC()
	}
	var out []Delivery
	err = func() error {
		if to.Group != "" {
			var gid int64
			if err := tx.QueryRowContext(ctx, `SELECT id FROM groups_ WHERE name = ?`, to.Group).Scan(&gid); err != nil {
				if errors.Is(err, sql.ErrNoRows) {
					return ErrNotFound
				}
				return fmt.Errorf("store: append: %w", err)
			}
		}
		rows, err := tx.QueryContext(ctx, `UPDATE users SET last_id = last_id + 1 WHERE `+where+` RETURNING name, last_id`, args...)
		if err != nil {
			return fmt.Errorf("store: append: %w", err)
		}
		for rows.Next() {
			d := Delivery{Msg: m}
			if err := rows.Scan(&d.User, &d.Msg.ID); err != nil {
				rows.Close()
				return fmt.Errorf("store: append: %w", err)
			}
			out = append(out, d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: append: %w", err)
		}
		if len(out) == 0 {
			if to.User != "" {
				return ErrNotFound
			}
			return nil
		}
		var mid int64
		err = tx.QueryRowContext(ctx, `INSERT INTO messages(time, title, body, priority, url, topic, content_type) VALUES(?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			m.Time.UnixNano(), m.Title, m.Message, m.Priority, m.URL, m.Topic, m.ContentType).Scan(&mid)
		if err != nil {
			return fmt.Errorf("store: append message: %w", err)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO deliveries(user_id, seq, message_id, time) SELECT id, last_id, ?, ? FROM users WHERE `+where,
			append([]any{mid, m.Time.UnixNano()}, args...)...)
		if err != nil {
			return fmt.Errorf("store: append deliveries: %w", err)
		}
		return nil
	}()
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Since returns up to limit of user's messages with id > after, oldest first.
// An unknown user has no messages.
func (s *SQLite) Since(ctx context.Context, user string, after uint64, limit int) ([]proto.Message, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT d.seq, m.time, m.title, m.body, m.priority, m.url, m.topic, m.content_type
		FROM deliveries d JOIN messages m ON m.id = d.message_id
		WHERE d.user_id = (SELECT id FROM users WHERE name = ?) AND d.seq > ?
		ORDER BY d.seq LIMIT ?`, user, int64(min(after, 1<<63-1)), limit)
	if err != nil {
		return nil, fmt.Errorf("store: since: %w", err)
	}
	defer rows.Close()
	var out []proto.Message
	for rows.Next() {
		var m proto.Message
		var ts int64
		if err := rows.Scan(&m.ID, &ts, &m.Title, &m.Message, &m.Priority, &m.URL, &m.Topic, &m.ContentType); err != nil {
			return nil, fmt.Errorf("store: since: %w", err)
		}
		m.Time = time.Unix(0, ts).UTC()
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: since: %w", err)
	}
	return out, nil
}

// Prune removes deliveries older than r.MaxAge and all but the newest
// r.MaxCount per user, then message bodies nobody references.
func (s *SQLite) Prune(ctx context.Context, now time.Time, r Retention) (int64, error) {
	var removed int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if r.MaxAge > 0 {
			res, err := tx.ExecContext(ctx, `DELETE FROM deliveries WHERE time < ?`, now.Add(-r.MaxAge).UnixNano())
			if err != nil {
				return fmt.Errorf("store: prune by age: %w", err)
			}
			n, _ := res.RowsAffected()
			removed += n
		}
		if r.MaxCount > 0 {
			// Ids are contiguous per user, so the newest MaxCount are those
			// above last_id - MaxCount.
			res, err := tx.ExecContext(ctx, `DELETE FROM deliveries WHERE seq <= (SELECT u.last_id FROM users u WHERE u.id = deliveries.user_id) - ?`, r.MaxCount)
			if err != nil {
				return fmt.Errorf("store: prune by count: %w", err)
			}
			n, _ := res.RowsAffected()
			removed += n
		}
		if removed > 0 {
			if _, err := tx.ExecContext(ctx, `DELETE FROM messages WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = messages.id)`); err != nil {
				return fmt.Errorf("store: prune bodies: %w", err)
			}
		}
		return nil
	})
	return removed, err
}
