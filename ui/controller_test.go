package ui

import (
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/tidings-app/tidings/conn"
)

type controllerFixture struct {
	q     *uiQueue
	desk  *fakeDesk
	store *fakeHistory
	set   *fakeSettings
	acc   *fakeAccounts
	con   *fakeConn
	c     *Controller
	now   time.Time
	tap   func() // what a click on the tray icon runs
}

func newControllerFixture(t *testing.T) *controllerFixture {
	t.Helper()
	useLanguage(t, LangEnglish)
	f := &controllerFixture{
		q: installUIQueue(t), desk: &fakeDesk{}, store: newFakeHistory(3), set: &fakeSettings{},
		acc: &fakeAccounts{user: "alice", password: "pw"}, con: &fakeConn{},
		now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC),
	}
	f.c = NewController(Config{
		App: test.NewTempApp(t), Desk: f.desk, Accounts: f.acc, Connection: f.con,
		History: f.store, Settings: f.set, Now: func() time.Time { return f.now },
		TrayInterval: time.Millisecond, HistoryInterval: time.Millisecond,
		SetTrayTapped: func(tap func()) { f.tap = tap },
	})
	t.Cleanup(f.c.Close)
	return f
}

// menu waits for a tray menu whose first line is status.
func (f *controllerFixture) menu(t *testing.T, status string) func(label string) {
	t.Helper()
	f.q.until(t, "menu "+status, func() bool {
		_, _, m, _ := f.desk.state()
		return m != nil && m.Items[0].Label == status
	})
	return func(label string) {
		_, _, m, _ := f.desk.state()
		findItem(t, m, label).Action()
	}
}

func TestWindowsAreBuiltWhenFirstShownAndATrayClickBuildsAndShowsTheHistory(t *testing.T) {
	f := newControllerFixture(t)
	if f.c.History.built || f.c.History.list != nil || f.c.Login.form != nil || f.c.Settings.form != nil {
		t.Fatal("a window was built before it was shown")
	}
	if f.store.subscribers() != 1 {
		t.Fatalf("store subscribers before the history was shown = %d, want 1 (the tray)", f.store.subscribers())
	}
	f.c.SetLanguage(LangChinese) // relocalising unbuilt windows only renames them
	if f.c.History.built || f.c.History.Window().Title() != "Tidings — 历史消息" {
		t.Fatalf("unbuilt history after a language change: built %v, title %q", f.c.History.built, f.c.History.Window().Title())
	}
	f.c.SetLanguage(LangEnglish)
	if f.tap == nil {
		t.Fatal("no tray click handler was set")
	}
	f.tap()
	f.q.until(t, "history shown with its first page", func() bool {
		h := f.c.History
		return h.built && h.Window().Content().Visible() && len(h.rows) == 3
	})
	if f.store.subscribers() != 2 {
		t.Fatalf("store subscribers after the history was shown = %d, want 2", f.store.subscribers())
	}
	if f.c.History.markAll.Text != "Mark all read" {
		t.Fatalf("history built in the wrong language: %q", f.c.History.markAll.Text)
	}
	f.c.Login.ShowError("x")
	if f.c.Login.form == nil || f.c.Login.errLabel.Text != "x" {
		t.Fatal("ShowError did not build the login form")
	}
}

func TestTrayActionsChangeSettingsAndReachTheConnection(t *testing.T) {
	f := newControllerFixture(t)
	f.c.SetStatus(Status{State: StateOffline})
	click := f.menu(t, "Offline — Reconnect now")
	click("Offline — Reconnect now")
	click("Reconnect now")
	if f.con.n != 2 {
		t.Fatalf("reconnects = %d", f.con.n)
	}
	click("Pause notifications for 1 h")
	if got := f.set.Load().PausedUntil; !got.Equal(f.now.Add(time.Hour)) {
		t.Fatalf("paused until %v", got)
	}
	click("Do not disturb")
	click("Start at login")
	if s := f.set.Load(); !s.DoNotDisturb || !s.StartAtLogin {
		t.Fatalf("toggles not saved: %+v", s)
	}
	f.q.until(t, "checked toggles and a resume item", func() bool {
		_, _, m, _ := f.desk.state()
		var dnd, auto, resume bool
		for _, it := range m.Items {
			dnd = dnd || (it.Label == "Do not disturb" && it.Checked)
			auto = auto || (it.Label == "Start at login" && it.Checked)
			resume = resume || it.Label == "Resume notifications (paused until 13:00)"
		}
		return dnd && auto && resume
	})
	click("Resume notifications (paused until 13:00)")
	if !f.set.Load().PausedUntil.IsZero() {
		t.Fatal("resume did not clear the pause")
	}
}

