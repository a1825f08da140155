package history

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tidings-app/tidings/conn"
)

func TestLastIDIsTheMessageStoredLastForThatServer(t *testing.T) {
	s := openStore(t, testConfig(t))
	ctx := context.Background()
	if id, err := s.LastID(ctx, "s1"); err != nil || id != "" {
		t.Fatalf("empty store: %q, %v", id, err)
	}
	// ntfy-style ids: random, so "last" must mean stored last, not largest.
	for _, id := range []string{"zz", "aa", "mm"} {
		if _, err := s.Insert(ctx, msg(id, 1)); err != nil {
			t.Fatal(err)
		}
	}
	other := msg("other", 2)
	other.Server = "s2"
	if _, err := s.Insert(ctx, other); err != nil {
		t.Fatal(err)
	}
	if id, err := s.LastID(ctx, "s1"); err != nil || id != "mm" {
		t.Fatalf("LastID(s1) = %q, %v; want mm", id, err)
	}
	if id, err := s.LastID(ctx, "s2"); err != nil || id != "other" {
		t.Fatalf("LastID(s2) = %q, %v; want other", id, err)
	}
	// A repeat does not move it.
	if _, err := s.Insert(ctx, msg("zz", 3)); err != nil {
		t.Fatal(err)
	}
	if id, _ := s.LastID(ctx, "s1"); id != "mm" {
		t.Fatalf("after a repeat: %q", id)
	}
}

func TestSourcesListsEachSourceOnceSorted(t *testing.T) {
	s := openStore(t, testConfig(t))
	ctx := context.Background()
	for i, src := range []string{"ci", "backup", "ci", "", "alerts"} {
		m := msg(string(rune('a'+i)), i)
		m.Source = src
		if _, err := s.Insert(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Sources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"alerts", "backup", "ci"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestRecentIDsAreTheLastStoredOldestFirst(t *testing.T) {
	s := openStore(t, testConfig(t))
	ctx := context.Background()
	for i, id := range []string{"q", "b", "x", "a"} {
		if _, err := s.Insert(ctx, msg(id, i)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.RecentIDs(ctx, "s1", 3)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"b", "x", "a"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if got, _ := s.RecentIDs(ctx, "nobody", 3); len(got) != 0 {
		t.Fatalf("unknown server: %v", got)
	}
}

// Issue 19.3/19.4: the resume point lives apart from the rows. It moves
// only with a stored message, survives "Clear all", retention and deletes,
// and a position recorded before any message never overrides one.
func TestTheResumePointMovesOnlyWithStoredMessagesAndSurvivesClearingTheHistory(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, testConfig(t))
	point := func(want string) {
		t.Helper()
		if got, err := s.LastID(ctx, "s1"); err != nil || got != want {
			t.Fatalf("resume point = %q, %v; want %q", got, err, want)
		}
	}
	point("")
	if err := s.SetResumePoint(ctx, "s1", "1733472000"); err != nil {
		t.Fatal(err)
	}
	point("1733472000")
	if err := s.SetResumePoint(ctx, "s1", "1733479999"); err != nil {
		t.Fatal(err)
	}
	point("1733472000") // never moved by a later start
	if _, err := s.InsertBatch(ctx, []conn.Message{msg("a1", 1), msg("a2", 2)}); err != nil {
		t.Fatal(err)
	}
	point("a2")
	if ok, err := s.Insert(ctx, msg("a1", 3)); ok || err != nil { // a repeat: not stored, no move
		t.Fatalf("repeat insert = %v, %v", ok, err)
	}
	point("a2")
	if err := s.SetResumePoint(ctx, "s1", "1733479999"); err != nil {
		t.Fatal(err)
	}
	point("a2")
	if _, err := s.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Count(ctx); n != 0 {
		t.Fatalf("%d rows after Clear", n)
	}
	point("a2") // "Clear all" must not send the next start back to since=0
	if got, _ := s.LastID(ctx, "s2"); got != "" {
		t.Fatalf("another account's resume point = %q, want none", got)
	}
	if err := s.SetResumePoint(ctx, "", "x"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("empty server: %v, want ErrInvalid", err)
	}
}

// Rebase keeps a server's rows (text, read marks) under ids that cannot
// collide with the ids it gives from now on, moves its resume point, and
// leaves other servers alone.
func TestRebaseKeepsTheRowsUnderFreshIDsAndMovesOnlyThatResumePoint(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, testConfig(t))
	for _, m := range []conn.Message{
		{Server: "a", ID: "1", Title: "a1", Sent: time.UnixMicro(1000)},
		{Server: "a", ID: "2", Title: "a2", Sent: time.UnixMicro(2000)},
		{Server: "b", ID: "1", Title: "b1", Sent: time.UnixMicro(9000)},
	} {
		if _, err := s.InsertBatch(ctx, []conn.Message{m}); err != nil {
			t.Fatal(err)
		}
	}
	if sent, err := s.LastSent(ctx, "a"); err != nil || !sent.Equal(time.UnixMicro(2000)) {
		t.Fatalf("last sent %v %v, want 2000 µs", sent, err)
	}
	if err := s.Rebase(ctx, "a", "0", time.Unix(1700000000, 0)); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.LastID(ctx, "a"); p != "0" {
		t.Fatalf("resume point %q, want 0", p)
	}
	if p, _ := s.LastID(ctx, "b"); p != "1" {
		t.Fatalf("b's resume point %q moved", p)
	}
	// The new server's id 1 is new now, b's id 1 is still a repeat.
	stored, err := s.InsertBatch(ctx, []conn.Message{{Server: "a", ID: "1", Title: "new a1"}, {Server: "b", ID: "1", Title: "b1 again"}})
	if err != nil {
		t.Fatal(err)
	}
	if !stored[0] || stored[1] {
		t.Fatalf("stored %v, want only a's new id 1", stored)
	}
	ids, err := s.RecentIDs(ctx, "a", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 3 || ids[0] != "before-1700000000:1" || ids[1] != "before-1700000000:2" || ids[2] != "1" {
		t.Fatalf("a's ids %q", ids)
	}
}
