package history

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tidings-app/tidings/conn"
	"github.com/tidings-app/tidings/internal/testkit"
)

func TestInsertingAMessageAlreadyStoredIsANoOpAndSaysSo(t *testing.T) {
	ctx := context.Background()
	retitled := msg("1", 0)
	retitled.Title = "other"
	elsewhere := msg("1", 0)
	elsewhere.Server = "s2"
	cases := []struct {
		name      string
		second    conn.Message
		stored    bool // is the second insert stored?
		wantCount int
	}{
		{"same server and id", msg("1", 5), false, 1},
		{"same id, changed content", retitled, false, 1},
		{"same id on another server", elsewhere, true, 2},
		{"another id on the same server", msg("2", 0), true, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := openStore(t, testConfig(t))
			if ok, err := s.Insert(ctx, msg("1", 0)); err != nil || !ok {
				t.Fatalf("first Insert = %v, %v; want true, nil", ok, err)
			}
			ok, err := s.Insert(ctx, tc.second)
			if err != nil || ok != tc.stored {
				t.Fatalf("second Insert = %v, %v; want %v, nil", ok, err, tc.stored)
			}
			if n, _ := s.Count(ctx); n != tc.wantCount {
				t.Fatalf("Count = %d, want %d", n, tc.wantCount)
			}
			e, found, err := s.Get(ctx, Key{"s1", "1"})
			if err != nil || !found || e.Title != "title 1" {
				t.Fatalf("original entry = %+v, %v, %v; want it unchanged", e, found, err)
			}
		})
	}
}

func TestInsertBatchReportsPerMessageWhetherItWasNew(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, testConfig(t))
	if _, err := s.Insert(ctx, msg("a", 0)); err != nil {
		t.Fatal(err)
	}
	got, err := s.InsertBatch(ctx, []conn.Message{msg("a", 1), msg("b", 2), msg("c", 3), msg("b", 4)})
	if err != nil {
		t.Fatal(err)
	}
	want := []bool{false, true, true, false}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("InsertBatch = %v, want %v", got, want)
		}
	}
	if n, _ := s.Count(ctx); n != 3 {
		t.Fatalf("Count = %d, want 3", n)
	}
}

func TestInsertBatchThenNamesTheNewMessagesBeforeTheyAreCommitted(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, testConfig(t))
	if _, err := s.Insert(ctx, msg("a", 0)); err != nil {
		t.Fatal(err)
	}
	var early []bool
	visible := -1
	got, err := s.InsertBatchThen(ctx, []conn.Message{msg("a", 1), msg("b", 2), msg("c", 3)}, func(stored []bool) {
		early = stored
		// another connection still sees the history before this batch
		if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM messages").Scan(&visible); err != nil {
			t.Error(err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []bool{false, true, true}; !slices.Equal(early, want) || !slices.Equal(got, want) {
		t.Fatalf("early %v, result %v; want %v for both", early, got, want)
	}
	if visible != 1 {
		t.Fatalf("during early %d messages were visible to others, want 1 (the batch not yet committed)", visible)
	}
	if n, _ := s.Count(ctx); n != 3 {
		t.Fatalf("Count = %d, want 3", n)
	}
	called := false
	if _, err := s.InsertBatchThen(ctx, []conn.Message{msg("a", 1), msg("b", 2)}, func([]bool) { called = true }); err != nil || called {
		t.Fatalf("a batch with nothing new: err %v, early called %v", err, called)
	}
}

func TestDuplicatesAreFoundWithinAndAcrossInsertStatements(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, testConfig(t))
	// More than two statements' worth, with repeats inside one chunk and
	// across chunks, and an invalid message shifting the indices.
	n := 2*insertChunk + 50
	batch := make([]conn.Message, 0, n+4)
	for i := range n {
		batch = append(batch, msg(fmt.Sprint("k", i), i))
	}
	batch = append(batch, msg("k3", 0), msg("", 0), msg(fmt.Sprint("k", insertChunk+1), 0), msg("k3", 0))
	got, err := s.InsertBatch(ctx, batch)
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid for the message without id", err)
	}
	for i, ok := range got {
		if want := i < n; ok != want {
			t.Fatalf("stored[%d] = %v, want %v", i, ok, want)
		}
	}
	if c, _ := s.Count(ctx); c != n {
		t.Fatalf("Count = %d, want %d", c, n)
	}
	again, err := s.InsertBatch(ctx, batch[:n])
	if err != nil {
		t.Fatal(err)
	}
	for i, ok := range again {
		if ok {
			t.Fatalf("re-inserted message %d reported new", i)
		}
	}
}

