package history

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/tidings-app/tidings/conn"
	"github.com/tidings-app/tidings/internal/testkit"
)

// t0 is a fixed clock origin for tests.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// msg builds a message from server "s1" with id id, received at t0+sec.
func msg(id string, sec int) conn.Message {
	return conn.Message{
		Server:   "s1",
		ID:       id,
		Received: t0.Add(time.Duration(sec) * time.Second),
		Sent:     t0.Add(time.Duration(sec)*time.Second - time.Millisecond),
		Title:    "title " + id,
		Body:     "body of message " + id,
		Priority: conn.PriorityDefault,
		Source:   "backup",
	}
}

// testConfig is a config on a fresh file in t's temp dir, with the
// background pruner off and no retention limits.
func testConfig(t testing.TB) Config {
	return Config{
		Path:              filepath.Join(t.TempDir(), "data", FileName),
		MaxAge:            -1,
		MaxCount:          -1,
		RetentionInterval: -1,
	}
}

// openStore opens cfg and closes it at the end of the test.
func openStore(t testing.TB, cfg Config) *Store {
	t.Helper()
	s, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// insertN stores n messages with ids "m0".."m(n-1)", one second apart.
func insertN(t testing.TB, s *Store, n int) {
	t.Helper()
	batch := make([]conn.Message, 0, 1000)
	for i := range n {
		batch = append(batch, msg(fmt.Sprintf("m%d", i), i))
		if len(batch) == cap(batch) || i == n-1 {
			if _, err := s.InsertBatch(context.Background(), batch); err != nil {
				t.Fatalf("InsertBatch: %v", err)
			}
			batch = batch[:0]
		}
	}
}

// ids lists the entries' ids in order.
func ids(es []Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

func textLogger(b *testkit.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(b, nil))
}
