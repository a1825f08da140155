package ui

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/tidings-app/tidings/notifier"
)

// HistoryConfig configures the history window.
type HistoryConfig struct {
	App     fyne.App
	History History
	// PageSize is how many rows one store query loads (default 50).
	PageSize int
	// Debounce is the quiet time after typing before a search runs
	// (default 300 ms).
	Debounce time.Duration
	// Interval is the least time between two reloads caused by store
	// changes (default 250 ms).
	Interval time.Duration
	// Timeout bounds one store call (default 5 s).
	Timeout time.Duration
	// Now is the clock that decides between a time and a date in rows
	// (default time.Now).
	Now func() time.Time
	Log *slog.Logger
}

func (c HistoryConfig) withDefaults() HistoryConfig {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.PageSize <= 0 {
		c.PageSize = 50
	}
	if c.Debounce <= 0 {
		c.Debounce = 300 * time.Millisecond
	}
	if c.Interval <= 0 {
		c.Interval = 250 * time.Millisecond
	}
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Second
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return c
}

// HistoryWindow is a virtualised, newest-first list of stored messages that
// loads pages as the user scrolls, with search and a detail pane.
type HistoryWindow struct {
	cfg HistoryConfig
	win fyne.Window

	// Model, touched only on the UI goroutine.
	rows     []Entry
	next     string // cursor of the next page
	more     bool
	loading  bool
	gen      int // bumps on every reload; stale pages are dropped
	query    string
	selected int
	pending  Key // entry to select once it is loaded

	list     *widget.List
	search   *widget.Entry
	detail   *fyne.Container
	markAll  *widget.Button
	clearAll *widget.Button
	// The detail pane's buttons, rebuilt with it.
	openBtn, copyBtn, deleteBtn *widget.Button

	co       *coalescer
	unsub    func()
	debounce *time.Timer
	dmu      sync.Mutex
	loadsN   int  // page queries issued (UI goroutine)
	closed   bool // set by Close; late results are dropped (UI goroutine)
	built    bool // content, subscription and first page exist (first Show)
}

// NewHistoryWindow makes the (hidden) window. Its content, its store
// subscription and its first page wait for the first Show: laying widgets
// out loads and parses the theme's fonts (about 17 MiB of heap and 8 MiB
// of the binary's font data made resident), which an app that lives in
// the tray should not pay until someone looks.
func NewHistoryWindow(cfg HistoryConfig) *HistoryWindow {
	h := &HistoryWindow{cfg: cfg.withDefaults(), selected: -1}
	h.win = cfg.App.NewWindow(T("history.title"))
	h.win.SetCloseIntercept(func() { hideWindow(h.win) })
	h.win.Resize(fyne.NewSize(820, 560))
	return h
}

// ensure builds the content, subscribes to store changes and loads the
// first page, once (UI goroutine).
func (h *HistoryWindow) ensure() {
	if h.built || h.closed {
		return
	}
	h.built = true
	h.build()
	h.co = newCoalescer(h.cfg.Interval, func() {
		runOnUI(func() {
			if !h.closed {
				h.reload()
			}
		})
	})
	h.unsub = h.cfg.History.Subscribe(h.co.Poke)
	h.reload()
}

// Window returns the Fyne window.
func (h *HistoryWindow) Window() fyne.Window { return h.win }

// Show shows the window, building it the first time.
func (h *HistoryWindow) Show() { h.ensure(); showWindow(h.win); h.win.RequestFocus() }

// ShowMessage shows the window with the message k selected once loaded.
func (h *HistoryWindow) ShowMessage(k Key) {
	h.ensure()
	h.pending = k
	h.selectPending()
	h.Show()
}

// Close unsubscribes, stops background work and closes the window. Call it
// on the UI goroutine; calling it again does nothing.
func (h *HistoryWindow) Close() {
	if h.closed {
		return
	}
	h.closed = true
	if h.built {
		h.unsub()
		h.co.Close()
	}
	h.dmu.Lock()
	if h.debounce != nil {
		h.debounce.Stop()
	}
	h.dmu.Unlock()
	if loopEnded.Load() {
		return // the window went with the loop
	}
	hideWindow(h.win)
	h.win.Close()
}

// Relocalise rebuilds the window in the current language.
func (h *HistoryWindow) Relocalise() {
	h.win.SetTitle(T("history.title"))
	if !h.built {
		return // built in the current language when first shown
	}
	q := h.search.Text
	h.build()
	h.search.Text = q
	h.search.Refresh()
	h.showDetail()
}

