package ui

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"

	"github.com/tidings-app/tidings/conn"
)

// uiQueue stands in for the UI goroutine: runOnUI posts to it and the test
// goroutine runs what was posted, so widgets are only touched by the test
// goroutine. It is installed once for the whole test binary (TestMain):
// work a finished test left behind runs, serialised, in the next test's
// drain instead of racing with it.
type uiQueue struct{ ch chan func() }

var testUI = &uiQueue{ch: make(chan func(), 1<<16)}

func init() { runOnUI = func(f func()) { testUI.ch <- f } }

func installUIQueue(t *testing.T) *uiQueue {
	t.Helper()
	testUI.drain()
	return testUI
}

// drain runs everything posted so far.
func (q *uiQueue) drain() {
	for {
		select {
		case f := <-q.ch:
			f()
		default:
			return
		}
	}
}

// until runs posted functions until pred holds, failing after 5 s.
func (q *uiQueue) until(t *testing.T, what string, pred func() bool) {
	t.Helper()
	deadline := time.NewTimer(5 * time.Second)
	defer deadline.Stop()
	for {
		q.drain()
		if pred() {
			return
		}
		select {
		case f := <-q.ch:
			f()
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// fakeHistory is an in-memory store, newest first.
type fakeHistory struct {
	mu      sync.Mutex
	rows    []Entry // oldest first; the store's order is the reverse
	subs    map[int]func()
	nextSub int
	pages   int // Page calls
	served  int // rows returned by Page
	fail    error
}

func newFakeHistory(n int) *fakeHistory {
	h := &fakeHistory{subs: map[int]func(){}}
	base := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for i := range n {
		h.rows = append(h.rows, Entry{Message: conn.Message{
			Server: "https://push.example.com", ID: strconv.Itoa(i),
			Sent:     base.Add(time.Duration(i) * time.Minute),
			Title:    fmt.Sprintf("Message %d", i),
			Body:     fmt.Sprintf("Body of message %d", i),
			Priority: conn.Priority(i%5 + 1),
			Source:   []string{"backups", "alerts", "ci"}[i%3],
		}})
	}
	return h
}

func (h *fakeHistory) add(e Entry) {
	h.mu.Lock()
	h.rows = append(h.rows, e)
	h.mu.Unlock()
	h.changed()
}

func (h *fakeHistory) changed() {
	h.mu.Lock()
	subs := make([]func(), 0, len(h.subs))
	for _, f := range h.subs {
		subs = append(subs, f)
	}
	h.mu.Unlock()
	for _, f := range subs {
		f()
	}
}

func (h *fakeHistory) Page(ctx context.Context, search, cursor string, limit int) ([]Entry, string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.pages++
	if h.fail != nil {
		return nil, "", h.fail
	}
	start := 0
	if cursor != "" {
		var err error
		if start, err = strconv.Atoi(cursor); err != nil {
			return nil, "", errors.New("fake: bad cursor")
		}
	}
	var out []Entry
	i := start
	for ; i < len(h.rows) && len(out) < limit; i++ {
		e := h.rows[len(h.rows)-1-i]
		if search == "" || strings.Contains(strings.ToLower(e.Title+" "+e.Body), strings.ToLower(search)) {
			out = append(out, e)
		}
	}
	h.served += len(out)
	if i >= len(h.rows) {
		return out, "", nil
	}
	return out, strconv.Itoa(i), nil
}

func (h *fakeHistory) Unread(ctx context.Context) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, e := range h.rows {
		if !e.Read {
			n++
		}
	}
	return n, nil
}

func (h *fakeHistory) update(f func()) error {
	h.mu.Lock()
	f()
	h.mu.Unlock()
	h.changed()
	return nil
}

func (h *fakeHistory) MarkRead(ctx context.Context, keys ...Key) error {
	return h.update(func() {
		for i := range h.rows {
			if slices.Contains(keys, h.rows[i].Key()) {
				h.rows[i].Read = true
			}
		}
	})
}

func (h *fakeHistory) MarkAllRead(ctx context.Context) error {
	return h.update(func() {
		for i := range h.rows {
			h.rows[i].Read = true
		}
	})
}

func (h *fakeHistory) Delete(ctx context.Context, keys ...Key) error {
	return h.update(func() {
		h.rows = slices.DeleteFunc(h.rows, func(e Entry) bool { return slices.Contains(keys, e.Key()) })
	})
}

func (h *fakeHistory) Clear(ctx context.Context) error {
	return h.update(func() { h.rows = nil })
}

func (h *fakeHistory) Sources(ctx context.Context) ([]string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, e := range h.rows {
		if !slices.Contains(out, e.Source) {
			out = append(out, e.Source)
		}
	}
	slices.Sort(out)
	return out, nil
}

func (h *fakeHistory) Subscribe(fn func()) func() {
	h.mu.Lock()
	defer h.mu.Unlock()
	id := h.nextSub
	h.nextSub++
	h.subs[id] = fn
	return func() {
		h.mu.Lock()
		delete(h.subs, id)
		h.mu.Unlock()
	}
}

// get returns the i-th newest entry.
func (h *fakeHistory) get(i int) Entry {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.rows[len(h.rows)-1-i]
}

func (h *fakeHistory) stats() (pages, served, rows int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.pages, h.served, len(h.rows)
}

// fakeAccounts accepts one user and password; anything else is refused.
type fakeAccounts struct {
	mu       sync.Mutex
	user     string
	password string
	gate     chan struct{} // when set, Login waits for it
	calls    []LoginRequest
	logouts  int
	// logoutErr is what Logout returns (a revocation the server refused)
	logoutErr error
}

var (
	errFakeUnauthorized = errors.New("fake: 401")
	errFakeNotRevoked   = errors.New("fake: revoke refused")
	errFakeUnreachable  = errors.New("fake: dial tcp: connection refused")
)

func (a *fakeAccounts) Login(ctx context.Context, r LoginRequest) error {
	a.mu.Lock()
	a.calls = append(a.calls, r)
	gate := a.gate
	a.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	switch {
	case strings.Contains(r.URL, "unreachable"):
		return errFakeUnreachable
	case r.User == a.user && r.Password.Reveal() == a.password:
		return nil
	case !r.Token.Empty() && r.Token.Reveal() == "tok":
		return nil
	}
	return errFakeUnauthorized
}

func (a *fakeAccounts) Explain(err error) string {
	switch {
	case errors.Is(err, errFakeUnauthorized):
		return "Wrong username or password."
	case errors.Is(err, errFakeUnreachable):
		return "The server cannot be reached."
	case errors.Is(err, errFakeNotRevoked):
		return "You are logged out here, but the server could not be told to revoke the login."
	}
	return ""
}

func (a *fakeAccounts) Logout(ctx context.Context) error {
	a.mu.Lock()
	a.logouts++
	a.mu.Unlock()
	return a.logoutErr
}

func (a *fakeAccounts) callCount() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.calls)
}

