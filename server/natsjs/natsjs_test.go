package natsjs_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tidings-app/tidings/proto"
	"github.com/tidings-app/tidings/server/store"
)

func TestStoreOnJetStreamKeepsAccountsTokensAndPerUserIDs(t *testing.T) {
	n := startNATS(t)
	b := openBackend(t, backendConfig(n.URL()), nil)
	ctx := context.Background()
	for _, u := range []struct {
		name   string
		groups []string
	}{{"alice", []string{"ops"}}, {"bob.smith@example.com", []string{"ops", "dev"}}, {"carol", nil}} {
		if err := b.AddUser(ctx, u.name, []byte("hash-"+u.name), u.groups); err != nil {
			t.Fatalf("add %s: %v", u.name, err)
		}
	}
	if err := b.AddUser(ctx, "alice", []byte("x"), nil); !errors.Is(err, store.ErrExists) {
		t.Fatalf("duplicate user: %v", err)
	}
	if err := b.AddUser(ctx, "bad name", []byte("x"), nil); !errors.Is(err, store.ErrBadName) {
		t.Fatalf("bad name: %v", err)
	}
	u, err := b.User(ctx, "bob.smith@example.com")
	if err != nil || string(u.PasswordHash) != "hash-bob.smith@example.com" || fmt.Sprint(u.Groups) != "[dev ops]" {
		t.Fatalf("user: %+v %v", u, err)
	}
	if err := b.SetPassword(ctx, "alice", []byte("new")); err != nil {
		t.Fatal(err)
	}
	if u, _ := b.User(ctx, "alice"); string(u.PasswordHash) != "new" {
		t.Fatalf("password not changed: %q", u.PasswordHash)
	}

	tok := store.Token{Hash: store.TokenHash{1, 2, 3}, Kind: store.KindSession, User: "bob.smith@example.com"}
	if err := b.AddToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Token(ctx, tok.Hash); err != nil || got.User != tok.User || got.Kind != store.KindSession {
		t.Fatalf("token: %+v %v", got, err)
	}
	if _, err := b.Token(ctx, store.TokenHash{9}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown token: %v", err)
	}

	send := func(to store.Recipients, body string) []store.Delivery {
		t.Helper()
		ds, err := b.Append(ctx, to, proto.Message{Message: body, Priority: 3})
		if err != nil {
			t.Fatalf("append %s: %v", body, err)
		}
		return ds
	}
	send(store.Recipients{User: "alice"}, "a1")
	if ds := send(store.Recipients{Group: "ops"}, "ops1"); len(ds) != 2 {
		t.Fatalf("group ops: %d deliveries", len(ds))
	}
	if ds := send(store.Recipients{All: true}, "all1"); len(ds) != 3 {
		t.Fatalf("all: %d deliveries", len(ds))
	}
	send(store.Recipients{User: "carol"}, "c1")
	for _, to := range []store.Recipients{{User: "nobody"}, {Group: "nogroup"}} {
		if _, err := b.Append(ctx, to, proto.Message{Message: "x"}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("append to %+v: %v", to, err)
		}
	}

	bodies := func(user string, after uint64, limit int) ([]string, []uint64) {
		t.Helper()
		ms, err := b.Since(ctx, user, after, limit)
		if err != nil {
			t.Fatal(err)
		}
		var bs []string
		var ids []uint64
		for _, m := range ms {
			bs = append(bs, m.Message)
			ids = append(ids, m.ID)
		}
		return bs, ids
	}
	got, ids := bodies("alice", 0, 100)
	if fmt.Sprint(got) != "[a1 ops1 all1]" || !(ids[0] < ids[1] && ids[1] < ids[2]) {
		t.Fatalf("alice: %v %v", got, ids)
	}
	if got, _ := bodies("alice", ids[0], 1); fmt.Sprint(got) != "[ops1]" {
		t.Fatalf("alice after %d limit 1: %v", ids[0], got)
	}
	if got, _ := bodies("alice", ids[2], 100); len(got) != 0 {
		t.Fatalf("alice up to date: %v", got)
	}
	if got, _ := bodies("bob.smith@example.com", 0, 100); fmt.Sprint(got) != "[ops1 all1]" {
		t.Fatalf("bob: %v", got)
	}
	if u, _ := b.User(ctx, "alice"); u.LastID != ids[2] {
		t.Fatalf("alice LastID %d, want %d", u.LastID, ids[2])
	}

	if err := b.DeleteUser(ctx, "bob.smith@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Token(ctx, tok.Hash); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("token of deleted user: %v", err)
	}
	if got, _ := bodies("bob.smith@example.com", 0, 100); len(got) != 0 {
		t.Fatalf("messages of deleted user: %v", got)
	}
	if ds := send(store.Recipients{Group: "dev"}, "dev"); len(ds) != 0 {
		t.Fatalf("group of deleted user still delivers: %+v", ds)
	}
}

func TestRetentionCapsMessagesPerUser(t *testing.T) {
	n := startNATS(t)
	cfg := backendConfig(n.URL())
	cfg.Retention = store.Retention{MaxAge: time.Hour, MaxCount: 3}
	b := openBackend(t, cfg, nil)
	ctx := context.Background()
	b.AddUser(ctx, "alice", []byte("h"), nil)
	b.AddUser(ctx, "bob", []byte("h"), nil)
	for i := range 5 {
		if _, err := b.Append(ctx, store.Recipients{All: true}, proto.Message{Message: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []string{"alice", "bob"} {
		ms, err := b.Since(ctx, u, 0, 100)
		if err != nil || len(ms) != 3 || ms[0].Message != "2" || ms[2].Message != "4" {
			t.Fatalf("%s keeps %v (%v), want the last 3", u, ms, err)
		}
	}
}
