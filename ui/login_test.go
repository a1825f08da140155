package ui

import (
	"fmt"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
)

type loginFixture struct {
	q    *uiQueue
	acc  *fakeAccounts
	win  *LoginWindow
	done []LoginRequest
}

func newLoginFixture(t *testing.T, lang string) *loginFixture {
	t.Helper()
	useLanguage(t, lang)
	a := test.NewTempApp(t)
	f := &loginFixture{q: installUIQueue(t), acc: &fakeAccounts{user: "alice", password: "correct horse"}}
	f.win = NewLoginWindow(LoginConfig{App: a, Accounts: f.acc, OnSuccess: func(r LoginRequest) { f.done = append(f.done, r) }})
	f.win.Show()
	t.Cleanup(func() { f.win.Window().Close() })
	return f
}

func (f *loginFixture) fill(url, user, password string) {
	test.Type(f.win.url, url)
	test.Type(f.win.user, user)
	test.Type(f.win.password, password)
}

func (f *loginFixture) waitIdle(t *testing.T) {
	t.Helper()
	f.q.until(t, "the login attempt to finish", func() bool { return !f.win.working })
}

func TestLoginWithTheRightPasswordClosesTheWindowAndReportsSuccess(t *testing.T) {
	f := newLoginFixture(t, LangEnglish)
	f.fill("https://push.example.com", "alice", "correct horse")
	test.Tap(f.win.button)
	if !f.win.button.Disabled() || f.win.button.Text != "Logging in…" {
		t.Fatalf("button while working: disabled=%v text=%q", f.win.button.Disabled(), f.win.button.Text)
	}
	f.waitIdle(t)
	if len(f.done) != 1 {
		t.Fatalf("OnSuccess called %d times", len(f.done))
	}
	r := f.done[0]
	if r.URL != "https://push.example.com" || r.User != "alice" || r.Password.Reveal() != "correct horse" || r.Protocol != ProtocolTidings || !r.Remember {
		t.Fatalf("request = %+v", r)
	}
	if f.win.Window().Content().Visible() && f.win.password.Text != "" {
		t.Fatal("password kept in the form after success")
	}
	if s := fmt.Sprintf("%v %+v %#v", r, r, r); strings.Contains(s, "correct horse") {
		t.Fatalf("password printed: %s", s)
	}
}

func TestWrongPasswordShowsTheSentenceAndReenablesTheButton(t *testing.T) {
	f := newLoginFixture(t, LangEnglish)
	f.fill("https://push.example.com", "alice", "wrong")
	test.Tap(f.win.button)
	f.waitIdle(t)
	if !f.win.errLabel.Visible() || f.win.errLabel.Text != "Wrong username or password." {
		t.Fatalf("error line = %q (visible %v)", f.win.errLabel.Text, f.win.errLabel.Visible())
	}
	if f.win.button.Disabled() || f.win.button.Text != "Log in" {
		t.Fatalf("button after failure: disabled=%v text=%q", f.win.button.Disabled(), f.win.button.Text)
	}
	if len(f.done) != 0 {
		t.Fatal("OnSuccess called after a failure")
	}
	if got := f.win.Window().Canvas().Focused(); got != f.win.password {
		t.Fatalf("focus after failure on %T, want the password", got)
	}
	// A second try with the right password works from the same window.
	f.win.password.SetText("correct horse")
	test.Tap(f.win.button)
	f.waitIdle(t)
	if len(f.done) != 1 || f.win.errLabel.Visible() {
		t.Fatalf("second try: done=%d error visible=%v", len(f.done), f.win.errLabel.Visible())
	}
}

func TestUnreachableServerShowsWhyAndEnterSubmits(t *testing.T) {
	f := newLoginFixture(t, LangEnglish)
	f.fill("https://unreachable.invalid", "alice", "correct horse")
	f.win.password.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	f.waitIdle(t)
	if f.acc.callCount() != 1 {
		t.Fatalf("Enter made %d login calls", f.acc.callCount())
	}
	if f.win.errLabel.Text != "The server cannot be reached." || f.win.button.Disabled() {
		t.Fatalf("error %q, button disabled %v", f.win.errLabel.Text, f.win.button.Disabled())
	}
}

func TestLoginButtonIgnoresTapsWhileWorking(t *testing.T) {
	f := newLoginFixture(t, LangEnglish)
	f.acc.gate = make(chan struct{})
	f.fill("https://push.example.com", "alice", "correct horse")
	test.Tap(f.win.button)
	f.win.password.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	f.win.submit()
	close(f.acc.gate)
	f.waitIdle(t)
	if n := f.acc.callCount(); n != 1 {
		t.Fatalf("%d login calls while one was running", n)
	}
}

func TestMissingFieldsAreExplainedWithoutCallingTheServer(t *testing.T) {
	cases := []struct {
		name, url, user, password, want string
	}{
		{"no server", "", "alice", "pw", "Enter the server address."},
		{"no user", "https://s", "", "pw", "Enter your username."},
		{"no password", "https://s", "alice", "", "Enter your password."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newLoginFixture(t, LangEnglish)
			f.fill(c.url, c.user, c.password)
			test.Tap(f.win.button)
			if f.win.errLabel.Text != c.want || f.acc.callCount() != 0 {
				t.Fatalf("error %q, calls %d", f.win.errLabel.Text, f.acc.callCount())
			}
		})
	}
}

