package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tidings-app/tidings/proto"
)

func openTest(t *testing.T, dir string) *SQLite {
	t.Helper()
	s, err := OpenSQLite(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func addUsers(t *testing.T, s Store, groups map[string][]string, names ...string) {
	t.Helper()
	for _, n := range names {
		if err := s.AddUser(context.Background(), n, []byte("hash-"+n), groups[n]); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAppendGivesEachUserItsOwnMonotonicIDs(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir())
	addUsers(t, s, map[string][]string{"alice": {"ops"}, "bob": {"ops"}}, "alice", "bob", "carol")

	steps := []struct {
		to   Recipients
		want map[string]uint64
	}{
		{Recipients{User: "alice"}, map[string]uint64{"alice": 1}},
		{Recipients{Group: "ops"}, map[string]uint64{"alice": 2, "bob": 1}},
		{Recipients{All: true}, map[string]uint64{"alice": 3, "bob": 2, "carol": 1}},
		{Recipients{User: "carol"}, map[string]uint64{"carol": 2}},
	}
	for i, st := range steps {
		ds, err := s.Append(ctx, st.to, proto.Message{Message: "m", Priority: 3})
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		got := map[string]uint64{}
		for _, d := range ds {
			got[d.User] = d.Msg.ID
		}
		if len(got) != len(st.want) {
			t.Fatalf("step %d: got %v want %v", i, got, st.want)
		}
		for u, id := range st.want {
			if got[u] != id {
				t.Fatalf("step %d: got %v want %v", i, got, st.want)
			}
		}
	}
	msgs, err := s.Since(ctx, "alice", 1, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[0].ID != 2 || msgs[1].ID != 3 {
		t.Fatalf("since 1: %+v", msgs)
	}
}

func TestAppendRejectsUnknownRecipients(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir())
	addUsers(t, s, nil, "alice")
	tests := []struct {
		name string
		to   Recipients
		want error
	}{
		{"unknown user", Recipients{User: "mallory"}, ErrNotFound},
		{"unknown group", Recipients{Group: "nobody"}, ErrNotFound},
		{"no selector", Recipients{}, ErrNoRecipients},
		{"two selectors", Recipients{User: "alice", All: true}, ErrNoRecipients},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.Append(ctx, tt.to, proto.Message{Message: "x"}); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if msgs, _ := s.Since(ctx, "alice", 0, 10); len(msgs) != 0 {
		t.Fatalf("failed appends stored %d messages", len(msgs))
	}
}

func TestMessagesSurviveReopening(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := OpenSQLite(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	addUsers(t, s, nil, "alice")
	when := time.Date(2026, 11, 25, 18, 0, 0, 123456789, time.UTC)
	in := proto.Message{Time: when, Title: "T", Message: "B", Priority: 5, URL: "https://x.test", Topic: "ci", ContentType: proto.ContentMarkdown}
	if _, err := s.Append(ctx, Recipients{User: "alice"}, in); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2 := openTest(t, dir)
	msgs, err := s2.Since(ctx, "alice", 0, 10)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("msgs %v err %v", msgs, err)
	}
	in.ID = 1
	if msgs[0] != in {
		t.Fatalf("got %+v want %+v", msgs[0], in)
	}
}

func TestPruneKeepsTheNewestByCountAndAge(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir())
	addUsers(t, s, nil, "alice", "bob")
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 10 {
		if _, err := s.Append(ctx, Recipients{User: "alice"}, proto.Message{Time: base.Add(time.Duration(i) * time.Hour), Message: "a"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Append(ctx, Recipients{User: "bob"}, proto.Message{Time: base.Add(9 * time.Hour), Message: "b"}); err != nil {
		t.Fatal(err)
	}
	n, err := s.Prune(ctx, base.Add(10*time.Hour), Retention{MaxCount: 4})
	if err != nil || n != 6 {
		t.Fatalf("count prune removed %d, err %v", n, err)
	}
	msgs, _ := s.Since(ctx, "alice", 0, 100)
	if len(msgs) != 4 || msgs[0].ID != 7 {
		t.Fatalf("after count prune: %+v", msgs)
	}
	// Now 7..10 at hours 6..9; an age of 2.5 h at hour 10 keeps hours 8 and 9.
	n, err = s.Prune(ctx, base.Add(10*time.Hour), Retention{MaxAge: 150 * time.Minute})
	if err != nil || n != 2 {
		t.Fatalf("age prune removed %d, err %v", n, err)
	}
	msgs, _ = s.Since(ctx, "alice", 0, 100)
	if len(msgs) != 2 || msgs[0].ID != 9 {
		t.Fatalf("after age prune: %+v", msgs)
	}
	if msgs, _ := s.Since(ctx, "bob", 0, 100); len(msgs) != 1 {
		t.Fatalf("bob lost messages: %+v", msgs)
	}
	var bodies int
	s.db.QueryRow(`SELECT count(*) FROM messages`).Scan(&bodies)
	if bodies != 3 {
		t.Fatalf("%d bodies left, want 3", bodies)
	}
	// New ids continue after pruning.
	ds, _ := s.Append(ctx, Recipients{User: "alice"}, proto.Message{Message: "c"})
	if ds[0].Msg.ID != 11 {
		t.Fatalf("id after prune %d", ds[0].Msg.ID)
	}
}

func TestTokensAndUsersLifecycle(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir())
	addUsers(t, s, map[string][]string{"alice": {"ops", "dev"}}, "alice")
	if err := s.AddUser(ctx, "alice", []byte("x"), nil); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate user: %v", err)
	}
	if err := s.AddUser(ctx, "bad name", []byte("x"), nil); !errors.Is(err, ErrBadName) {
		t.Fatalf("bad name: %v", err)
	}
	u, err := s.User(ctx, "alice")
	if err != nil || len(u.Groups) != 2 || u.Groups[0] != "dev" {
		t.Fatalf("user %+v err %v", u, err)
	}
	h := TokenHash{1, 2, 3}
	if err := s.AddToken(ctx, Token{Hash: h, Kind: KindSession, User: "alice"}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddToken(ctx, Token{Hash: TokenHash{9}, Kind: KindSession, User: "nobody"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("token for unknown user: %v", err)
	}
	tok, err := s.Token(ctx, h)
	if err != nil || tok.User != "alice" || tok.Kind != KindSession {
		t.Fatalf("token %+v err %v", tok, err)
	}
	if err := s.SetPassword(ctx, "alice", []byte("new")); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Token(ctx, h); !errors.Is(err, ErrNotFound) {
		t.Fatalf("token survived its user: %v", err)
	}
	if err := s.DeleteUser(ctx, "alice"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

func TestNewerSchemaIsRefused(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	if _, err := s.db.Exec(`PRAGMA user_version = 99`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := OpenSQLite(context.Background(), dir); !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("err = %v", err)
	}
}

func TestAppendBatchStoresEachItemAndRollsBackOnlyTheOneThatFails(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTest(t, dir)
	addUsers(t, s, map[string][]string{"alice": {"ops"}, "bob": {"ops"}}, "alice", "bob")
	items := []AppendItem{
		{To: Recipients{User: "alice"}, Msg: proto.Message{Title: "a1"}},
		{To: Recipients{User: "nobody"}, Msg: proto.Message{Title: "lost"}},
		{To: Recipients{Group: "ops"}, Msg: proto.Message{Title: "ops"}},
		{To: Recipients{Group: "nogroup"}, Msg: proto.Message{Title: "lost too"}},
		{To: Recipients{}, Msg: proto.Message{Title: "no recipients"}},
		{To: Recipients{User: "alice"}, Msg: proto.Message{Title: "a3"}},
	}
	got, err := s.AppendBatch(ctx, items)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(items) {
		t.Fatalf("%d outcomes for %d items", len(got), len(items))
	}
	wantErr := []error{nil, ErrNotFound, nil, ErrNotFound, ErrNoRecipients, nil}
	wantIDs := []map[string]uint64{{"alice": 1}, nil, {"alice": 2, "bob": 1}, nil, nil, {"alice": 3}}
	for i, g := range got {
		if !errors.Is(g.Err, wantErr[i]) || (wantErr[i] == nil) != (g.Err == nil) {
			t.Errorf("item %d: err %v, want %v", i, g.Err, wantErr[i])
		}
		ids := map[string]uint64{}
		for _, d := range g.Deliveries {
			ids[d.User] = d.Msg.ID
			if d.Msg.Title != items[i].Msg.Title || d.Msg.Time.IsZero() {
				t.Errorf("item %d: delivery %+v", i, d.Msg)
			}
		}
		if len(ids) != len(wantIDs[i]) {
			t.Errorf("item %d: ids %v, want %v", i, ids, wantIDs[i])
		}
		for u, id := range wantIDs[i] {
			if ids[u] != id {
				t.Errorf("item %d: ids %v, want %v", i, ids, wantIDs[i])
			}
		}
	}
	// What was stored is on disk, contiguous per user; nothing of the
	// failed items is.
	s.Close()
	s = openTest(t, dir)
	for user, titles := range map[string][]string{"alice": {"a1", "ops", "a3"}, "bob": {"ops"}} {
		ms, err := s.Since(ctx, user, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != len(titles) {
			t.Fatalf("%s has %d messages after reopening, want %v", user, len(ms), titles)
		}
		for i, m := range ms {
			if m.ID != uint64(i+1) || m.Title != titles[i] {
				t.Errorf("%s message %d: id %d %q, want id %d %q", user, i, m.ID, m.Title, i+1, titles[i])
			}
		}
	}
}
