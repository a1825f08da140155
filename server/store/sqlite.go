package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // pure-Go SQLite driver, registers "sqlite"
)

// DBFile is the name of the database inside the data directory.
const DBFile = "tidings.db"

// SQLite is the embedded Store: one SQLite file in WAL mode with
// synchronous=FULL, so a message acknowledged to a publisher survives a crash.
type SQLite struct {
	db *sql.DB
}

var (
	_ Store         = (*SQLite)(nil)
	_ BatchAppender = (*SQLite)(nil)
)

// OpenSQLite opens (creating if needed) the database in dir and brings its
// schema up to date.
func OpenSQLite(ctx context.Context, dir string) (*SQLite, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: create data dir: %w", err)
	}
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)", "foreign_keys(1)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	dsn := "file:" + filepath.ToSlash(filepath.Join(dir, DBFile)) + "?" + q.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	db.SetMaxOpenConns(4)
	s := &SQLite{db: db}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the database.
func (s *SQLite) Close() error { return s.db.Close() }

func (s *SQLite) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// AddUser creates a user, and any group in groups that does not exist yet.
func (s *SQLite) AddUser(ctx context.Context, name string, hash []byte, groups []string) error {
	if !ValidName(name) {
		return ErrBadName
	}
	for _, g := range groups {
		if !ValidName(g) {
			return ErrBadName
		}
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO users(name, password, created) VALUES(?, ?, ?) ON CONFLICT(name) DO NOTHING`,
			name, hash, time.Now().UnixNano())
		if err != nil {
			return fmt.Errorf("store: add user: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrExists
		}
		uid, err := res.LastInsertId()
		if err != nil {
			return fmt.Errorf("store: add user: %w", err)
		}
		for _, g := range groups {
			if _, err := tx.ExecContext(ctx, `INSERT INTO groups_(name) VALUES(?) ON CONFLICT(name) DO NOTHING`, g); err != nil {
				return fmt.Errorf("store: add group: %w", err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO members(group_id, user_id) SELECT id, ? FROM groups_ WHERE name = ?`, uid, g); err != nil {
				return fmt.Errorf("store: add member: %w", err)
			}
		}
		return nil
	})
}

// DeleteUser removes a user with its tokens, memberships and messages.
func (s *SQLite) DeleteUser(ctx context.Context, name string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM users WHERE name = ?`, name)
		if err != nil {
			return fmt.Errorf("store: delete user: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM messages WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = messages.id)`)
		if err != nil {
			return fmt.Errorf("store: delete user messages: %w", err)
		}
		return nil
	})
}

// SetPassword replaces a user's password hash.
func (s *SQLite) SetPassword(ctx context.Context, name string, hash []byte) error {
	res, err := s.db.ExecContext(ctx, `UPDATE users SET password = ? WHERE name = ?`, hash, name)
	if err != nil {
		return fmt.Errorf("store: set password: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// User returns one user with its groups.
func (s *SQLite) User(ctx context.Context, name string) (User, error) {
	u := User{Name: name}
	var id int64
	err := s.db.QueryRowContext(ctx, `SELECT id, password, last_id FROM users WHERE name = ?`, name).Scan(&id, &u.PasswordHash, &u.LastID)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, fmt.Errorf("store: user: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT g.name FROM members m JOIN groups_ g ON g.id = m.group_id WHERE m.user_id = ? ORDER BY g.name`, id)
	if err != nil {
		return User{}, fmt.Errorf("store: user groups: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			return User{}, fmt.Errorf("store: user groups: %w", err)
		}
		u.Groups = append(u.Groups, g)
	}
	return u, rows.Err()
}

// Users lists every user (without groups), by name.
func (s *SQLite) Users(ctx context.Context) ([]User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, last_id FROM users ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("store: users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		var u User
		if err := rows.Scan(&u.Name, &u.LastID); err != nil {
			return nil, fmt.Errorf("store: users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// AddToken stores a token hash. Session tokens name an existing user.
func (s *SQLite) AddToken(ctx context.Context, t Token) error {
	if t.Created.IsZero() {
		t.Created = time.Now()
	}
	var uid sql.NullInt64
	if t.Kind == KindSession {
		if err := s.db.QueryRowContext(ctx, `SELECT id FROM users WHERE name = ?`, t.User).Scan(&uid); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			}
			return fmt.Errorf("store: add token: %w", err)
		}
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO tokens(hash, kind, user_id, name, created) VALUES(?, ?, ?, ?, ?)`,
		t.Hash[:], string(t.Kind), uid, t.Name, t.Created.UnixNano())
	if err != nil {
		if strings.Contains(err.Error(), "UNIQUE") {
			return ErrExists
		}
		return fmt.Errorf("store: add token: %w", err)
	}
	return nil
}

// Token looks a token up by hash.
func (s *SQLite) Token(ctx context.Context, h TokenHash) (Token, error) {
	t := Token{Hash: h}
	var kind string
	var user sql.NullString
	var created int64
	err := s.db.QueryRowContext(ctx, `SELECT t.kind, u.name, t.name, t.created FROM tokens t LEFT JOIN users u ON u.id = t.user_id WHERE t.hash = ?`, h[:]).
		Scan(&kind, &user, &t.Name, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, ErrNotFound
	}
	if err != nil {
		return Token{}, fmt.Errorf("store: token: %w", err)
	}
	t.Kind, t.User, t.Created = TokenKind(kind), user.String, time.Unix(0, created)
	return t, nil
}

// DeleteToken revokes a token.
func (s *SQLite) DeleteToken(ctx context.Context, h TokenHash) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM tokens WHERE hash = ?`, h[:])
	if err != nil {
		return fmt.Errorf("store: delete token: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}
