package natsjs

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tidings-app/tidings/server/store"
)

// Bucket layout (keys are encodeName'd names):
//
//	<prefix>_users   <user>                  → userRecord (JSON)
//	<prefix>_tokens  h.<hex sha256>          → tokenRecord (JSON)
//	                 u.<user>.<hex sha256>   → "" (index: a user's session tokens)
//	<prefix>_groups  <group>                 → "" (the group exists, as in SQLite
//	                                            it outlives its last member)
//	                 <group>.<user>          → "" (membership)
//
// KV has no multi-key transactions: a user's record is written first and
// removed last, so a half-done AddUser or DeleteUser leaves at worst an
// index or membership key that points at nothing, which readers ignore.

type userRecord struct {
	Name         string   `json:"name"`
	PasswordHash []byte   `json:"password_hash"`
	Groups       []string `json:"groups,omitempty"`
}

type tokenRecord struct {
	Kind    store.TokenKind `json:"kind"`
	User    string          `json:"user,omitempty"`
	Name    string          `json:"name,omitempty"`
	Created time.Time       `json:"created"`
}

func tokenKey(h store.TokenHash) string { return "h." + hex.EncodeToString(h[:]) }
func tokenIndexKey(user string, h store.TokenHash) string {
	return "u." + encodeName(user) + "." + hex.EncodeToString(h[:])
}
func memberKey(group, user string) string { return encodeName(group) + "." + encodeName(user) }

func notFound(err error) bool {
	return errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted)
}

func wrap(op string, err error) error { return fmt.Errorf("natsjs: %s: %w", op, err) }

// AddUser implements store.Store.
func (b *Backend) AddUser(ctx context.Context, name string, hash []byte, groups []string) error {
	if !store.ValidName(name) {
		return store.ErrBadName
	}
	groups = slices.Clone(groups)
	slices.Sort(groups)
	groups = slices.Compact(groups)
	for _, g := range groups {
		if !store.ValidName(g) {
			return store.ErrBadName
		}
	}
	rec, err := json.Marshal(userRecord{Name: name, PasswordHash: hash, Groups: groups})
	if err != nil {
		return wrap("add user", err)
	}
	if _, err := b.users.Create(ctx, encodeName(name), rec); err != nil {
		if errors.Is(err, jetstream.ErrKeyExists) {
			return store.ErrExists
		}
		return wrap("add user", err)
	}
	for _, g := range groups {
		if _, err := b.groups.Put(ctx, encodeName(g), nil); err != nil {
			return wrap("add group", err)
		}
		if _, err := b.groups.Put(ctx, memberKey(g, name), nil); err != nil {
			return wrap("add user to group", err)
		}
	}
	return nil
}

// DeleteUser implements store.Store: the user's memberships, session tokens
// and messages (its subject is purged) go with it.
func (b *Backend) DeleteUser(ctx context.Context, name string) error {
	u, err := b.userRecord(ctx, name)
	if err != nil {
		return err
	}
	for _, g := range u.Groups {
		if err := b.groups.Delete(ctx, memberKey(g, name)); err != nil && !notFound(err) {
			return wrap("delete user", err)
		}
	}
	keys, err := b.keys(ctx, b.tokens, "u."+encodeName(name)+".>")
	if err != nil {
		return wrap("delete user", err)
	}
	for _, k := range keys {
		if err := b.tokens.Delete(ctx, "h."+k[strings.LastIndexByte(k, '.')+1:]); err != nil && !notFound(err) {
			return wrap("delete user token", err)
		}
		if err := b.tokens.Delete(ctx, k); err != nil && !notFound(err) {
			return wrap("delete user token", err)
		}
	}
	if err := b.stream.Purge(ctx, jetstream.WithPurgeSubject(b.userSubject(name))); err != nil {
		return wrap("delete user messages", err)
	}
	if err := b.users.Delete(ctx, encodeName(name)); err != nil && !notFound(err) {
		return wrap("delete user", err)
	}
	return nil
}

// SetPassword implements store.Store (compare-and-set on the record).
func (b *Backend) SetPassword(ctx context.Context, name string, hash []byte) error {
	for range 5 {
		e, err := b.users.Get(ctx, encodeName(name))
		if notFound(err) {
			return store.ErrNotFound
		}
		if err != nil {
			return wrap("set password", err)
		}
		var u userRecord
		if err := json.Unmarshal(e.Value(), &u); err != nil {
			return fmt.Errorf("%w: user %s", ErrCorrupt, name)
		}
		u.PasswordHash = hash
		rec, err := json.Marshal(u)
		if err != nil {
			return wrap("set password", err)
		}
		if _, err = b.users.Update(ctx, e.Key(), rec, e.Revision()); err == nil {
			return nil
		}
		if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return wrap("set password", err)
		}
	}
	return wrap("set password", errors.New("too many concurrent updates"))
}

