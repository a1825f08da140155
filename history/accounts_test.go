package history

import (
	"context"
	"errors"
	"slices"
	"testing"

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