func TestInvalidMessagesAreRefusedWithoutLosingTheRestOfTheBatch(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, testConfig(t))
	noID := msg("", 0)
	noServer := msg("x", 0)
	noServer.Server = ""
	longID := msg(strings.Repeat("i", 2000), 0)
	got, err := s.InsertBatch(ctx, []conn.Message{noID, msg("ok1", 1), noServer, longID, msg("ok2", 2)})
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v, want ErrInvalid", err)
	}
	for _, idx := range []string{"message 0", "message 2", "message 3"} {
		if !strings.Contains(err.Error(), idx) {
			t.Errorf("error %q does not name %s", err, idx)
		}
	}
	want := []bool{false, true, false, false, true}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("stored = %v, want %v", got, want)
		}
	}
	if ok, err := s.Insert(ctx, noID); ok || !errors.Is(err, ErrInvalid) {
		t.Fatalf("Insert(no id) = %v, %v; want false, ErrInvalid", ok, err)
	}
}

func TestStoredMessageReadsBackFieldForField(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, testConfig(t))
	m := conn.Message{
		Server: "https://push.example/ u", ID: "Zx9_12chars", Sent: t0.Add(-time.Minute), Received: t0,
		Title: "Disk <b>full</b> \u202e", Body: "line1\nline2\x00nul", Priority: conn.PriorityUrgent,
		URL: "https://example.com/x?y=1", Source: "backup", Markdown: true, CatchUp: true,
	}
	if _, err := s.Insert(ctx, m); err != nil {
		t.Fatal(err)
	}
	e, found, err := s.Get(ctx, Key{m.Server, m.ID})
	if err != nil || !found {
		t.Fatalf("Get = %v, %v", found, err)
	}
	m.CatchUp = false // not stored
	if !e.Sent.Equal(m.Sent) || !e.Received.Equal(m.Received) {
		t.Fatalf("times = %v, %v; want %v, %v", e.Sent, e.Received, m.Sent, m.Received)
	}
	e.Sent, e.Received = m.Sent, m.Received
	if e.Message != m || e.Read || e.Notified || e.Seq == 0 {
		t.Fatalf("entry = %+v\nwant message %+v, unread, not notified", e, m)
	}
}

func TestZeroTimesAreStoredAsReceivedNowAndSentUnknown(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	cfg.Now = func() time.Time { return t0 }
	s := openStore(t, cfg)
	m := msg("1", 0)
	m.Sent, m.Received = time.Time{}, time.Time{}
	if _, err := s.Insert(ctx, m); err != nil {
		t.Fatal(err)
	}
	e, _, _ := s.Get(ctx, Key{"s1", "1"})
	if !e.Received.Equal(t0) || !e.Sent.IsZero() {
		t.Fatalf("received %v sent %v; want %v and zero", e.Received, e.Sent, t0)
	}
}

func TestOversizedFieldsAreCutAtARuneBoundaryWithAnEllipsis(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	cfg.MaxTitleBytes, cfg.MaxBodyBytes, cfg.MaxURLBytes, cfg.MaxSourceBytes = 10, 100, 50, 8
	s := openStore(t, cfg)
	m := msg("1", 0)
	m.Title = strings.Repeat("é", 20)  // 2 bytes each
	m.Body = strings.Repeat("€", 1000) // 3 bytes each
	m.URL = "https://x/" + strings.Repeat("a", 100)
	m.Source = "sourcename"
	if _, err := s.Insert(ctx, m); err != nil {
		t.Fatal(err)
	}
	e, _, _ := s.Get(ctx, Key{"s1", "1"})
	for _, f := range []struct {
		name, got string
		max       int
	}{{"title", e.Title, 10}, {"body", e.Body, 100}, {"url", e.URL, 50}, {"source", e.Source, 8}} {
		if len(f.got) > f.max || !utf8.ValidString(f.got) || !strings.HasSuffix(f.got, "…") {
			t.Errorf("%s = %q (%d bytes); want ≤ %d bytes of valid UTF-8 ending in …", f.name, f.got, len(f.got), f.max)
		}
	}
}