// Issue 21.5: an ntfy topic closed to the account was shown as "no longer
// accepts your login"; the window now says the connection's own reason.
func TestAnAuthFailureWithAReasonShowsThatReason(t *testing.T) {
	f := newControllerFixture(t)
	const reason = "This account has no read access to one of the topics."
	f.c.SetStatus(Status{State: StateAuthFailed, Reason: reason})
	f.q.drain()
	if f.c.Login.errLabel.Text != reason {
		t.Fatalf("login error = %q", f.c.Login.errLabel.Text)
	}
}

func TestAuthFailureShowsLoginAndLogoutLogsOut(t *testing.T) {
	f := newControllerFixture(t)
	f.c.SetStatus(Status{State: StateAuthFailed})
	click := f.menu(t, "Log in needed")
	f.q.drain()
	if f.c.Login.errLabel.Text != "The server no longer accepts your login. Please log in again." {
		t.Fatalf("login error = %q", f.c.Login.errLabel.Text)
	}
	_, _, _, icon := f.desk.state()
	if icon != iconNeedsLogin {
		t.Fatalf("icon %s", icon.Name())
	}
	click("Log in…")
	f.c.SetStatus(Status{State: StateConnected, Server: "push.example.com"})
	click = f.menu(t, "Connected to push.example.com")
	f.q.until(t, "the unread icon", func() bool { _, _, _, i := f.desk.state(); return i == iconUnread })
	click("Log out")
	f.q.until(t, "logout", func() bool { f.acc.mu.Lock(); defer f.acc.mu.Unlock(); return f.acc.logouts == 1 })
}

// Issue 19.11: a revocation the server refused (Gotify 3 answered 403)
// was logged and dropped; the login window now says it.
func TestALogoutTheServerDidNotRevokeIsToldInTheLoginWindow(t *testing.T) {
	f := newControllerFixture(t)
	f.acc.mu.Lock()
	f.acc.logoutErr = errFakeNotRevoked
	f.acc.mu.Unlock()
	f.c.SetStatus(Status{State: StateConnected, Server: "s"})
	click := f.menu(t, "Connected to s")
	click("Log out")
	want := "You are logged out here, but the server could not be told to revoke the login."
	f.q.until(t, "the login window saying so", func() bool { return f.c.Login.errLabel != nil && f.c.Login.errLabel.Text == want })
}

func TestClickingARecentMessageOpensItInTheHistory(t *testing.T) {
	f := newControllerFixture(t)
	f.store.add(Entry{Message: conn.Message{Server: "s", ID: "new", Title: "Fresh news"}})
	f.c.SetStatus(Status{State: StateConnected, Server: "s"})
	click := f.menu(t, "Connected to s")
	f.q.until(t, "the new message in the menu", func() bool {
		_, _, m, _ := f.desk.state()
		return m.Items[2].Label == "● Fresh news"
	})
	click("● Fresh news")
	f.q.until(t, "the message selected and read", func() bool {
		h := f.c.History
		return h.selected == 0 && len(h.rows) > 0 && h.rows[0].ID == "new" && f.store.get(0).Read
	})
}

func TestSwitchingToChineseRebuildsTheWindowsAndTheMenu(t *testing.T) {
	f := newControllerFixture(t)
	f.c.SetStatus(Status{State: StateConnected, Server: "s"})
	f.menu(t, "Connected to s")
	f.c.Login.Show()
	f.c.History.Show()
	if f.c.Login.button.Text != "Log in" || f.c.History.markAll.Text != "Mark all read" {
		t.Fatalf("not built in English first: %q %q", f.c.Login.button.Text, f.c.History.markAll.Text)
	}
	f.c.Settings.Show()
	f.c.Settings.language.SetSelected("简体中文")
	t.Cleanup(func() { _ = SetLanguage(LangEnglish) })
	f.menu(t, "已连接到 s")
	if f.c.Login.button.Text != "登录" || f.c.History.markAll.Text != "全部标为已读" || f.c.Settings.Window().Title() != "Tidings — 设置" {
		t.Fatalf("not rebuilt: %q %q %q", f.c.Login.button.Text, f.c.History.markAll.Text, f.c.Settings.Window().Title())
	}
	if f.set.Load().Language != LangChinese {
		t.Fatal("language not saved")
	}
}
