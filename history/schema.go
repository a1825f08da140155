package history

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// ErrFutureSchema means the database was written by a newer Tidings whose
// schema this build does not know. Open treats it like a corrupt file: it
// is moved aside (kept, not deleted) and a fresh database is created.
var ErrFutureSchema = errors.New("history: database schema is newer than this build")

// migrations[i] takes the schema from version i to version i+1; the
// database records its version in PRAGMA user_version (0 for a new file).
// Append only: never edit a migration that has shipped.
var migrations = []string{
	// 1: the message table, keyed by (server, msg_id).
	`CREATE TABLE messages (
		seq      INTEGER PRIMARY KEY,
		server   TEXT    NOT NULL,
		msg_id   TEXT    NOT NULL,
		received INTEGER NOT NULL,          -- Unix microseconds
		sent     INTEGER,                   -- Unix microseconds, NULL when unknown
		title    TEXT    NOT NULL,
		body     TEXT    NOT NULL,
		priority INTEGER NOT NULL,
		url      TEXT    NOT NULL,
		source   TEXT    NOT NULL,
		markdown INTEGER NOT NULL DEFAULT 0,
		read     INTEGER NOT NULL DEFAULT 0,
		notified INTEGER NOT NULL DEFAULT 0,
		UNIQUE (server, msg_id)
	);
	CREATE INDEX messages_newest ON messages (received, seq);
	CREATE INDEX messages_unread ON messages (source) WHERE read = 0;
	CREATE INDEX messages_unnotified ON messages (seq) WHERE notified = 0;`,

	// 2: full-text search over title, body and source, as an external-content
	// FTS5 table kept in step with messages by triggers, filled from the rows
	// a version-1 database already holds.
	`CREATE VIRTUAL TABLE messages_fts USING fts5(
		title, body, source,
		content = 'messages', content_rowid = 'seq',
		tokenize = 'unicode61 remove_diacritics 2'
	);
	CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
		INSERT INTO messages_fts (rowid, title, body, source)
		VALUES (new.seq, new.title, new.body, new.source);
	END;
	CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
		INSERT INTO messages_fts (messages_fts, rowid, title, body, source)
		VALUES ('delete', old.seq, old.title, old.body, old.source);
	END;
	CREATE TRIGGER messages_fts_update AFTER UPDATE OF title, body, source ON messages BEGIN
		INSERT INTO messages_fts (messages_fts, rowid, title, body, source)
		VALUES ('delete', old.seq, old.title, old.body, old.source);
		INSERT INTO messages_fts (rowid, title, body, source)
		VALUES (new.seq, new.title, new.body, new.source);
	END;
	INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');`,

	// 3: unread counts per source kept by triggers, so the badge and the
	// per-source counts cost a lookup in a table of a few rows instead of a
	// scan of every unread message.
	`CREATE TABLE unread_counts (
		source TEXT PRIMARY KEY,
		n      INTEGER NOT NULL
	) WITHOUT ROWID;
	INSERT INTO unread_counts (source, n)
		SELECT source, count(*) FROM messages WHERE read = 0 GROUP BY source;
	CREATE TRIGGER unread_counts_insert AFTER INSERT ON messages WHEN new.read = 0 BEGIN
		INSERT INTO unread_counts (source, n) VALUES (new.source, 1)
		ON CONFLICT (source) DO UPDATE SET n = n + 1;
	END;
	CREATE TRIGGER unread_counts_delete AFTER DELETE ON messages WHEN old.read = 0 BEGIN
		UPDATE unread_counts SET n = n - 1 WHERE source = old.source;
	END;
	CREATE TRIGGER unread_counts_update AFTER UPDATE OF read, source ON messages BEGIN
		UPDATE unread_counts SET n = n - 1 WHERE old.read = 0 AND source = old.source;
		INSERT INTO unread_counts (source, n) SELECT new.source, 1 WHERE new.read = 0
		ON CONFLICT (source) DO UPDATE SET n = n + 1;
	END;`,

	// 4: the resume point of each account, apart from the message rows: the
	// id of the last message stored for it (set by a trigger in the same
	// transaction as the row, so it never runs ahead of what is on disk),
	// or a position recorded before any message came (SetResumePoint).
	// Deleting rows (Clear, retention, Delete) leaves it where it is.
	`CREATE TABLE resume_points (
		server TEXT PRIMARY KEY,
		point  TEXT NOT NULL
	) WITHOUT ROWID;
	INSERT INTO resume_points (server, point)
		SELECT server, msg_id FROM messages WHERE seq IN (SELECT max(seq) FROM messages GROUP BY server);
	CREATE TRIGGER resume_points_insert AFTER INSERT ON messages BEGIN
		INSERT INTO resume_points (server, point) VALUES (new.server, new.msg_id)
		ON CONFLICT (server) DO UPDATE SET point = excluded.point;
	END;`,

	// 5: what a protocol adds to a message (ntfy tags, actions and
	// attachment, icon and image URLs) as JSON; '' when there is none.
	`ALTER TABLE messages ADD COLUMN extra TEXT NOT NULL DEFAULT '';`,
}

// latestSchema is the version Open migrates every database to.
var latestSchema = len(migrations)

// schemaVersion reads PRAGMA user_version.
func schemaVersion(ctx context.Context, db *sql.DB) (int, error) {
	var v int
	err := db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v)
	return v, err
}

// migrate brings db to version target (at most len(migrations)), one
// transaction per step so a crash leaves the database at a whole version.
func migrate(ctx context.Context, db *sql.DB, target int) error {
	from, err := schemaVersion(ctx, db)
	if err != nil {
		return fmt.Errorf("history: read schema version: %w", err)
	}
	if from > len(migrations) {
		return fmt.Errorf("%w (file has version %d, this build knows %d)", ErrFutureSchema, from, len(migrations))
	}
	for v := from; v < target; v++ {
		if err := migrateStep(ctx, db, v); err != nil {
			return fmt.Errorf("history: migrate schema %d→%d: %w", v, v+1, err)
		}
	}
	return nil
}

func migrateStep(ctx context.Context, db *sql.DB, v int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
		return err
	}
	// PRAGMA cannot take a parameter; v+1 is our own integer.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, v+1)); err != nil {
		return err
	}
	return tx.Commit()
}
