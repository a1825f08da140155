package history

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/tidings-app/tidings/conn"
)

func TestPagesWalkNewestFirstWithoutGapsOrRepeats(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name      string
		stored    int
		pageSize  int
		wantPages int
	}{
		{"empty store", 0, 10, 0},
		{"one short page", 7, 10, 1},
		{"exact pages", 30, 10, 3},
		{"last page partial", 31, 10, 4},
		{"size 0 means default", 120, 0, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t, testConfig(t))
			insertN(t, s, tc.stored)
			var got []string
			pages := 0
			var cur Cursor
			for {
				p, err := s.Page(ctx, cur, tc.pageSize)
				if err != nil {
					t.Fatal(err)
				}
				if len(p) == 0 {
					break
				}
				pages++
				got = append(got, ids(p)...)
				cur = p[len(p)-1].Cursor()
			}
			if pages != tc.wantPages {
				t.Errorf("pages = %d, want %d", pages, tc.wantPages)
			}
			if len(got) != tc.stored {
				t.Fatalf("walked %d entries, want %d", len(got), tc.stored)
			}
			for i, id := range got {
				if want := fmt.Sprintf("m%d", tc.stored-1-i); id != want {
					t.Fatalf("entry %d = %s, want %s", i, id, want)
				}
			}
		})
	}
}

func TestPagesOrderEqualReceivedTimesByInsertionAndIgnoreNewArrivals(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, testConfig(t))
	// Five messages with the same received time, one older, one newer.
	batch := []conn.Message{msg("old", 0)}
	for i := range 5 {
		batch = append(batch, msg(fmt.Sprintf("same%d", i), 10))
	}
	batch = append(batch, msg("new", 20))
	if _, err := s.InsertBatch(ctx, batch); err != nil {
		t.Fatal(err)
	}
	p1, _ := s.Page(ctx, Cursor{}, 3)
	// A message arriving between page loads must not shift page 2.
	if _, err := s.Insert(ctx, msg("newest", 30)); err != nil {
		t.Fatal(err)
	}
	p2, _ := s.Page(ctx, p1[len(p1)-1].Cursor(), 10)
	got := append(ids(p1), ids(p2)...)
	want := []string{"new", "same4", "same3", "same2", "same1", "same0", "old"}
	if !slices.Equal(got, want) {
		t.Fatalf("order = %v, want %v", got, want)
	}
}

func TestUnreadCountsFollowReadMarksDeletesAndClear(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, testConfig(t))
	var batch []conn.Message
	for i, src := range []string{"backup", "backup", "backup", "ci", "ci", ""} {
		m := msg(fmt.Sprintf("m%d", i), i)
		m.Source = src
		batch = append(batch, m)
	}
	if _, err := s.InsertBatch(ctx, batch); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name      string
		do        func() (int64, error)
		wantN     int64
		wantTotal int
		wantBy    map[string]int
	}{
		{"initially all unread", func() (int64, error) { return 0, nil }, 0, 6,
			map[string]int{"backup": 3, "ci": 2, "": 1}},
		{"mark one read", func() (int64, error) { ok, err := s.MarkRead(ctx, Key{"s1", "m0"}); return b2i(ok), err }, 1, 5,
			map[string]int{"backup": 2, "ci": 2, "": 1}},
		{"mark it read again", func() (int64, error) { ok, err := s.MarkRead(ctx, Key{"s1", "m0"}); return b2i(ok), err }, 0, 5,
			map[string]int{"backup": 2, "ci": 2, "": 1}},
		{"mark a missing one read", func() (int64, error) { ok, err := s.MarkRead(ctx, Key{"s1", "nope"}); return b2i(ok), err }, 0, 5,
			map[string]int{"backup": 2, "ci": 2, "": 1}},
		{"delete an unread one", func() (int64, error) { ok, err := s.Delete(ctx, Key{"s1", "m3"}); return b2i(ok), err }, 1, 4,
			map[string]int{"backup": 2, "ci": 1, "": 1}},
		{"delete a missing one", func() (int64, error) { ok, err := s.Delete(ctx, Key{"s1", "m3"}); return b2i(ok), err }, 0, 4,
			map[string]int{"backup": 2, "ci": 1, "": 1}},
		{"mark all read", func() (int64, error) { return s.MarkAllRead(ctx) }, 4, 0, map[string]int{}},
		{"a new message is unread", func() (int64, error) {
			ok, err := s.Insert(ctx, msg("late", 99))
			return b2i(ok), err
		}, 1, 1, map[string]int{"backup": 1}},
		{"clear", func() (int64, error) { return s.Clear(ctx) }, 6, 0, map[string]int{}},
	}
	for _, st := range steps {
		n, err := st.do()
		if err != nil || n != st.wantN {
			t.Fatalf("%s: = %d, %v; want %d", st.name, n, err, st.wantN)
		}
		total, err := s.UnreadCount(ctx)
		if err != nil || total != st.wantTotal {
			t.Fatalf("%s: UnreadCount = %d, %v; want %d", st.name, total, err, st.wantTotal)
		}
		by, err := s.UnreadBySource(ctx)
		if err != nil || fmt.Sprint(by) != fmt.Sprint(st.wantBy) {
			t.Fatalf("%s: UnreadBySource = %v, %v; want %v", st.name, by, err, st.wantBy)
		}
	}
	if n, _ := s.Count(ctx); n != 0 {
		t.Fatalf("Count after Clear = %d", n)
	}
}

func TestPageSizesAreClampedToASaneRange(t *testing.T) {
	for in, want := range map[int]int{-5: DefaultPageSize, 0: DefaultPageSize, 1: 1, 999: 999, maxPageSize: maxPageSize, 1 << 30: maxPageSize} {
		if got := clampLimit(in); got != want {
			t.Errorf("clampLimit(%d) = %d, want %d", in, got, want)
		}
	}
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func TestUnnotifiedListsStoredMessagesUntilMarkedNotified(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, testConfig(t))
	insertN(t, s, 5)
	if err := s.MarkNotified(ctx, Key{"s1", "m1"}, Key{"s1", "m3"}, Key{"s1", "missing"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Unnotified(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"m0", "m2", "m4"}; !slices.Equal(ids(got), want) {
		t.Fatalf("Unnotified = %v, want %v (oldest first)", ids(got), want)
	}
	if err := s.MarkNotified(ctx, Key{"s1", "m0"}, Key{"s1", "m2"}, Key{"s1", "m4"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Unnotified(ctx, 0); len(got) != 0 {
		t.Fatalf("Unnotified after marking all = %v", ids(got))
	}
	if e, _, _ := s.Get(ctx, Key{"s1", "m2"}); !e.Notified || e.Read {
		t.Fatalf("entry = %+v; want notified and still unread", e)
	}
}
