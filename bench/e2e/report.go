//go:build linux

package main

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"
)

// figure is one line of the report: a measurement, its target and its
// baseline from the same run.
type figure struct {
	section  string
	name     string
	value    string
	target   string
	baseline string
	ratio    string // value / baseline
	verdict  string // "met", "missed" or "" (no target)
}

// report collects the figures and notes of one run.
type report struct {
	sc                scale
	started, finished time.Time
	figures           []figure
	notes             map[string][]string
	failures          []string
	took              []string
}

func (r *report) add(f figure) {
	r.figures = append(r.figures, f)
	fmt.Fprintf(os.Stderr, "  %-44s %-14s target %-12s baseline %-14s ratio %-7s %s\n",
		f.name, f.value, f.target, f.baseline, f.ratio, f.verdict)
}

func (r *report) note(section, format string, args ...any) {
	if r.notes == nil {
		r.notes = map[string][]string{}
	}
	r.notes[section] = append(r.notes[section], fmt.Sprintf(format, args...))
}

// verdict says whether ok, as the report prints it.
func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

func ratio(v, base float64) string {
	if base == 0 {
		return "–"
	}
	if x := v / base; x < 0.1 {
		return fmt.Sprintf("%.4f×", x)
	}
	return fmt.Sprintf("%.2f×", v/base)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

var sections = []struct{ key, title string }{
	{"latency", "1. End-to-end latency"},
	{"idle", "2. Idle cost"},
	{"burst", "3. Burst"},
	{"scale", "4. History scale"},
	{"reconnect", "5. Reconnect"},
	{"server", "6. Server capacity"},
	{"history", "Appendix: the history package's figures program"},
}

func (r *report) write(path string) error {
	var b strings.Builder
	model, ncpu, mem := cpuInfo()
	mode := "full"
	if r.sc.quick {
		mode = "quick (`BENCH_QUICK=1`: every duration and size scaled down; not comparable with a full run)"
	}
	fmt.Fprintf(&b, "# Benchmarks\n\nWritten by `make bench` (bench/e2e). Every figure is printed with its target and its ratio to a\n")
	fmt.Fprintf(&b, "baseline measured **in the same run** on the same machine: absolute times drift on a shared machine, ratios hold better.\n\n")
	fmt.Fprintf(&b, "| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| date | %s (took %v) |\n", r.started.UTC().Format("2006-01-02 15:04 MST"), r.finished.Sub(r.started).Round(time.Second))
	fmt.Fprintf(&b, "| machine | %d CPUs, %s, %d MiB RAM, %s/%s |\n", ncpu, model, mem, runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(&b, "| Go | %s |\n| mode | %s |\n| load average at the end | %s |\n", runtime.Version(), mode, loadAvg())
	fmt.Fprintf(&b, "| steps | %s |\n\n", strings.Join(r.took, ", "))
	fmt.Fprintf(&b, "Reproduce: `make bench` (full, about 10–15 min on 2 cores once built) or `BENCH_QUICK=1 make bench` (about 4 min).\n")
	fmt.Fprintf(&b, "One part only: `make bench-build && go run ./bench/e2e -only latency,idle` (parts: latency, idle, core, burst, scale, reconnect, server, history).\n\n")
	if len(r.failures) > 0 {
		fmt.Fprintf(&b, "**Failed in this run:** %s\n\n", strings.Join(r.failures, "; "))
	}
	for _, s := range sections {
		var rows []figure
		for _, f := range r.figures {
			if f.section == s.key {
				rows = append(rows, f)
			}
		}
		if len(rows) == 0 && len(r.notes[s.key]) == 0 {
			continue
		}
		fmt.Fprintf(&b, "## %s\n\n", s.title)
		if len(rows) > 0 {
			fmt.Fprintf(&b, "| figure | measured | target | baseline | ratio | |\n|---|---|---|---|---|---|\n")
			for _, f := range rows {
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", f.name, f.value, f.target, f.baseline, f.ratio, f.verdict)
			}
			b.WriteString("\n")
		}
		for _, n := range r.notes[s.key] {
			if s.key == "history" {
				fmt.Fprintf(&b, "%s\n", n)
				continue
			}
			fmt.Fprintf(&b, "- %s\n", n)
		}
		b.WriteString("\n")
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
