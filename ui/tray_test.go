package ui

import (
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tidings-app/tidings/sanitize"

	"fyne.io/fyne/v2"

	"github.com/tidings-app/tidings/conn"
	"github.com/tidings-app/tidings/internal/testkit"
)

func menuLabels(m *fyne.Menu) []string {
	var out []string
	for _, it := range m.Items {
		switch {
		case it.IsSeparator:
			out = append(out, "---")
		case it.Checked:
			out = append(out, "[x] "+it.Label)
		default:
			out = append(out, it.Label)
		}
	}
	return out
}

func findItem(t *testing.T, m *fyne.Menu, label string) *fyne.MenuItem {
	t.Helper()
	for _, it := range m.Items {
		if it.Label == label {
			return it
		}
	}
	t.Fatalf("no item %q in %q", label, menuLabels(m))
	return nil
}

func TestTrayMenuShowsEachConnectionState(t *testing.T) {
	useLanguage(t, LangEnglish)
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name       string
		status     Status
		first      string
		actionable bool
		last       string
	}{
		{"connected", Status{State: StateConnected, Server: "push.example.com"}, "Connected to push.example.com", false, "Log out"},
		{"connecting", Status{State: StateConnecting, Server: "push.example.com"}, "Connecting to push.example.com…", false, "Log out"},
		{"reconnecting", Status{State: StateReconnecting, Attempt: 3, NextRetry: now.Add(7500 * time.Millisecond)}, "Reconnecting in 8 s (attempt 3)", false, "Log out"},
		{"retry due", Status{State: StateReconnecting, Attempt: 4, NextRetry: now.Add(-time.Second)}, "Reconnecting in 0 s (attempt 4)", false, "Log out"},
		{"offline", Status{State: StateOffline}, "Offline — Reconnect now", true, "Log out"},
		{"auth failed", Status{State: StateAuthFailed}, "Log in needed", true, "Log in…"},
		{"stopped", Status{State: StateStopped}, "Log in needed", true, "Log in…"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := BuildTrayMenu(TraySnapshot{Status: c.status, Now: now}, TrayActions{})
			labels := menuLabels(m)
			if labels[0] != c.first {
				t.Errorf("status line = %q, want %q", labels[0], c.first)
			}
			if m.Items[0].Disabled == c.actionable {
				t.Errorf("status line disabled = %v", m.Items[0].Disabled)
			}
			// The account item comes just before our own Quit, which
			// must be marked so Fyne neither adds a second one nor
			// leaves it without an action.
			if got := labels[len(labels)-3]; got != c.last {
				t.Errorf("item before Quit = %q, want %q", got, c.last)
			}
			if quit := m.Items[len(m.Items)-1]; quit.Label != "Quit" || !quit.IsQuit {
				t.Errorf("last item = %q (IsQuit %v), want Quit", quit.Label, quit.IsQuit)
			}
		})
	}
}

func TestTrayMenuListsFiveRecentMessagesAndTheToggles(t *testing.T) {
	useLanguage(t, LangEnglish)
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	h := newFakeHistory(8)
	recent, _, _ := h.Page(t.Context(), "", "", 8)
	recent[1].Read = true
	recent[2].Title = "line one\nline two\tand a very long tail that goes on and on and on"
	opened := []Entry{}
	var paused time.Duration
	m := BuildTrayMenu(TraySnapshot{
		Status: Status{State: StateConnected, Server: "s"}, Recent: recent, Unread: 7,
		PausedUntil: time.Time{}, DND: true, StartAtLogin: true, Now: now,
	}, TrayActions{OpenMessage: func(e Entry) { opened = append(opened, e) }, Pause: func(d time.Duration) { paused = d }})
	want := []string{
		"Connected to s", "---",
		"● Message 7", "   Message 6", "● line one line two and a very long tail that goe…", "● Message 4", "● Message 3", "---",
		"Open history", "Pause notifications for 1 h", "[x] Do not disturb", "Reconnect now", "---",
		"Settings…", "[x] Start at login", "Log out", "---", "Quit",
	}
	got := menuLabels(m)
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("menu\n got %q\nwant %q", got, want)
	}
	m.Items[3].Action()
	if len(opened) != 1 || opened[0].ID != "6" {
		t.Fatalf("clicking the second message opened %+v", opened)
	}
	findItem(t, m, "Pause notifications for 1 h").Action()
	if paused != time.Hour {
		t.Fatalf("paused for %v", paused)
	}

	m = BuildTrayMenu(TraySnapshot{Status: Status{State: StateConnected}, PausedUntil: now.Add(30 * time.Minute), Now: now}, TrayActions{})
	want = []string{"No messages yet", "Resume notifications (paused until " + now.Add(30*time.Minute).Local().Format("15:04") + ")", "Do not disturb", "Start at login"}
	for _, w := range want {
		findItem(t, m, w)
	}
}

