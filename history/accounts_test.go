package history

import (
	"context"
	"slices"
	"testing"
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
