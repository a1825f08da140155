package ui

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTheStallProbeWritesTheLongestDelayOfEachSecond(t *testing.T) {
	path := filepath.Join(t.TempDir(), "probe")
	p := &StallProbe{path: path, log: slog.New(slog.DiscardHandler)}
	base := time.Unix(1_700_000_000, 0)
	p.record(base, 2*time.Millisecond)
	p.record(base.Add(300*time.Millisecond), 150*time.Millisecond)
	p.record(base.Add(900*time.Millisecond), 5*time.Millisecond)
	p.record(base.Add(1100*time.Millisecond), 1*time.Millisecond)
	p.write()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "1700000000000 150.000 3\n1700000001000 1.000 1\n"
	if string(b) != want {
		t.Errorf("probe file:\n%s\nwant:\n%s", b, want)
	}
	for range ProbeSeconds + 5 {
		base = base.Add(time.Second)
		p.record(base, time.Millisecond)
	}
	p.write()
	b, _ = os.ReadFile(path)
	if n := strings.Count(string(b), "\n"); n != ProbeSeconds {
		t.Errorf("%d lines, want the last %d seconds", n, ProbeSeconds)
	}
}