func TestTrayMenuIsTranslated(t *testing.T) {
	useLanguage(t, LangChinese)
	m := BuildTrayMenu(TraySnapshot{Status: Status{State: StateReconnecting, Attempt: 3, NextRetry: time.Unix(8, 0)}, Now: time.Unix(0, 0)}, TrayActions{})
	if got := m.Items[0].Label; got != "8 秒后重新连接（第 3 次尝试）" {
		t.Fatalf("status = %q", got)
	}
	findItem(t, m, "打开历史消息")
	findItem(t, m, "退出登录")
}

func TestTrayIconFollowsStateAndUnread(t *testing.T) {
	cases := []struct {
		s      State
		unread int
		want   fyne.Resource
	}{
		{StateConnected, 0, iconConnected},
		{StateConnected, 3, iconUnread},
		{StateConnecting, 3, iconOffline},
		{StateReconnecting, 0, iconOffline},
		{StateOffline, 9, iconOffline},
		{StateAuthFailed, 0, iconNeedsLogin},
		{StateStopped, 2, iconNeedsLogin},
	}
	for _, c := range cases {
		if got := TrayIcon(c.s, c.unread); got != c.want {
			t.Errorf("%v with %d unread: icon %s, want %s", c.s, c.unread, got.Name(), c.want.Name())
		}
	}
}

func TestABurstOfTenThousandChangesCausesABoundedNumberOfTrayRefreshes(t *testing.T) {
	useLanguage(t, LangEnglish)
	q := installUIQueue(t)
	testkit.NoLeaks(t)
	desk := &fakeDesk{}
	h := newFakeHistory(0)
	const interval = 20 * time.Millisecond
	tr := NewTray(TrayConfig{Desk: desk, History: h, Settings: &fakeSettings{}, Interval: interval})
	cancel := h.Subscribe(tr.Changed)

	// At least 10 000 changes, spread over at least ten intervals so the
	// coalescer has to refresh during the burst too, not only after it.
	start := time.Now()
	changes := 0
	for changes < 10000 || time.Since(start) < 10*interval {
		if changes%2 == 0 {
			h.add(Entry{Message: conn.Message{Server: "s", ID: strconv.Itoa(changes), Title: "burst"}})
		} else {
			tr.SetStatus(Status{State: StateConnected, Server: "s"})
		}
		changes++
		if changes%64 == 0 {
			q.drain() // the UI goroutine keeps up meanwhile
		}
	}
	elapsed := time.Since(start)
	// The last change is always shown: wait for a menu with the unread icon.
	q.until(t, "the final refresh", func() bool {
		_, _, m, icon := desk.state()
		return m != nil && icon == iconUnread && strings.HasPrefix(m.Items[2].Label, "● burst")
	})
	cancel()
	tr.Close()
	q.drain()
	menus, icons, _, _ := desk.state()
	// One refresh per interval while the burst lasted, plus the first and the last.
	bound := int(elapsed/interval) + 3
	t.Logf("%d changes in %v: %d menu updates, %d icon updates (bound %d)", changes, elapsed, menus, icons, bound)
	if menus > bound {
		t.Fatalf("%d menu updates for a burst of %v, bound %d", menus, elapsed, bound)
	}
	if icons > 2 {
		t.Fatalf("icon set %d times; it only changed once", icons)
	}
}