func (b *Backend) userRecord(ctx context.Context, name string) (userRecord, error) {
	if !store.ValidName(name) {
		return userRecord{}, store.ErrNotFound
	}
	e, err := b.users.Get(ctx, encodeName(name))
	if notFound(err) {
		return userRecord{}, store.ErrNotFound
	}
	if err != nil {
		return userRecord{}, wrap("get user", err)
	}
	var u userRecord
	if err := json.Unmarshal(e.Value(), &u); err != nil {
		return userRecord{}, fmt.Errorf("%w: user %s", ErrCorrupt, name)
	}
	return u, nil
}

// User implements store.Store. LastID is the stream sequence of the user's
// newest message.
func (b *Backend) User(ctx context.Context, name string) (store.User, error) {
	u, err := b.userRecord(ctx, name)
	if err != nil {
		return store.User{}, err
	}
	last, err := b.lastID(ctx, name)
	if err != nil {
		return store.User{}, err
	}
	return store.User{Name: u.Name, PasswordHash: u.PasswordHash, Groups: u.Groups, LastID: last}, nil
}

// Users implements store.Store, sorted by name.
func (b *Backend) Users(ctx context.Context) ([]store.User, error) {
	keys, err := b.keys(ctx, b.users, ">")
	if err != nil {
		return nil, wrap("list users", err)
	}
	var out []store.User
	for _, k := range keys {
		name, ok := decodeName(k)
		if !ok {
			continue
		}
		u, err := b.User(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	slices.SortFunc(out, func(a, b store.User) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// keys lists the live keys of kv matching filter (">" for all).
func (b *Backend) keys(ctx context.Context, kv jetstream.KeyValue, filter string) ([]string, error) {
	l, err := kv.ListKeysFiltered(ctx, filter)
	if err != nil {
		if errors.Is(err, jetstream.ErrNoKeysFound) {
			return nil, nil
		}
		return nil, err
	}
	defer l.Stop()
	var out []string
	for k := range l.Keys() {
		out = append(out, k)
	}
	return out, nil
}

// members returns the users of group, ErrNotFound for an unknown group.
func (b *Backend) members(ctx context.Context, group string) ([]string, error) {
	if !store.ValidName(group) {
		return nil, store.ErrNotFound
	}
	keys, err := b.keys(ctx, b.groups, encodeName(group)+".*")
	if err != nil {
		return nil, wrap("list group", err)
	}
	var out []string
	for _, k := range keys {
		if name, ok := decodeName(k[strings.IndexByte(k, '.')+1:]); ok {
			out = append(out, name)
		}
	}
	if len(out) == 0 {
		if _, err := b.groups.Get(ctx, encodeName(group)); err != nil {
			if notFound(err) {
				return nil, store.ErrNotFound
			}
			return nil, wrap("get group", err)
		}
	}
	slices.Sort(out)
	return out, nil
}

// AddToken implements store.Store.
func (b *Backend) AddToken(ctx context.Context, t store.Token) error {
	if t.Created.IsZero() {
		t.Created = time.Now().UTC()
	}
	if t.Kind == store.KindSession {
		if _, err := b.userRecord(ctx, t.User); err != nil {
			return err
		}
	}
	rec, err := json.Marshal(tokenRecord{Kind: t.Kind, User: t.User, Name: t.Name, Created: t.Created})
	if err != nil {
		return wrap("add token", err)
	}
	if t.User != "" {
		if _, err := b.tokens.Put(ctx, tokenIndexKey(t.User, t.Hash), nil); err != nil {
			return wrap("add token", err)
		}
	}
	if _, err := b.tokens.Create(ctx, tokenKey(t.Hash), rec); err != nil {
		if errors.Is(err, jetstream.ErrKeyExists) {
			return store.ErrExists
		}
		return wrap("add token", err)
	}
	return nil
}

// Token implements store.Store.
func (b *Backend) Token(ctx context.Context, h store.TokenHash) (store.Token, error) {
	e, err := b.tokens.Get(ctx, tokenKey(h))
	if notFound(err) {
		return store.Token{}, store.ErrNotFound
	}
	if err != nil {
		return store.Token{}, wrap("get token", err)
	}
	var r tokenRecord
	if err := json.Unmarshal(e.Value(), &r); err != nil {
		return store.Token{}, fmt.Errorf("%w: token", ErrCorrupt)
	}
	return store.Token{Hash: h, Kind: r.Kind, User: r.User, Name: r.Name, Created: r.Created}, nil
}

// DeleteToken implements store.Store.
func (b *Backend) DeleteToken(ctx context.Context, h store.TokenHash) error {
	t, err := b.Token(ctx, h)
	if err != nil {
		return err
	}
	if err := b.tokens.Delete(ctx, tokenKey(h)); err != nil && !notFound(err) {
		return wrap("delete token", err)
	}
	if t.User != "" {
		if err := b.tokens.Delete(ctx, tokenIndexKey(t.User, h)); err != nil && !notFound(err) {
			return wrap("delete token", err)
		}
	}
	return nil
}