func (h *HistoryWindow) build() {
	h.search = widget.NewEntry()
	h.search.SetPlaceHolder(T("history.search"))
	h.search.OnChanged = h.searchChanged
	h.search.OnSubmitted = func(string) { h.applySearch() }
	h.markAll = widget.NewButton(T("history.markall"), h.markAllRead)
	h.clearAll = widget.NewButton(T("history.clear"), h.confirmClear)
	h.clearAll.Importance = widget.DangerImportance

	h.list = widget.NewList(h.length, newHistoryRow, h.updateRow)
	h.list.OnSelected = h.onSelected
	h.list.OnUnselected = func(widget.ListItemID) { h.selected = -1; h.showDetail() }

	h.detail = container.NewStack()
	h.showDetail()
	top := container.NewBorder(nil, nil, nil, container.NewHBox(h.markAll, h.clearAll), h.search)
	split := container.NewHSplit(h.list, container.NewVScroll(h.detail))
	split.Offset = 0.5
	h.win.SetContent(container.NewBorder(top, nil, nil, nil, split))
}

// length is the list's length: the rows loaded plus one "loading" row
// while more exist.
func (h *HistoryWindow) length() int {
	if h.more {
		return len(h.rows) + 1
	}
	if len(h.rows) == 0 {
		return 1 // "no messages" row
	}
	return len(h.rows)
}

func (h *HistoryWindow) updateRow(id widget.ListItemID, o fyne.CanvasObject) {
	r := o.(*historyRow)
	if id >= len(h.rows) {
		if h.more {
			r.setPlaceholder(T("history.loading"))
			h.loadMore()
		} else {
			r.setPlaceholder(T("history.empty"))
		}
		return
	}
	r.set(h.rows[id], h.cfg.Now())
	// Prefetch when the last loaded page comes into view.
	if h.more && id >= len(h.rows)-h.cfg.PageSize/2 {
		h.loadMore()
	}
}

// reload replaces the rows with a fresh read of at least as many rows as
// are loaded now, keeping the scroll position.
func (h *HistoryWindow) reload() {
	h.gen++
	n := len(h.rows)
	if n < h.cfg.PageSize {
		n = h.cfg.PageSize
	}
	h.fetch(h.gen, h.query, "", n, true)
}

// loadMore fetches the next page unless one is on its way.
func (h *HistoryWindow) loadMore() {
	if h.loading || !h.more {
		return
	}
	h.fetch(h.gen, h.query, h.next, h.cfg.PageSize, false)
}

func (h *HistoryWindow) fetch(gen int, query, cursor string, limit int, replace bool) {
	h.loading = true
	h.loadsN++
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), h.cfg.Timeout)
		defer cancel()
		rows, next, err := h.cfg.History.Page(ctx, query, cursor, limit)
		runOnUI(func() {
			if gen != h.gen || h.closed {
				return // a newer reload replaced this one
			}
			h.loading = false
			if err != nil {
				h.cfg.Log.Warn("history: page", "err", err)
				h.more = false
				h.list.Refresh()
				return
			}
			if replace {
				h.rows = rows
				if h.selected >= len(h.rows) {
					h.selected = -1
				}
			} else {
				h.rows = append(h.rows, rows...)
			}
			h.next, h.more = next, next != ""
			h.list.Refresh()
			h.selectPending()
			h.showDetail()
		})
	}()
}

func (h *HistoryWindow) selectPending() {
	if h.pending == (Key{}) {
		return
	}
	for i, e := range h.rows {
		if e.Key() == h.pending {
			h.pending = Key{}
			h.list.Select(i)
			h.list.ScrollTo(i)
			return
		}
	}
}

func (h *HistoryWindow) searchChanged(string) {
	h.dmu.Lock()
	defer h.dmu.Unlock()
	if h.debounce != nil {
		h.debounce.Stop()
	}
	h.debounce = time.AfterFunc(h.cfg.Debounce, func() {
		runOnUI(func() {
			if !h.closed {
				h.applySearch()
			}
		})
	})
}

func (h *HistoryWindow) applySearch() {
	if h.search.Text == h.query {
		return
	}
	h.query = h.search.Text
	h.rows, h.more, h.next = nil, false, ""
	h.selected = -1
	h.list.UnselectAll()
	h.list.ScrollToTop()
	h.gen++
	h.fetch(h.gen, h.query, "", h.cfg.PageSize, true)
}

func (h *HistoryWindow) onSelected(id widget.ListItemID) {
	if id >= len(h.rows) {
		h.list.Unselect(id)
		return
	}
	h.selected = id
	e := &h.rows[id]
	if !e.Read {
		e.Read = true
		h.list.RefreshItem(id)
		h.storeCall(func(ctx context.Context) error { return h.cfg.History.MarkRead(ctx, e.Key()) })
	}
	h.showDetail()
}

// storeCall runs a store change in the background; the change notification
// that follows reloads the list.
func (h *HistoryWindow) storeCall(f func(context.Context) error) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), h.cfg.Timeout)
		defer cancel()
		if err := f(ctx); err != nil {
			h.cfg.Log.Warn("history: store", "err", err)
		}
	}()
}

