package ui

import (
	"os"
	"runtime"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/tidings-app/tidings/conn"
)

func TestMain(m *testing.M) {
	// Masters show clock times: render them in one zone everywhere.
	time.Local = time.UTC
	os.Exit(m.Run())
}

var masterLanguages = []struct{ name, choice string }{{"en", LangEnglish}, {"zh", LangChinese}}

// cjkFont is the system font Fyne's fallback found for Chinese when the zh
// masters were made (Debian fonts-droid-fallback, in scripts/deps); the
// default theme has no CJK glyphs, so without it the text is boxes.
const cjkFont = "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"

func needFontFor(t *testing.T, lang string) {
	t.Helper()
	if lang != LangChinese {
		return
	}
	// Fyne's own font has no CJK glyphs: it measures them with a system
	// fallback font, and every OS has its own (Wine has none).
	if runtime.GOOS != "linux" {
		t.Skipf("the masters' Chinese text was measured with Linux's %s; %s falls back to other fonts", cjkFont, runtime.GOOS)
	}
	if _, err := os.Stat(cjkFont); err != nil {
		t.Skipf("the zh masters were drawn with %s (fonts-droid-fallback); run scripts/deps", cjkFont)
	}
}

func TestLoginWindowMatchesItsMasters(t *testing.T) {
	for _, l := range masterLanguages {
		t.Run(l.name, func(t *testing.T) {
			needFontFor(t, l.choice)
			f := newLoginFixture(t, l.choice)
			w := f.win.Window()
			w.Resize(fyne.NewSize(420, 560))
			test.Type(f.win.url, "https://push.example.com")
			test.Type(f.win.user, "alice")
			test.Type(f.win.password, "wrong")
			test.Tap(f.win.button)
			f.waitIdle(t)
			test.AssertRendersToMarkup(t, "login_"+l.name+".xml", w.Canvas())
			test.AssertRendersToImage(t, "login_"+l.name+".png", w.Canvas())
		})
	}
}

func TestHistoryWindowMatchesItsMasters(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 30, 0, 0, time.UTC)
	for _, l := range masterLanguages {
		t.Run(l.name, func(t *testing.T) {
			needFontFor(t, LangChinese) // both languages show Chinese messages
			useLanguage(t, l.choice)
			q := installUIQueue(t)
			store := newFakeHistory(0)
			base := now.Add(-3 * time.Hour)
			msgs := []conn.Message{
				{Title: "Backup finished", Body: "nightly: 12.4 GB in 6 min", Source: "backups", Priority: conn.PriorityDefault, Sent: base.Add(-26 * time.Hour)},
				{Title: "Disk almost full", Body: "/var at 93 %", Source: "alerts", Priority: conn.PriorityHigh, Sent: base},
				{Title: "Build #418 failed", Body: "**main** is red: `go test ./...` failed\n\n![graph](https://ci.example/g.png)\n\n[Open the build](https://ci.example/418)", Markdown: true, Source: "ci", Priority: conn.PriorityUrgent, Sent: base.Add(time.Hour), URL: "https://ci.example/418"},
				{Title: "部署完成", Body: "生产环境已更新到 v2.3.1", Source: "deploy", Priority: conn.PriorityLow, Sent: base.Add(2 * time.Hour)},
			}
			for i, m := range msgs {
				m.Server, m.ID = "https://push.example.com", string(rune('a'+i))
				store.add(Entry{Message: m, Read: i == 0})
			}
			a := test.NewTempApp(t)
			h := NewHistoryWindow(HistoryConfig{App: a, History: store, Interval: time.Millisecond, Now: func() time.Time { return now }})
			t.Cleanup(h.Close)
			h.Show()
			h.Window().Resize(fyne.NewSize(820, 480))
			q.until(t, "rows", func() bool { return !h.loading && len(h.rows) == 4 })
			h.list.Select(1) // the build failure, Markdown with an image
			q.until(t, "mark read", func() bool { return !h.loading && h.rows[1].Read })
			test.AssertRendersToMarkup(t, "history_"+l.name+".xml", h.Window().Canvas())
			test.AssertRendersToImage(t, "history_"+l.name+".png", h.Window().Canvas())
		})
	}
}
