// Command history-bench measures the history store on a real file: batched
// ingest, first page, unread counts and search with 100 000 messages
// stored, and the time to reopen such a database. It prints one line per
// figure with the target where the issue sets one.
//
//	go run ./bench/history [-n 100000] [-batch 1000] [-dir DIR]
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/tidings-app/tidings/conn"
	"github.com/tidings-app/tidings/history"
)

func main() {
	n := flag.Int("n", 100_000, "messages to store")
	batch := flag.Int("batch", 1000, "messages per InsertBatch")
	dir := flag.String("dir", "", "directory for the database (default: a fresh temp dir, removed after)")
	reps := flag.Int("reps", 200, "repetitions of each query")
	flag.Parse()
	if *dir == "" {
		d, err := os.MkdirTemp("", "history-bench-")
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	ctx := context.Background()
	cfg := history.Config{Path: filepath.Join(*dir, history.FileName), MaxAge: -1, MaxCount: -1, RetentionInterval: -1}
	s, err := history.Open(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}

	start, cpu0 := time.Now(), cpuTime()
	msgs := make([]conn.Message, 0, *batch)
	for i := range *n {
		msgs = append(msgs, Message(i))
		if len(msgs) == *batch || i == *n-1 {
			if _, err := s.InsertBatch(ctx, msgs); err != nil {
				log.Fatal(err)
			}
			msgs = msgs[:0]
		}
	}
	d, cpu := time.Since(start), cpuTime()-cpu0
	fmt.Printf("ingest, batches of %d:   %8.0f msgs/s  (%d in %v; target ≥ 20 000)\n", *batch, float64(*n)/d.Seconds(), *n, d.Round(time.Millisecond))
	if cpu > 0 {
		fmt.Printf("  per CPU-second:         %8.0f msgs/s  (%v CPU; wall ≫ CPU means the machine was busy or the disk slow)\n", float64(*n)/cpu.Seconds(), cpu.Round(time.Millisecond))
	}

	const singles = 300
	start = time.Now()
	for i := range singles {
		if _, err := s.Insert(ctx, Message(*n+i)); err != nil {
			log.Fatal(err)
		}
	}
	d = time.Since(start)
	fmt.Printf("ingest, one at a time:    %8.0f msgs/s  (%d, one fsync'd transaction each)\n", singles/d.Seconds(), singles)
	if err := s.Close(); err != nil {
		log.Fatal(err)
	}

	start = time.Now()
	if s, err = history.Open(ctx, cfg); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("reopen (quick_check, migrate): %v\n", time.Since(start).Round(time.Millisecond))
	count, _ := s.Count(ctx)
	fmt.Printf("stored: %d\n", count)

	measure(*reps, "first page (50)", "target ≤ 5 ms", func() error { _, err := s.Page(ctx, history.Cursor{}, 50); return err })
	page, _ := s.Page(ctx, history.Cursor{}, 1000)
	deep := page[len(page)-1].Cursor()
	measure(*reps, "page after 1 000", "", func() error { _, err := s.Page(ctx, deep, 50); return err })
	measure(*reps, "unread count", "", func() error { _, err := s.UnreadCount(ctx); return err })
	measure(*reps, "unread by source", "", func() error { _, err := s.UnreadBySource(ctx); return err })
	for _, q := range []string{"backup", "disk full", "nas0417", "ba", "zzzz nothing"} {
		measure(*reps, fmt.Sprintf("search %q (50)", q), "target ≤ 50 ms", func() error { _, err := s.Search(ctx, q, 0, 50); return err })
	}
	s.Close()

	// Retention and Clear on the full store.
	cfg.MaxCount = count / 2
	if s, err = history.Open(ctx, cfg); err != nil {
		log.Fatal(err)
	}
	start = time.Now()
	pruned, err := s.Prune(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("prune to %d by count:    %v (%d deleted)\n", cfg.MaxCount, time.Since(start).Round(time.Millisecond), pruned)
	start = time.Now()
	cleared, err := s.Clear(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("clear:                    %v (%d deleted)\n", time.Since(start).Round(time.Millisecond), cleared)
	if err := s.Close(); err != nil {
		log.Fatal(err)
	}
}

// measure runs f reps times and prints the median and the 99th percentile.
func measure(reps int, name, target string, f func() error) {
	ds := make([]time.Duration, reps)
	for i := range ds {
		start := time.Now()
		if err := f(); err != nil {
			log.Fatal(err)
		}
		ds[i] = time.Since(start)
	}
	slices.Sort(ds)
	fmt.Printf("%-28s median %9v  p99 %9v  %s\n", name+":", ds[len(ds)/2].Round(time.Microsecond), ds[len(ds)*99/100].Round(time.Microsecond), target)
}

var (
	sources = []string{"backup", "ci", "monitor", "shop", "home", "mail", "calendar", "alerts", "deploy", "news"}
	words   = []string{"disk", "full", "job", "finished", "failed", "started", "server", "volume", "snapshot",
		"error", "warning", "ok", "latency", "cpu", "memory", "temperature", "door", "opened", "closed",
		"order", "shipped", "delivered", "build", "passed", "release", "tag", "merge", "request", "review"}
)

// Message is the i-th synthetic message: a title and a ~200-byte body of
// common words plus a unique host token, from one of ten sources.
func Message(i int) conn.Message {
	body := make([]byte, 0, 256)
	for j := 0; len(body) < 200; j++ {
		body = append(body, words[(i*7+j*13)%len(words)]...)
		body = append(body, ' ')
	}
	body = fmt.Appendf(body, "host nas%04d", i%10000)
	return conn.Message{
		Server:   "https://push.example.com/user",
		ID:       fmt.Sprint(i),
		Received: time.Unix(1_700_000_000, 0).Add(time.Duration(i) * time.Second),
		Sent:     time.Unix(1_700_000_000, 0).Add(time.Duration(i)*time.Second - time.Second),
		Title:    fmt.Sprintf("%s %s #%d", sources[i%len(sources)], words[i%len(words)], i),
		Body:     string(body),
		Priority: conn.Priority(1 + i%5),
		Source:   sources[i%len(sources)],
	}
}
