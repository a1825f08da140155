package history

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tidings-app/tidings/internal/testkit"
)

func TestPruneKeepsWhatTheLimitsAllow(t *testing.T) {
	ctx := context.Background()
	now := t0.Add(100 * time.Second) // msg i is received at t0+i s
	cases := []struct {
		name        string
		stored      int
		maxAge      time.Duration
		maxCount    int
		batch       int
		wantDeleted int64
		wantOldest  string // oldest remaining id, "" if none
	}{
		{"no limits", 50, -1, -1, 0, 0, "m0"},
		{"age only", 50, 60 * time.Second, -1, 0, 40, "m40"},
		{"count only", 50, -1, 30, 0, 20, "m20"},
		{"count in small batches", 50, -1, 30, 3, 20, "m20"},
		{"age wins when stricter", 50, 60 * time.Second, 45, 0, 40, "m40"},
		{"count wins when stricter", 50, 60 * time.Second, 5, 7, 45, "m45"},
		{"nothing beyond either limit", 50, time.Hour, 100, 0, 0, "m0"},
		{"everything too old", 50, time.Second, -1, 0, 50, ""},
		{"empty store", 0, time.Second, 1, 0, 0, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.MaxAge, cfg.MaxCount, cfg.PruneBatch = tc.maxAge, tc.maxCount, tc.batch
			cfg.Now = func() time.Time { return now }
			s := openStore(t, cfg)
			insertN(t, s, tc.stored)
			n, err := s.Prune(ctx)
			if err != nil || n != tc.wantDeleted {
				t.Fatalf("Prune = %d, %v; want %d", n, err, tc.wantDeleted)
			}
			count, _ := s.Count(ctx)
			if count != tc.stored-int(tc.wantDeleted) {
				t.Fatalf("Count = %d, want %d", count, tc.stored-int(tc.wantDeleted))
			}
			page, _ := s.Page(ctx, Cursor{}, 1000)
			oldest := ""
			if len(page) > 0 {
				oldest = page[len(page)-1].ID
			}
			if oldest != tc.wantOldest {
				t.Fatalf("oldest remaining = %q, want %q", oldest, tc.wantOldest)
			}
			if got, _ := s.Search(ctx, "message", 0, 1000); len(got) != count {
				t.Fatalf("search finds %d, want %d: the FTS index kept pruned rows", len(got), count)
			}
		})
	}
}

func TestBackgroundPrunerRunsOnItsIntervalAndStopsWithTheContext(t *testing.T) {
	testkit.NoLeaks(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var now time.Time
	cfg := testConfig(t)
	cfg.MaxCount = 10
	cfg.RetentionInterval = 5 * time.Millisecond
	cfg.Now = func() time.Time { return now }
	s, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ch, stop := s.Subscribe()
	defer stop()
	insertN(t, s, 25)
	testkit.Eventually(t, "the pruner to cut the store to 10", func() bool {
		n, _ := s.Count(context.Background())
		return n == 10
	})
	<-ch // the insert or prune signal

	cancel() // ctx ends the pruner; the store stays usable
	testkit.Eventually(t, "pruner to stop", func() bool {
		select {
		case <-s.done:
			return true
		default:
			return false
		}
	})
	for i := 100; i < 120; i++ {
		if _, err := s.Insert(context.Background(), msg(fmt.Sprint("x", i), i)); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := s.Count(context.Background()); n != 30 {
		t.Fatalf("Count = %d after the pruner stopped, want 30", n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestCloseStopsTheBackgroundPrunerWithoutLeaks(t *testing.T) {
	testkit.NoLeaks(t)
	cfg := testConfig(t)
	cfg.MaxCount = 1
	cfg.RetentionInterval = time.Millisecond
	for range 20 {
		s, err := Open(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		insertN(t, s, 3)
		start := time.Now()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		testkit.Within(t, "Close with the pruner running", time.Since(start), time.Second)
	}
}

// Issue 21.6: the retention chosen in the settings was saved but the
// history kept its defaults until the next start.
func TestNewLimitsApplyAtOnceAndZeroMeansNoLimit(t *testing.T) {
	testkit.NoLeaks(t)
	cfg := testConfig(t)
	cfg.MaxCount = 100
	cfg.RetentionInterval = time.Hour // only SetRetention wakes the pruner
	s := openStore(t, cfg)
	insertN(t, s, 25)
	s.SetRetention(0, 10)
	testkit.Eventually(t, "the store cut to the new limit of 10", func() bool {
		n, _ := s.Count(context.Background())
		return n == 10
	})
	s.SetRetention(0, 0)
	insertN(t, s, 5)
	if _, err := s.Prune(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Count(context.Background()); n != 15 {
		t.Fatalf("Count = %d with no limit, want all 15", n)
	}
}
