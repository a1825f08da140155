package history

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tidings-app/tidings/conn"
)

// Benchmarks of the figures the issue sets targets for: batched ingest
// (≥ 20 000 msgs/s), first page (≤ 5 ms) and search (≤ 50 ms) with
// 100 000 messages stored. bench/history prints the same figures as a
// program.

var (
	benchWords   = []string{"disk", "full", "job", "finished", "failed", "started", "server", "volume", "snapshot", "error", "warning", "ok", "latency", "cpu", "memory", "temperature", "door", "opened", "closed", "order", "shipped", "delivered", "build", "passed", "release", "tag", "merge", "request", "review"}
	benchSources = []string{"backup", "ci", "monitor", "shop", "home", "mail", "calendar", "alerts", "deploy", "news"}
)

// benchMessage is the i-th synthetic message: a ~200-byte body of common
// words plus a unique host token, from one of ten sources.
func benchMessage(i int) conn.Message {
	body := make([]byte, 0, 256)
	for j := 0; len(body) < 200; j++ {
		body = append(body, benchWords[(i*7+j*13)%len(benchWords)]...)
		body = append(body, ' ')
	}
	body = fmt.Appendf(body, "host nas%04d", i%10000)
	return conn.Message{
		Server:   "https://push.example.com/user",
		ID:       fmt.Sprint(i),
		Received: time.Unix(1_700_000_000, 0).Add(time.Duration(i) * time.Second),
		Title:    fmt.Sprintf("%s %s #%d", benchSources[i%len(benchSources)], benchWords[i%len(benchWords)], i),
		Body:     string(body),
		Priority: conn.Priority(1 + i%5),
		Source:   benchSources[i%len(benchSources)],
	}
}

func benchInsert(b *testing.B, s *Store, from, n, batch int) {
	msgs := make([]conn.Message, 0, batch)
	for i := from; i < from+n; i++ {
		msgs = append(msgs, benchMessage(i))
		if len(msgs) == batch || i == from+n-1 {
			if _, err := s.InsertBatch(context.Background(), msgs); err != nil {
				b.Fatal(err)
			}
			msgs = msgs[:0]
		}
	}
}

func BenchmarkInsertBatched(b *testing.B) {
	s := openStore(b, testConfig(b))
	b.ResetTimer()
	benchInsert(b, s, 0, b.N, 1000)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

func BenchmarkInsertOneAtATime(b *testing.B) {
	s := openStore(b, testConfig(b))
	b.ResetTimer()
	benchInsert(b, s, 0, b.N, 1)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

var bench100k struct {
	once sync.Once
	dir  string
	s    *Store
	err  error
}

// store100k is a store holding 100 000 messages, built once per test
// binary run and removed by TestMain.
func store100k(b *testing.B) *Store {
	bench100k.once.Do(func() {
		bench100k.dir, bench100k.err = os.MkdirTemp("", "history-bench-")
		if bench100k.err != nil {
			return
		}
		cfg := Config{Path: filepath.Join(bench100k.dir, FileName), MaxAge: -1, MaxCount: -1, RetentionInterval: -1}
		if bench100k.s, bench100k.err = Open(context.Background(), cfg); bench100k.err == nil {
			benchInsert(b, bench100k.s, 0, 100_000, 1000)
		}
	})
	if bench100k.err != nil {
		b.Fatal(bench100k.err)
	}
	b.ResetTimer()
	return bench100k.s
}

func cleanupBench() {
	if bench100k.s != nil {
		bench100k.s.Close()
	}
	if bench100k.dir != "" {
		os.RemoveAll(bench100k.dir)
	}
}

func BenchmarkFirstPageOf100k(b *testing.B) {
	s := store100k(b)
	for b.Loop() {
		if p, err := s.Page(context.Background(), Cursor{}, DefaultPageSize); err != nil || len(p) != DefaultPageSize {
			b.Fatal(len(p), err)
		}
	}
}

func BenchmarkUnreadCountOf100k(b *testing.B) {
	s := store100k(b)
	for b.Loop() {
		if n, err := s.UnreadCount(context.Background()); err != nil || n != 100_000 {
			b.Fatal(n, err)
		}
	}
}

func BenchmarkUnreadBySourceOf100k(b *testing.B) {
	s := store100k(b)
	for b.Loop() {
		if m, err := s.UnreadBySource(context.Background()); err != nil || len(m) != len(benchSources) {
			b.Fatal(m, err)
		}
	}
}

func BenchmarkSearchOf100k(b *testing.B) {
	s := store100k(b)
	for _, q := range []string{"backup", "disk full", "nas0417", "ba"} {
		b.Run(q, func(b *testing.B) {
			for b.Loop() {
				if _, err := s.Search(context.Background(), q, 0, DefaultPageSize); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