func TestTrayCountsDownWhileReconnecting(t *testing.T) {
	useLanguage(t, LangEnglish)
	q := installUIQueue(t)
	desk := &fakeDesk{}
	now := time.Now()
	clock := func() time.Time { return now }
	tr := NewTray(TrayConfig{Desk: desk, Interval: time.Millisecond, Tick: 10 * time.Millisecond, Now: clock})
	defer tr.Close()
	tr.SetStatus(Status{State: StateReconnecting, Attempt: 2, NextRetry: now.Add(3 * time.Second)})
	q.until(t, "the reconnecting line", func() bool {
		_, _, m, _ := desk.state()
		return m != nil && m.Items[0].Label == "Reconnecting in 3 s (attempt 2)"
	})
	n := tr.refreshes()
	// No new status arrives, yet the menu refreshes itself every Tick.
	q.until(t, "a countdown refresh", func() bool { return tr.refreshes() > n })
}

func TestTrayMenuStatesEachLastingProblemUnderTheStatusLine(t *testing.T) {
	cases := []struct {
		lang, status string
		warn         Warning
		text         string
	}{
		{LangEnglish, "Connected to s", WarnNotSaving, "Messages are not being saved — check free space and the data folder"},
		{LangChinese, "已连接到 s", WarnNotSaving, "消息未能保存 — 请检查磁盘空间和数据文件夹"},
		{LangEnglish, "Connected to s", WarnNoKeyring, "Login not remembered — no system keyring"},
		{LangChinese, "已连接到 s", WarnNoKeyring, "登录不会被记住 — 没有系统密钥环"},
		{LangEnglish, "Connected to s", WarnSettingsNotSaved, "Settings not saved — the next start asks you to log in"},
		{LangChinese, "已连接到 s", WarnSettingsNotSaved, "设置未能保存 — 下次启动需要重新登录"},
	}
	for _, c := range cases {
		t.Run(c.lang+"/"+c.text, func(t *testing.T) {
			useLanguage(t, c.lang)
			snap := TraySnapshot{Status: Status{State: StateConnected, Server: "s"}, Warnings: []Warning{c.warn}, Now: time.Unix(0, 0)}
			got := menuLabels(BuildTrayMenu(snap, TrayActions{}))
			if got[0] != c.status || got[1] != c.text || got[2] != "---" {
				t.Fatalf("menu starts %q, want %q, %q, ---", got[:3], c.status, c.text)
			}
			if !BuildTrayMenu(snap, TrayActions{}).Items[1].Disabled {
				t.Fatal("the warning is clickable")
			}
			snap.Warnings = nil
			if got := menuLabels(BuildTrayMenu(snap, TrayActions{})); got[1] != "---" {
				t.Fatalf("warning shown while there is no problem: %q", got[:2])
			}
		})
	}
}

// FuzzTrayLabels checks that no message text can break the tray menu: a
// NUL made dbusmenu's GetLayout fail, a newline could fake an item, a bidi
// override reversed the label.
func FuzzTrayLabels(f *testing.F) {
	for _, s := range []string{"evil\x00title", "\u202Eedirrevo\u202C", "line\nQuit", "\xff\xfe", strings.Repeat("界", 80), "\x1b[31m"} {
		f.Add(s, s)
	}
	useLanguage(f, LangEnglish)
	f.Fuzz(func(t *testing.T, title, body string) {
		m := BuildTrayMenu(TraySnapshot{Status: Status{State: StateConnected, Server: title},
			Recent: []Entry{{Message: conn.Message{Title: title, Body: body}}, {Message: conn.Message{Body: body}, Read: true}}},
			TrayActions{})
		for _, it := range m.Items {
			l := it.Label
			if !utf8.ValidString(l) || strings.ContainsAny(l, "\n\r") {
				t.Fatalf("label %q is not one valid line", l)
			}
			for _, r := range l {
				if unicode.IsControl(r) || sanitize.IsBidiControl(r) {
					t.Fatalf("label %q carries %U", l, r)
				}
			}
		}
		for _, it := range m.Items[2:4] {
			if n := utf8.RuneCountInString(it.Label); n > 3+48 {
				t.Fatalf("recent label has %d runes: %q", n, it.Label)
			}
		}
	})
}
