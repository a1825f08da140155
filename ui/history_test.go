package ui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/canvas"

	"github.com/tidings-app/tidings/sanitize"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/tidings-app/tidings/conn"
)

type historyFixture struct {
	q     *uiQueue
	app   fyne.App
	store *fakeHistory
	win   *HistoryWindow
}

func newHistoryFixture(t *testing.T, lang string, rows int) *historyFixture {
	t.Helper()
	useLanguage(t, lang)
	f := &historyFixture{q: installUIQueue(t), app: test.NewTempApp(t), store: newFakeHistory(rows)}
	f.win = NewHistoryWindow(HistoryConfig{
		App: f.app, History: f.store, PageSize: 50,
		Debounce: 5 * time.Millisecond, Interval: 5 * time.Millisecond,
	})
	f.win.Show()
	t.Cleanup(f.win.Close)
	f.settle(t)
	return f
}

// settle waits until no page is on its way.
func (f *historyFixture) settle(t *testing.T) {
	t.Helper()
	f.q.until(t, "the history pages", func() bool { return !f.win.loading })
}

func titles(rows []Entry) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r.Title)
	}
	return out
}

func TestOpeningTheHistoryWithAHundredThousandMessagesLoadsOnePage(t *testing.T) {
	f := newHistoryFixture(t, LangEnglish, 100_000)
	pages, served, _ := f.store.stats()
	if len(f.win.rows) != 50 || served > 100 || pages > 2 {
		t.Fatalf("opening loaded %d rows in %d queries (%d served)", len(f.win.rows), pages, served)
	}
	if f.win.rows[0].Title != "Message 99999" || f.win.rows[49].Title != "Message 99950" {
		t.Fatalf("not newest first: %q … %q", f.win.rows[0].Title, f.win.rows[49].Title)
	}
	if f.win.list.Length() != 51 {
		t.Fatalf("list length %d, want the loaded rows plus a loading row", f.win.list.Length())
	}
	// Scrolling to the end loads the next pages, one at a time.
	for want := 100; want <= 200; want += 50 {
		f.win.list.ScrollToBottom()
		f.q.until(t, fmt.Sprintf("%d rows", want), func() bool { return len(f.win.rows) >= want && !f.win.loading })
	}
	_, served, _ = f.store.stats()
	if served > 300 {
		t.Fatalf("scrolling three pages served %d rows", served)
	}
	if f.win.rows[199].Title != "Message 99800" {
		t.Fatalf("row 199 = %q", f.win.rows[199].Title)
	}
}

func TestSearchIsDebouncedAndShowsMatchesNewestFirst(t *testing.T) {
	f := newHistoryFixture(t, LangEnglish, 100_000)
	pagesBefore, _, _ := f.store.stats()
	test.Type(f.win.search, "message 4242")
	f.q.until(t, "the search", func() bool { return f.win.query == "message 4242" && !f.win.loading })
	pages, _, _ := f.store.stats()
	if pages-pagesBefore > 2 {
		t.Fatalf("typing 12 characters ran %d queries", pages-pagesBefore)
	}
	got := titles(f.win.rows)
	if len(got) != 11 || got[0] != "Message 42429" || got[10] != "Message 4242" {
		t.Fatalf("search rows %q", got)
	}
	if f.win.more || f.win.list.Length() != 11 {
		t.Fatalf("more=%v length=%d", f.win.more, f.win.list.Length())
	}
	f.win.search.SetText("no such thing")
	f.q.until(t, "the empty search", func() bool { return f.win.query == "no such thing" && !f.win.loading })
	if len(f.win.rows) != 0 || f.win.list.Length() != 1 {
		t.Fatalf("empty search: %d rows, length %d", len(f.win.rows), f.win.list.Length())
	}
}