func (h *HistoryWindow) markAllRead() {
	for i := range h.rows {
		h.rows[i].Read = true
	}
	h.list.Refresh()
	h.storeCall(h.cfg.History.MarkAllRead)
}

func (h *HistoryWindow) confirmClear() {
	d := dialog.NewCustomConfirm(T("history.clear.title"), T("history.clear.yes"), T("dialog.cancel"),
		widget.NewLabel(T("history.clear.question")), func(ok bool) {
			if !ok {
				return
			}
			h.rows, h.more, h.selected = nil, false, -1
			h.list.UnselectAll()
			h.list.Refresh()
			h.showDetail()
			h.storeCall(h.cfg.History.Clear)
		}, h.win)
	d.Show()
}

func (h *HistoryWindow) deleteSelected() {
	if h.selected < 0 || h.selected >= len(h.rows) {
		return
	}
	k := h.rows[h.selected].Key()
	h.rows = append(h.rows[:h.selected:h.selected], h.rows[h.selected+1:]...)
	h.selected = -1
	h.list.UnselectAll()
	h.list.Refresh()
	h.showDetail()
	h.storeCall(func(ctx context.Context) error { return h.cfg.History.Delete(ctx, k) })
}

// showDetail fills the right pane with the selected message.
func (h *HistoryWindow) showDetail() {
	if h.selected < 0 || h.selected >= len(h.rows) {
		h.detail.Objects = []fyne.CanvasObject{widget.NewLabel(T("history.noselection"))}
		h.detail.Refresh()
		return
	}
	e := h.rows[h.selected]
	title := widget.NewLabel(oneLine(e.Title))
	title.TextStyle.Bold = true
	title.Wrapping = fyne.TextWrapWord
	meta := widget.NewLabel(metaLine(e))
	meta.SizeName = theme.SizeNameCaptionText
	meta.Wrapping = fyne.TextWrapWord

	open := widget.NewButton(T("history.open"), nil)
	if u, ok := SafeURL(e.URL); ok {
		open.OnTapped = func() {
			if err := h.cfg.App.OpenURL(u); err != nil {
				h.cfg.Log.Warn("history: open URL", "err", err)
			}
		}
	} else {
		open.Disable()
	}
	cp := widget.NewButton(T("history.copy"), func() {
		h.cfg.App.Clipboard().SetContent(plainText(e))
	})
	del := widget.NewButton(T("history.delete"), h.deleteSelected)
	h.openBtn, h.copyBtn, h.deleteBtn = open, cp, del
	buttons := container.NewHBox(open, cp, del)
	parts := []fyne.CanvasObject{title, meta, buttons, messageBody(e.Body, e.Markdown)}
	parts = append(parts, extrasObjects(e)...)
	h.detail.Objects = []fyne.CanvasObject{container.NewVBox(parts...)}
	h.detail.Refresh()
}

// extrasObjects shows a message's extras under its body: its tags as ntfy
// does (emoji, then words), its attachment as a link with name and size,
// its "view" actions and a big image (Gotify) as links. Only URLs SafeURL accepts become links;
// nothing remote is loaded.
func extrasObjects(e Entry) []fyne.CanvasObject {
	x := e.Extra
	if x == nil {
		return nil
	}
	var out []fyne.CanvasObject
	emojis, words := notifier.TagParts(x.Tags)
	if tags := strings.TrimSpace(emojis + " " + strings.Join(words, ", ")); tags != "" {
		l := widget.NewLabel(T("history.tags", map[string]any{"Tags": tags}))
		l.Wrapping = fyne.TextWrapWord
		out = append(out, l)
	}
	link := func(text, raw string) fyne.CanvasObject {
		text = oneLine(text)
		if u, ok := SafeURL(raw); ok {
			return widget.NewHyperlink(text, u)
		}
		return widget.NewLabel(text)
	}
	if a := x.Attachment; a != nil && a.Name+a.URL != "" {
		name := a.Name
		if name == "" {
			name = T("history.attachment")
		}
		if a.Size > 0 {
			name += " (" + notifier.FormatSize(a.Size) + ")"
		}
		out = append(out, link("📎 "+name, a.URL))
	}
	for _, act := range x.Actions {
		if act.Kind == "view" && act.Label != "" {
			out = append(out, link(act.Label, act.URL))
		}
	}
	if x.Image != "" { // a link, never loaded
		out = append(out, link(T("history.image.link"), x.Image))
	}
	return out
}

// metaLine is "source · time · priority" for the detail pane.
func metaLine(e Entry) string {
	return T("history.meta", map[string]any{
		"Source":   oneLine(e.Source),
		"Time":     e.Sent.Local().Format("2006-01-02 15:04:05"),
		"Priority": priorityName(int(e.Priority)),
	})
}

func priorityName(p int) string {
	if p < 1 || p > 5 {
		p = 3
	}
	return T("priority." + string(rune('0'+p)))
}
