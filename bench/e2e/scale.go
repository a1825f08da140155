//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/tidings-app/tidings/account"
	"github.com/tidings-app/tidings/conn"
	"github.com/tidings-app/tidings/history"
	"github.com/tidings-app/tidings/internal/desktoptest"
)

var words = []string{"backup", "disk", "full", "deploy", "finished", "failed", "certificate", "renewal", "alert", "cpu",
	"memory", "latency", "release", "build", "passed", "nightly", "database", "replica", "lag", "restored"}

// fillHistory stores n messages of server (the account key) in a fresh
// history file at path, as the app would have over months.
func fillHistory(ctx context.Context, t *tb, path, server string, n int) {
	st, err := history.Open(ctx, history.Config{Path: path, MaxCount: -1, MaxAge: -1, RetentionInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	now := time.Now().Add(-time.Duration(n) * time.Minute)
	batch := make([]conn.Message, 0, 1000)
	keys := make([]history.Key, 0, 1000)
	for i := 1; i <= n; i++ {
		body := ""
		for range 25 {
			body += words[rng.IntN(len(words))] + " "
		}
		at := now.Add(time.Duration(i) * time.Minute)
		m := conn.Message{Server: server, ID: strconv.Itoa(i), Sent: at, Received: at,
			Title: fmt.Sprintf("%s on nas%04d", words[rng.IntN(len(words))], rng.IntN(10000)), Body: body,
			Priority: conn.Priority(1 + rng.IntN(5)), Source: fmt.Sprintf("source%d", rng.IntN(10))}
		batch = append(batch, m)
		keys = append(keys, history.Key{Server: server, ID: m.ID})
		if len(batch) == cap(batch) || i == n {
			if _, err := st.InsertBatch(ctx, batch); err != nil {
				t.Fatal(err)
			}
			if err := st.MarkNotified(ctx, keys...); err != nil {
				t.Fatal(err)
			}
			batch, keys = batch[:0], keys[:0]
		}
	}
}

func copyFile(t *tb, from, to string) {
	if err := os.MkdirAll(filepath.Dir(to), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(to + suffix)
	}
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	// As after a clean quit: the same modification time and the history's
	// clean-close marker, so the app skips the full page check as it does
	// at a normal start (a crash would not leave the marker).
	if fi, err := os.Stat(from); err == nil {
		_ = os.Chtimes(to, fi.ModTime(), fi.ModTime())
	}
	if mark, err := os.ReadFile(from + ".clean"); err == nil {
		_ = os.WriteFile(to+".clean", mark, 0o600)
	}
}

// timing is the median and p99 of repeated runs of one operation.
type timing struct{ med, p99 time.Duration }

func timeIt(reps int, fn func() error) (timing, error) {
	ds := make([]time.Duration, 0, reps)
	for range reps {
		s := time.Now()
		if err := fn(); err != nil {
			return timing{}, err
		}
		ds = append(ds, time.Since(s))
	}
	slices.Sort(ds)
	return timing{ds[len(ds)/2], ds[min(len(ds)-1, len(ds)*99/100)]}, nil
}

func benchScale(ctx context.Context, t *tb, o opts, sc scale, rep *report) {
	r := newRig(t, "scale")
	root := t.TempDir()
	dirs := seedAccount(t, root, r.srv, r.user, password)
	server := account.AccountKey(r.user, r.srv.URL)
	pristine := filepath.Join(root, "pristine", history.FileName)
	small := filepath.Join(root, "small", history.FileName)
	fillStart := time.Now()
	fillHistory(ctx, t, pristine, server, sc.historyN)
	fmt.Fprintf(os.Stderr, "  filled %d messages in %v\n", sc.historyN, time.Since(fillStart).Round(time.Millisecond))
	fillHistory(ctx, t, small, server, 1000)

	// cold start to tray-ready: bare tray, tidings with an empty history,
	// tidings with the big one (restored before every run, because the app
	// prunes to its 50 000-message default in the background)
	const runs = 3
	startup := func(name string, prep func(), args ...string) (ready, connected timing) {
		var rs, cs []time.Duration
		for range runs {
			prep()
			p := start(t, o.logDir, args[0], args[1:]...)
			_, at, err := waitTrayItem(r.tray, p.pid(), "", 90*time.Second)
			if err != nil {
				t.Fatalf("%s: %v\n%s", name, err, tail(p.output(), 2000))
			}
			rs = append(rs, at.Sub(p.started))
			if args[0] == o.app {
				_, at, err := waitTrayItem(r.tray, p.pid(), "Connected to "+r.srv.Addr, 90*time.Second)
				if err != nil {
					t.Fatalf("%s: %v\n%s", name, err, tail(p.output(), 2000))
				}
				cs = append(cs, at.Sub(p.started))
			}
			p.stop()
		}
		med := func(ds []time.Duration) timing {
			if len(ds) == 0 {
				return timing{}
			}
			slices.Sort(ds)
			return timing{ds[len(ds)/2], ds[len(ds)-1]}
		}
		return med(rs), med(cs)
	}
	noop := func() {}
	emptyData := func() { os.RemoveAll(dirs.data) }
	fullData := func() { copyFile(t, pristine, dirs.historyPath()) }
	bare, _ := startup("bare tray", noop, o.bare)
	empty, emptyConn := startup("tidings, empty history", emptyData, append([]string{o.app}, dirs.args()...)...)
	full, fullConn := startup("tidings, full history", fullData, append([]string{o.app}, dirs.args()...)...)
	nlabel := fmt.Sprintf("%d", sc.historyN)
	rep.add(figure{section: "scale", name: "cold start to tray-ready, " + nlabel + " stored", value: ms(full.med), target: "≤ 500 ms",
		baseline: ms(bare.med) + " bare", ratio: ratio(float64(full.med), float64(bare.med)), verdict: verdict(full.med <= 500*time.Millisecond)})
	rep.add(figure{section: "scale", name: "cold start to tray-ready, empty history", value: ms(empty.med), target: "–",
		baseline: ms(bare.med) + " bare", ratio: ratio(float64(empty.med), float64(bare.med))})
	rep.add(figure{section: "scale", name: "cold start to connected, " + nlabel + " stored", value: ms(fullConn.med), target: "–",
		baseline: ms(emptyConn.med) + " empty", ratio: ratio(float64(fullConn.med), float64(emptyConn.med))})

	// open-history-window: a click on the tray's "Open history" item, sent
	// over D-Bus as a panel does, until the window is visible on the X
	// server (the window model has read its first page at start).
	openHistory := func(name string, prep func()) timing {
		var ds []time.Duration
		for range runs {
			prep()
			p := start(t, o.logDir, o.app, dirs.args()...)
			it, _, err := waitTrayItem(r.tray, p.pid(), "Connected to "+r.srv.Addr, 90*time.Second)
			if err != nil {
				t.Fatalf("%s: %v\n%s", name, err, tail(p.output(), 2000))
			}
			time.Sleep(2 * time.Second) // settle after start, like a user who opens it later
			d, err := clickUntilWindow(it, "Open history", "Tidings — History", 10*time.Second)
			if err != nil {
				t.Fatalf("%s: %v\n%s", name, err, tail(p.output(), 2000))
			}
			ds = append(ds, d)
			p.stop()
		}
		slices.Sort(ds)
		return timing{ds[len(ds)/2], ds[len(ds)-1]}
	}
	openFull := openHistory("open history, full", fullData)
	openSmall := openHistory("open history, 1 000", func() { copyFile(t, small, dirs.historyPath()) })
	rep.add(figure{section: "scale", name: "open history window, " + nlabel + " stored", value: ms(openFull.med), target: "≤ 200 ms",
		baseline: ms(openSmall.med) + " at 1 000", ratio: ratio(float64(openFull.med), float64(openSmall.med)), verdict: verdict(openFull.med <= 200*time.Millisecond)})

	// history package: search and first page on the big file and on 1 000
	open := func(path string) *history.Store {
		st, err := history.Open(ctx, history.Config{Path: path, MaxCount: -1, MaxAge: -1, RetentionInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	big, little := open(pristine), open(small)
	const reps = 50
	for _, q := range []string{"backup", "disk full", "nas0417", "ba"} {
		run := func(st *history.Store) timing {
			tm, err := timeIt(reps, func() error { _, err := st.Search(ctx, q, 0, history.DefaultPageSize); return err })
			if err != nil {
				t.Fatal(err)
			}
			return tm
		}
		b, l := run(big), run(little)
		rep.add(figure{section: "scale", name: fmt.Sprintf("search %q, first 50 (p99)", q), value: ms(b.p99), target: "≤ 50 ms",
			baseline: ms(l.p99) + " at 1 000", ratio: ratio(float64(b.p99), float64(l.p99)), verdict: verdict(b.p99 <= 50*time.Millisecond)})
	}
	page := func(st *history.Store) timing {
		tm, err := timeIt(reps, func() error { _, err := st.Page(ctx, history.Cursor{}, history.DefaultPageSize); return err })
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	b, l := page(big), page(little)
	rep.add(figure{section: "scale", name: "first page of 50 (p99)", value: ms(b.p99), target: "≤ 5 ms",
		baseline: ms(l.p99) + " at 1 000", ratio: ratio(float64(b.p99), float64(l.p99)), verdict: verdict(b.p99 <= 5*time.Millisecond)})
	rep.note("scale", "Tray-ready = from exec to the moment the process's StatusNotifierItem is registered on the test watcher and its "+
		"menu (com.canonical.dbusmenu GetLayout) is non-empty; median of %d starts each (the table's value; the slowest is in the log). "+
		"The page cache is warm (\"cold\" means a new process). Before each start with the full history, the pristine %s-message file is "+
		"copied back as a clean quit leaves it (same modification time, the history's clean-close marker), so the app skips the "+
		"full page check as at a normal start; after a crash that check adds about 1 s at this size. The app's retention "+
		"(default 50 000 messages) prunes in the background after opening.", runs, nlabel)
	rep.note("scale", "Search and first page go through the history package on the same files (%d repetitions, p99 shown); baseline: the same "+
		"call on a 1 000-message history, so the ratio says how much the size costs.", reps)
	rep.note("scale", "Open history window: the app started with the history, connected, 2 s of settling, then the tray menu's \"Open history\" "+
		"item clicked over D-Bus (com.canonical.dbusmenu Event, as a panel does) and `xdotool search --onlyvisible` polled every 5 ms until the "+
		"window is visible (median of %d; slowest %s full, %s at 1 000). The window is built when it is first opened (the app "+
		"starts without laying out any window, which would load the theme's fonts): the figure includes building it, loading the fonts and "+
		"mapping it; its first page is read in the background and drawn a refresh later (about 16 ms), which the figure does not include.", runs, ms(openFull.p99), ms(openSmall.p99))
	if sc.historyN < 100_000 {
		rep.note("scale", "The issue asks for 100 000 stored messages; this run used %d.", sc.historyN)
	}
	fmt.Fprintf(os.Stderr, "  slowest starts: bare %v, empty %v, full %v\n", bare.p99, empty.p99, full.p99)
}

// clickUntilWindow clicks the tray menu item labelled label and returns the
// time until a visible X window named title exists.
func clickUntilWindow(it *desktoptest.TrayItem, label, title string, within time.Duration) (time.Duration, error) {
	menu, err := it.Menu()
	if err != nil {
		return 0, err
	}
	id := int32(-1)
	for _, m := range menu {
		if m.Label == label {
			id = m.ID
		}
	}
	if id < 0 {
		return 0, fmt.Errorf("no %q in the tray menu", label)
	}
	begin := time.Now()
	if err := it.Click(id); err != nil {
		return 0, err
	}
	for time.Since(begin) < within {
		out, err := exec.Command("xdotool", "search", "--onlyvisible", "--name", title).Output()
		if err == nil && len(bytes.TrimSpace(out)) > 0 {
			return time.Since(begin), nil
		}
		time.Sleep(5 * time.Millisecond) // polling the X server
	}
	return 0, fmt.Errorf("no visible window %q %v after the click", title, within)
}