func TestSelectingAMessageMarksItReadAndMarkAllReadMarksTheRest(t *testing.T) {
	f := newHistoryFixture(t, LangEnglish, 20)
	f.win.list.Select(1)
	f.q.until(t, "the store to mark it read", func() bool { return f.store.get(1).Read })
	if f.store.get(0).Read || f.store.get(2).Read {
		t.Fatal("other messages marked read")
	}
	f.q.until(t, "the reload", func() bool { return !f.win.loading && f.win.rows[1].Read })
	if n, _ := f.store.Unread(t.Context()); n != 19 {
		t.Fatalf("unread = %d", n)
	}
	// The detail pane shows the message with its metadata.
	if !strings.Contains(test.RenderObjectToMarkup(f.win.detail), "Body of message 18") {
		t.Fatal("detail pane does not show the body")
	}
	test.Tap(f.win.markAll)
	f.q.until(t, "all read", func() bool { n, _ := f.store.Unread(t.Context()); return n == 0 })
}

func TestUnreadRowsAreBoldAndReadRowsAreNot(t *testing.T) {
	f := newHistoryFixture(t, LangEnglish, 3)
	_ = f.store.MarkRead(t.Context(), f.store.get(0).Key())
	f.q.until(t, "reload", func() bool { return len(f.win.rows) == 3 && f.win.rows[0].Read && !f.win.loading })
	r := newHistoryRow().(*historyRow)
	r.set(f.win.rows[0], time.Now())
	if r.title.TextStyle.Bold {
		t.Fatal("read row is bold")
	}
	r.set(f.win.rows[1], time.Now())
	if !r.title.TextStyle.Bold {
		t.Fatal("unread row is not bold")
	}
}

func TestNewMessagesAppearAtTheTopAfterAStoreChange(t *testing.T) {
	f := newHistoryFixture(t, LangEnglish, 5)
	pagesBefore, _, _ := f.store.stats()
	start := time.Now()
	for i := range 1000 {
		f.store.add(Entry{Message: conn.Message{Server: "s", ID: fmt.Sprint("n", i), Title: fmt.Sprint("New ", i), Sent: time.Now()}})
	}
	f.q.until(t, "the newest message on top", func() bool {
		return !f.win.loading && len(f.win.rows) > 0 && f.win.rows[0].Title == "New 999"
	})
	elapsed := time.Since(start)
	pages, _, _ := f.store.stats()
	pages -= pagesBefore
	// One reload per Interval (5 ms) while the burst lasts, plus the last.
	bound := int(elapsed/(5*time.Millisecond)) + 3
	t.Logf("1000 store changes in %v: %d page queries (bound %d)", elapsed, pages, bound)
	if pages > bound {
		t.Fatalf("1000 store changes caused %d page queries, bound %d", pages, bound)
	}
}

func TestDeleteAndClearAllAskBeforeClearing(t *testing.T) {
	f := newHistoryFixture(t, LangEnglish, 10)
	f.win.list.Select(0)
	test.Tap(f.win.deleteBtn)
	f.q.until(t, "the delete", func() bool { _, _, n := f.store.stats(); return n == 9 })
	f.q.until(t, "the reload", func() bool { return !f.win.loading && len(f.win.rows) == 9 })
	if f.win.rows[0].Title != "Message 8" {
		t.Fatalf("first row after deleting the newest: %q", f.win.rows[0].Title)
	}

	test.Tap(f.win.clearAll)
	yes := findButton(t, f.win.Window().Canvas(), "Delete all")
	if _, _, n := f.store.stats(); n != 9 {
		t.Fatal("cleared before the confirmation")
	}
	test.Tap(yes)
	f.q.until(t, "the clear", func() bool { _, _, n := f.store.stats(); return n == 0 })
	f.q.until(t, "the reload", func() bool { return !f.win.loading })
	if len(f.win.rows) != 0 {
		t.Fatalf("%d rows after clearing", len(f.win.rows))
	}
}