func TestCapBytes(t *testing.T) {
	cases := []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"eleven chars", 10, "eleven …"},
		{"ééééé", 7, "éé…"},
		{"abcdef", 2, "ab"},
		{"\xff\xfe\xfd\xfc\xfb", 4, "\xff…"},
	}
	for _, tc := range cases {
		if got := capBytes(tc.in, tc.max); got != tc.want {
			t.Errorf("capBytes(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
}

func TestWatchersAreSignalledCoalescedAndClosedOnClose(t *testing.T) {
	testkit.NoLeaks(t)
	ctx := context.Background()
	s, err := Open(ctx, testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	ch, cancel := s.Subscribe()
	gone, cancelGone := s.Subscribe()
	cancelGone()
	if _, ok := <-gone; ok {
		t.Fatal("cancelled subscription still open")
	}
	for i := range 3 { // three changes: three signals, coalesced to one pending
		if _, err := s.InsertBatch(ctx, []conn.Message{msg(fmt.Sprint("a", i), i), msg(fmt.Sprint("b", i), i)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := <-ch; !ok {
		t.Fatal("no signal after inserts")
	}
	select {
	case <-ch:
		t.Fatal("signals were not coalesced")
	default:
	}
	if _, err := s.MarkAllRead(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-ch; !ok {
		t.Fatal("no signal after MarkAllRead")
	}
	if _, err := s.Insert(ctx, msg("a1", 1)); err != nil { // duplicate: no change
		t.Fatal(err)
	}
	select {
	case <-ch:
		t.Fatal("signal for a duplicate insert that changed nothing")
	default:
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-ch; ok {
		t.Fatal("watcher channel not closed by Close")
	}
	cancel() // after Close: harmless
	if err := s.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	if _, err := s.Insert(ctx, msg("late", 0)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Insert after Close = %v, want ErrClosed", err)
	}
	if _, err := s.Page(ctx, Cursor{}, 10); !errors.Is(err, ErrClosed) {
		t.Fatalf("Page after Close = %v, want ErrClosed", err)
	}
}

func TestOpenRefusesAnEmptyPath(t *testing.T) {
	if _, err := Open(context.Background(), Config{}); !errors.Is(err, ErrNoPath) {
		t.Fatalf("err = %v, want ErrNoPath", err)
	}
}

func TestDatabaseFileUsesWALAndFullSync(t *testing.T) {
	cfg := testConfig(t)
	s := openStore(t, cfg)
	// Windows keeps no mode bits: the per-user AppData folder's ACL is what
	// keeps the file private there.
	for _, p := range []string{filepath.Dir(cfg.Path), cfg.Path} {
		if fi, err := os.Stat(p); err != nil || testkit.ModeBits && fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s is readable by others: %v %v", p, fi.Mode(), err)
		}
	}
	ctx := context.Background()
	for pragma, want := range map[string]string{"journal_mode": "wal", "synchronous": "2", "busy_timeout": "5000"} {
		var got string
		if err := s.db.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %s, want %s", pragma, got, want)
		}
	}
}

func TestOnlyTheShownMarksCommitWithoutWaitingForTheDisk(t *testing.T) {
	cfg := testConfig(t)
	s := openStore(t, cfg)
	ctx := context.Background()
	// Every pooled connection (all of them at once, so none is reused) and
	// the writer kept aside sync in full; the one for MarkNotified does not.
	conns := make([]*sql.Conn, 3)
	for i := range conns {
		c, err := s.db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
	}
	for i, c := range append(conns, s.writer, s.hint) {
		var got string
		if err := c.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&got); err != nil {
			t.Fatal(err)
		}
		want := "2"
		if c == s.hint {
			want = "1"
		}
		if got != want {
			t.Errorf("connection %d: synchronous = %s, want %s", i, got, want)
		}
	}
	for _, c := range conns {
		c.Close()
	}
	// The relaxed commit is in the log: a store opened after this one
	// closed sees it.
	if _, err := s.Insert(ctx, msg("1", 0)); err != nil {
		t.Fatal(err)
	}
	if left, err := s.Unnotified(ctx, 10); err != nil || len(left) != 1 {
		t.Fatalf("unnotified before the mark = %v, %v; want the message", left, err)
	}
	if err := s.MarkNotified(ctx, Key{Server: "s1", ID: "1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	again := openStore(t, cfg)
	if left, err := again.Unnotified(ctx, 10); err != nil || len(left) != 0 {
		t.Fatalf("unnotified after reopening = %v, %v; want none", left, err)
	}
}

func TestWritesHaveAConnectionOfTheirOwnWithASmallCache(t *testing.T) {
	s := openStore(t, testConfig(t))
	ctx := context.Background()
	// Readers hold every pooled connection (a long search, a history page,
	// the tray's latest five): an insert still goes through at once.
	var held []*sql.Conn
	for {
		cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		c, err := s.db.Conn(cctx)
		cancel()
		if err != nil {
			break
		}
		defer c.Close()
		held = append(held, c)
	}
	if len(held) == 0 {
		t.Fatal("no pooled connection to hold")
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := s.Insert(wctx, msg("1", 0)); err != nil {
		t.Fatalf("insert with all %d pooled connections held: %v", len(held), err)
	}
	if err := s.MarkNotified(wctx, Key{Server: "s1", ID: "1"}); err != nil {
		t.Fatalf("mark with all %d pooled connections held: %v", len(held), err)
	}
	for _, tt := range []struct {
		name string
		c    *sql.Conn
		want int
	}{{"writer", s.writer, -writerCacheKiB}, {"relaxed writer", s.hint, -writerCacheKiB}, {"reader", held[0], -16384}} {
		var got int
		if err := tt.c.QueryRowContext(ctx, "PRAGMA cache_size").Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("%s: cache_size %d, want %d", tt.name, got, tt.want)
		}
	}
}