// fakeSettings keeps settings in memory and counts saves.
type fakeSettings struct {
	mu    sync.Mutex
	s     Settings
	saves int
}

func (f *fakeSettings) Load() Settings {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.s
	s.MutedSources = slices.Clone(s.MutedSources)
	return s
}

func (f *fakeSettings) Save(s Settings) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.s = s
	f.saves++
	return nil
}

// fakeDesk records what the tray was given.
type fakeDesk struct {
	mu    sync.Mutex
	menus int
	icons int
	menu  *fyne.Menu
	icon  fyne.Resource
}

func (d *fakeDesk) SetSystemTrayMenu(m *fyne.Menu) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.menus++
	d.menu = m
}

func (d *fakeDesk) SetSystemTrayIcon(r fyne.Resource) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.icons++
	d.icon = r
}

func (d *fakeDesk) state() (menus, icons int, menu *fyne.Menu, icon fyne.Resource) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.menus, d.icons, d.menu, d.icon
}

// fakeConn counts reconnects.
type fakeConn struct {
	mu sync.Mutex
	n  int
}

func (c *fakeConn) Reconnect() { c.mu.Lock(); c.n++; c.mu.Unlock() }

// subscribers counts the live Subscribe registrations.
func (h *fakeHistory) subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

func (a *fakeAccounts) requests() []LoginRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]LoginRequest(nil), a.calls...)
}