func TestTokenToggleAndNtfyTopicsShowTheRightFields(t *testing.T) {
	f := newLoginFixture(t, LangEnglish)
	if f.win.topicsBox.Visible() || f.win.tokenBox.Visible() || !f.win.userBox.Visible() {
		t.Fatal("initial form shows the wrong fields")
	}
	f.win.protocol.SetSelected("ntfy")
	if !f.win.topicsBox.Visible() {
		t.Fatal("ntfy shows no topics entry")
	}
	test.Tap(f.win.useToken)
	if !f.win.tokenBox.Visible() || f.win.userBox.Visible() {
		t.Fatal("token toggle did not swap the fields")
	}
	test.Type(f.win.url, "https://ntfy.example.com")
	test.Type(f.win.topics, "alerts, backups")
	test.Type(f.win.token, "tok")
	test.Tap(f.win.button)
	f.waitIdle(t)
	if len(f.done) != 1 {
		t.Fatalf("token login failed: %q", f.win.errLabel.Text)
	}
	r := f.done[0]
	if r.Protocol != ProtocolNtfy || strings.Join(r.Topics, ",") != "alerts,backups" || r.Token.Reveal() != "tok" || r.User != "" || !r.Password.Empty() {
		t.Fatalf("request = %+v topics %v", r, r.Topics)
	}
}

// Issue 21.5: with "use a token" ticked and the token left empty, the
// window said "Enter your username", a field it had hidden.
func TestAnEmptyTokenAsksForTheTokenAndSwitchingModesClearsTheSentence(t *testing.T) {
	f := newLoginFixture(t, LangEnglish)
	test.Type(f.win.url, "https://push.example.com")
	test.Tap(f.win.useToken)
	test.Tap(f.win.button)
	if want := "Paste your token, or untick \u201cUse a token instead\u201d to log in with your user name and password."; f.win.errLabel.Text != want || f.acc.callCount() != 0 {
		t.Fatalf("error %q, calls %d", f.win.errLabel.Text, f.acc.callCount())
	}
	test.Tap(f.win.useToken)
	if f.win.errLabel.Visible() {
		t.Fatalf("the token sentence stays after switching to the password: %q", f.win.errLabel.Text)
	}
}

// Issue 21.5: the http:// sentence asked to "confirm that you accept the
// risk" and nothing in the window could.
func TestAPlainHTTPAddressOffersTheExplicitChoiceAndSendsIt(t *testing.T) {
	f := newLoginFixture(t, LangEnglish)
	if f.win.insecure.Visible() {
		t.Fatal("the http:// choice shows for an empty address")
	}
	f.fill("https://push.example.com", "alice", "wrong")
	if f.win.insecure.Visible() {
		t.Fatal("the http:// choice shows for https://")
	}
	f.win.url.SetText("HTTP://push.example.com")
	if !f.win.insecure.Visible() {
		t.Fatal("no http:// choice for an http:// address")
	}
	test.Tap(f.win.button) // refused: not ticked is not sent as allowed
	f.waitIdle(t)
	test.Tap(f.win.insecure)
	f.win.password.SetText("correct horse")
	test.Tap(f.win.button)
	f.waitIdle(t)
	calls := f.acc.requests()
	if len(calls) != 2 || calls[0].AllowInsecure || !calls[1].AllowInsecure {
		t.Fatalf("AllowInsecure sent as %v", allowed(calls))
	}
}

func allowed(rs []LoginRequest) []bool {
	var out []bool
	for _, r := range rs {
		out = append(out, r.AllowInsecure)
	}
	return out
}

func TestFocusMovesDownTheFormInReadingOrder(t *testing.T) {
	f := newLoginFixture(t, LangEnglish)
	c := f.win.Window().Canvas()
	c.Focus(f.win.url)
	want := []fyne.Focusable{f.win.protocol, f.win.user, f.win.password, f.win.useToken, f.win.remember, f.win.button}
	for i, w := range want {
		c.FocusNext()
		if c.Focused() != w {
			t.Fatalf("step %d: focus on %T, want %T", i+1, c.Focused(), w)
		}
	}
}

func TestShowFocusesTheFirstEmptyField(t *testing.T) {
	f := newLoginFixture(t, LangEnglish)
	if f.win.Window().Canvas().Focused() != f.win.url {
		t.Fatal("an empty form should start at the server address")
	}
}

func TestAuthFailureShowsTheLoginWindowWithTheReason(t *testing.T) {
	f := newLoginFixture(t, LangChinese)
	f.win.Window().Hide()
	f.win.ShowError(T("login.err.expired"))
	if f.win.errLabel.Text != "服务器不再接受您的登录，请重新登录。" {
		t.Fatalf("error = %q", f.win.errLabel.Text)
	}
	if f.win.button.Text != "登录" {
		t.Fatalf("button = %q", f.win.button.Text)
	}
}