func TestOpenLinkOnlyForHTTPAndCopyPutsTheTextOnTheClipboard(t *testing.T) {
	f := newHistoryFixture(t, LangEnglish, 0)
	f.store.add(Entry{Message: conn.Message{Server: "s", ID: "evil", Title: "Evil", Body: "b", URL: "javascript:alert(1)"}})
	f.store.add(Entry{Message: conn.Message{Server: "s", ID: "good", Title: "Good", Body: "see link", URL: "https://example.com/x"}})
	f.q.until(t, "rows", func() bool { return !f.win.loading && len(f.win.rows) == 2 })
	f.win.list.Select(0)
	if f.win.openBtn.Disabled() {
		t.Fatal("https link cannot be opened")
	}
	test.Tap(f.win.copyBtn)
	if got := f.app.Clipboard().Content(); got != "Good\n\nsee link" {
		t.Fatalf("clipboard = %q", got)
	}
	f.win.list.Select(1)
	if !f.win.openBtn.Disabled() {
		t.Fatal("javascript: link can be opened")
	}
}

func TestSafeURLAcceptsOnlyHTTPAndHTTPS(t *testing.T) {
	for raw, want := range map[string]bool{
		"https://example.com/a?b": true, "http://example.com": true, "HTTPS://EXAMPLE.COM": true,
		"javascript:alert(1)": false, "file:///etc/passwd": false, "https:///nohost": false,
		"": false, "example.com": false, "data:text/html,x": false, "ftp://example.com": false,
		"https://user@example.com/": false, "https://u:p@example.com/": false, "https://exa mple.com/": false,
		"https://example.com/\u202Egnp.exe": false,
	} {
		if _, got := SafeURL(raw); got != want {
			t.Errorf("SafeURL(%q) = %v, want %v", raw, got, want)
		}
	}
}

func TestMarkdownIsRenderedWithoutImagesOrUnsafeLinks(t *testing.T) {
	useLanguage(t, LangEnglish)
	body := "# Build\nHello **world** ![chart](https://tracker.example/pixel.png \"Chart\")\n\n" +
		"* [bad](javascript:alert(1))\n* [good](https://example.com)\n\n| a | b |\n|---|---|\n| ![x](http://x/y.png) | c |\n"
	rt := messageBody(body, true)
	var images, links int
	var texts []string
	var walk func([]widget.RichTextSegment)
	walk = func(segs []widget.RichTextSegment) {
		for _, s := range segs {
			switch s := s.(type) {
			case *widget.ImageSegment:
				images++
			case *widget.HyperlinkSegment:
				links++
				if s.URL.Scheme != "https" {
					t.Errorf("link to %s kept", s.URL)
				}
			case *widget.TextSegment:
				texts = append(texts, s.Text)
			case *widget.ParagraphSegment:
				walk(s.Texts)
			case *widget.ListSegment:
				walk(s.Items)
			case *widget.TableSegment:
				for _, r := range s.Headers {
					walk(r)
				}
				for _, r := range s.Rows {
					for _, c := range r {
						walk(c)
					}
				}
			}
		}
	}
	walk(rt.Segments)
	all := strings.Join(texts, "|")
	if images != 0 || links != 1 {
		t.Fatalf("%d images and %d links left; texts %q", images, links, all)
	}
	for _, want := range []string{"world", "[image: Chart]", "[image]", "bad"} {
		if !strings.Contains(all, want) {
			t.Errorf("text %q missing from %q", want, all)
		}
	}
	plain := messageBody("**not markdown** ![x](http://x/y.png)", false)
	if len(plain.Segments) != 1 || plain.Segments[0].(*widget.TextSegment).Text != "**not markdown** ![x](http://x/y.png)" {
		t.Fatalf("plain body changed: %+v", plain.Segments)
	}
}

// findButton finds a visible button with the given text on the canvas,
// overlays (dialogs) included.
func findButton(t *testing.T, c fyne.Canvas, text string) *widget.Button {
	t.Helper()
	roots := append([]fyne.CanvasObject{c.Content()}, c.Overlays().List()...)
	for _, r := range roots {
		for _, o := range test.LaidOutObjects(r) {
			if b, ok := o.(*widget.Button); ok && b.Text == text && b.Visible() {
				return b
			}
		}
	}
	t.Fatalf("no button %q", text)
	return nil
}

