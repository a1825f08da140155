// Package store is the persistence of tidings-server: users, groups, hashed
// tokens and the per-user message log. Store is the interface the server uses;
// OpenSQLite is the embedded implementation. A distributed backend implements
// the same interface.
//
// The store never hashes anything itself: callers hand it password hashes
// (bcrypt) and token hashes (sha256), so no secret ever reaches it.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/tidings-app/tidings/proto"
)

// Errors. Callers match them with errors.Is.
var (
	ErrNotFound     = errors.New("store: not found")
	ErrExists       = errors.New("store: already exists")
	ErrNoRecipients = errors.New("store: no recipients")
	ErrBadName      = errors.New("store: invalid name")
	ErrClosed       = errors.New("store: closed")
)

// TokenKind says what a token may do.
type TokenKind string

const (
	KindSession   TokenKind = "session"   // a logged-in user's token: opens /ws
	KindPublisher TokenKind = "publisher" // may POST /api/publish
)

// TokenHash is the sha256 of a token. Only hashes are stored.
type TokenHash [32]byte

// User is one account.
type User struct {
	Name         string
	PasswordHash []byte // bcrypt
	Groups       []string
	LastID       uint64 // id of the newest message stored for the user
}

// Token is one stored token (by hash).
type Token struct {
	Hash    TokenHash
	Kind    TokenKind
	User    string // session tokens: the user it logs in
	Name    string // publisher tokens: the publisher's name
	Created time.Time
}

// Recipients selects who a message is for: exactly one of the fields is set.
type Recipients struct {
	User  string
	Group string
	All   bool
}

// Delivery is one stored message for one user, with that user's id.
type Delivery struct {
	User string
	Msg  proto.Message
}

// Retention bounds the message log. Zero fields mean "no bound".
type Retention struct {
	MaxAge   time.Duration // drop messages older than this
	MaxCount int           // keep at most this many per user
}

// Store is what the server needs from persistence. All methods are safe for
// concurrent use.
type Store interface {
	AddUser(ctx context.Context, name string, passwordHash []byte, groups []string) error
	DeleteUser(ctx context.Context, name string) error // also deletes its tokens and messages
	SetPassword(ctx context.Context, name string, passwordHash []byte) error
	User(ctx context.Context, name string) (User, error)
	Users(ctx context.Context) ([]User, error)

	AddToken(ctx context.Context, t Token) error
	Token(ctx context.Context, h TokenHash) (Token, error)
	DeleteToken(ctx context.Context, h TokenHash) error

	// Append stores m once for every recipient, giving each its next id,
	// and returns one Delivery per recipient in a single transaction.
	// m.ID is ignored; m.Time is set by the store if zero.
	Append(ctx context.Context, to Recipients, m proto.Message) ([]Delivery, error)
	// Since returns up to limit messages of user with id > after, oldest first.
	Since(ctx context.Context, user string, after uint64, limit int) ([]proto.Message, error)
	// Prune applies r at time now and returns how many deliveries it removed.
	Prune(ctx context.Context, now time.Time, r Retention) (int64, error)

	Close() error
}

// AppendItem is one message to append, for BatchAppender.
type AppendItem struct {
	To  Recipients
	Msg proto.Message
}

// Appended is the outcome of one AppendItem: what Append would have
// returned for it alone.
type Appended struct {
	Deliveries []Delivery
	Err        error
}

// BatchAppender is a Store that can append many messages at once, each
// with its own outcome, in one durable write (SQLite: one transaction, one
// disk sync). The server gathers concurrent publishes into such batches
// when its store offers it.
type BatchAppender interface {
	AppendBatch(ctx context.Context, items []AppendItem) ([]Appended, error)
}

// ValidName reports whether s is a usable user or group name: 1–64 bytes of
// letters, digits, '.', '_', '-' and '@'.
func ValidName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.', c == '_', c == '-', c == '@':
		default:
			return false
		}
	}
	return true
}
