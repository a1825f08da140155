package history

import (
	"context"
	"os"
	"testing"
	"time"
)

func TestACleanCloseSkipsTheFullCheckAndAnythingElseDoesNot(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	reopen := func() int64 {
		t.Helper()
		before := fullChecks.Load()
		s, err := Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if s.Path() != cfg.Path {
			t.Fatalf("store fell back to %q", s.Path())
		}
		insertN(t, s, 3)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		return fullChecks.Load() - before
	}
	if n := reopen(); n != 1 {
		t.Fatalf("a new database: %d full checks, want 1", n)
	}
	if n := reopen(); n != 0 {
		t.Fatalf("after a clean close: %d full checks, want 0", n)
	}
	// A crash leaves no marker: the next open checks in full.
	if err := os.Remove(markerPath(cfg.Path)); err != nil {
		t.Fatal(err)
	}
	if n := reopen(); n != 1 {
		t.Fatalf("after a crash: %d full checks, want 1", n)
	}
	// Anything that writes the file after the clean close changes its
	// time: the next open checks in full.
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(cfg.Path, later, later); err != nil {
		t.Fatal(err)
	}
	if n := reopen(); n != 1 {
		t.Fatalf("after an outside write: %d full checks, want 1", n)
	}
	// A left-over WAL means the close was not clean.
	if err := os.WriteFile(cfg.Path+"-wal", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if n := reopen(); n != 1 {
		t.Fatalf("with a left-over WAL: %d full checks, want 1", n)
	}
}