func TestListPreviewOfMarkdownIsPlainText(t *testing.T) {
	useLanguage(t, LangEnglish)
	got := previewText("**main** is red: `go test` failed\n\n![g](https://x/g.png)\n\n[Open](https://ci.example/1)", true)
	if got != "main is red: go test failed [image] Open" {
		t.Fatalf("preview = %q", got)
	}
	if got := previewText("a\n**b**", false); got != "a **b**" {
		t.Fatalf("plain preview = %q", got)
	}
}

// drawnTexts is every string the window's canvas draws.
func drawnTexts(c fyne.Canvas) []string {
	var out []string
	for _, o := range test.LaidOutObjects(c.Content()) {
		if t, ok := o.(*canvas.Text); ok && o.Visible() {
			out = append(out, t.Text)
		}
	}
	return out
}

func TestTheHistoryWindowDrawsHostileTextThroughThePopupsSanitizing(t *testing.T) {
	f := newHistoryFixture(t, LangEnglish, 0)
	f.store.add(Entry{Message: conn.Message{Server: "s", ID: "evil", Source: "a\u202Epp\x07",
		Title: "\u202Eedirrevo\u202C \x00bell\x07 esc\x1b[31m", Body: "line\x00one\r\n\u2066two\u2069 \x1b[0m",
		URL: "https://user@evil.example/"}})
	f.q.until(t, "rows", func() bool { return !f.win.loading && len(f.win.rows) == 1 })
	f.win.list.Select(0)
	drawn := strings.Join(drawnTexts(f.win.Window().Canvas()), "|")
	for _, r := range drawn {
		if r < 0x20 || r == 0x7f || sanitize.IsBidiControl(r) {
			t.Fatalf("the window draws %U: %q", r, drawn)
		}
	}
	for _, want := range []string{"edirrevo bell esc[31m", "app", "lineone", "two [0m"} {
		if !strings.Contains(drawn, want) {
			t.Errorf("the window does not draw %q: %q", want, drawn)
		}
	}
	if !f.win.openBtn.Disabled() {
		t.Error("a link with user information can be opened from the history; the popup refuses it")
	}
}

// Issue 21.4: tags, attachments and view actions reach the history window.
func TestTheHistoryShowsTagsTheAttachmentAndViewActionsAsSafeLinks(t *testing.T) {
	f := newHistoryFixture(t, LangEnglish, 0)
	f.store.add(Entry{Message: conn.Message{Server: "s", ID: "x", Title: "Disk", Body: "full", Extra: &conn.Extra{
		Tags:       []string{"warning", "nas"},
		Attachment: &conn.Attachment{Name: "df.txt", URL: "https://ntfy.example/file/df.txt", Size: 1500},
		Actions:    []conn.Action{{Kind: "view", Label: "Open Grafana", URL: "https://grafana.example/d"}, {Kind: "view", Label: "Evil", URL: "javascript:alert(1)"}},
		Image:      "https://img.example/chart.png",
	}}})
	f.q.until(t, "rows", func() bool { return !f.win.loading && len(f.win.rows) == 1 })
	f.win.list.Select(0)
	drawn := strings.Join(drawnTexts(f.win.Window().Canvas()), "|")
	for _, want := range []string{"Tags: ⚠️ nas", "📎 df.txt (1.5 KB)", "Open Grafana", "Evil"} {
		if !strings.Contains(drawn, want) {
			t.Errorf("the detail does not draw %q: %q", want, drawn)
		}
	}
	links := map[string]string{}
	for _, o := range test.LaidOutObjects(f.win.Window().Canvas().Content()) {
		if h, ok := o.(*widget.Hyperlink); ok {
			links[h.Text] = h.URL.String()
		}
	}
	if links["📎 df.txt (1.5 KB)"] != "https://ntfy.example/file/df.txt" || links["Open Grafana"] != "https://grafana.example/d" ||
		links["Image (not loaded)"] != "https://img.example/chart.png" {
		t.Errorf("links %v", links)
	}
	if _, ok := links["Evil"]; ok {
		t.Error("a javascript: action became a link")
	}
}
