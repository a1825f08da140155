package ui

import (
	"context"
	"errors"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"
)

// LoginConfig configures the login window.
type LoginConfig struct {
	App      fyne.App
	Accounts Accounts
	// Initial pre-fills the form (server, protocol, user; never a secret).
	Initial LoginRequest
	// OnSuccess runs on the UI goroutine after a successful login, after the
	// window closed.
	OnSuccess func(LoginRequest)
	// Timeout bounds one login attempt (default 30 s).
	Timeout time.Duration
}

// errLoginTimeout is what a login attempt that ran out of time fails with
// when the Accounts implementation returns nothing better.
var errLoginTimeout = errors.New("ui: login timed out")

// LoginWindow asks for the server and credentials.
type LoginWindow struct {
	cfg LoginConfig
	win fyne.Window

	url, topics, user, password, token *widget.Entry
	protocol                           *widget.Select
	useToken, remember, insecure       *widget.Check
	topicsBox, userBox, tokenBox       *fyne.Container
	errLabel                           *widget.Label
	form                               *fyne.Container
	button                             *widget.Button
	working                            bool
}

// protocols in the order the select shows them.
var protocols = []Protocol{ProtocolTidings, ProtocolGotify, ProtocolNtfy}

func protocolLabel(p Protocol) string { return T("login.protocol." + string(p)) }

// NewLoginWindow makes the login window, hidden; its form is built when it
// is first shown (see NewHistoryWindow for why).
func NewLoginWindow(cfg LoginConfig) *LoginWindow {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	l := &LoginWindow{cfg: cfg, win: cfg.App.NewWindow(T("login.title"))}
	l.win.SetCloseIntercept(func() { hideWindow(l.win) })
	l.win.Resize(fyne.NewSize(420, 0))
	return l
}

// Window returns the Fyne window.
func (l *LoginWindow) Window() fyne.Window { return l.win }

// Show shows the window and focuses the first empty field.
func (l *LoginWindow) Show() {
	l.ensure()
	showWindow(l.win)
	l.win.RequestFocus()
	for _, e := range []*widget.Entry{l.url, l.user, l.password} {
		if e.Text == "" && e.Visible() {
			l.win.Canvas().Focus(e)
			return
		}
	}
	l.win.Canvas().Focus(l.password)
}

// ShowError shows the window with a sentence in the error line (for
// example after the server refused the stored token).
func (l *LoginWindow) ShowError(sentence string) {
	l.ensure()
	l.setError(sentence)
	l.Show()
}

// Relocalise rebuilds the window in the current language, keeping what
// was typed.
func (l *LoginWindow) Relocalise() {
	if l.form == nil {
		l.win.SetTitle(T("login.title"))
		return // built in the current language when first shown
	}
	cur := l.request()
	errText := l.errLabel.Text
	l.win.SetTitle(T("login.title"))
	l.build(cur)
	l.password.SetText(cur.Password.Reveal())
	l.token.SetText(cur.Token.Reveal())
	l.setError(errText)
}

// ensure builds the form from the configured defaults, once.
func (l *LoginWindow) ensure() {
	if l.form == nil {
		l.build(l.cfg.Initial)
	}
}

func (l *LoginWindow) build(init LoginRequest) {
	l.url = widget.NewEntry()
	l.url.SetPlaceHolder(T("login.url.placeholder"))
	l.url.SetText(init.URL)
	l.url.OnChanged = func(string) { l.updateVisibility() }
	l.topics = widget.NewEntry()
	l.topics.SetPlaceHolder(T("login.topics.placeholder"))
	l.topics.SetText(strings.Join(init.Topics, ", "))
	l.user = widget.NewEntry()
	l.user.SetText(init.User)
	l.password = widget.NewPasswordEntry()
	l.token = widget.NewPasswordEntry()
	for _, e := range []*widget.Entry{l.url, l.topics, l.user, l.password, l.token} {
		e.OnSubmitted = func(string) { l.submit() }
	}

	labels := make([]string, len(protocols))
	for i, p := range protocols {
		labels[i] = protocolLabel(p)
	}
	l.topicsBox = container.NewVBox(widget.NewLabel(T("login.topics")), l.topics)
	l.protocol = widget.NewSelect(labels, func(string) { l.setError(""); l.updateVisibility() })

	l.userBox = container.NewVBox(
		widget.NewLabel(T("login.user")), l.user,
		widget.NewLabel(T("login.password")), l.password,
	)
	l.tokenBox = container.NewVBox(widget.NewLabel(T("login.token")), l.token)
	// A sentence about the other way of logging in would be stale.
	l.useToken = widget.NewCheck(T("login.usetoken"), func(bool) { l.setError(""); l.updateVisibility() })
	l.useToken.Checked = !init.Token.Empty()
	l.remember = widget.NewCheck(T("login.remember"), nil)
	l.remember.Checked = init.Remember || init.URL == ""
	l.insecure = widget.NewCheck(T("login.insecure"), nil)
	l.insecure.Checked = init.AllowInsecure

	l.errLabel = widget.NewLabel("")
	l.errLabel.Wrapping = fyne.TextWrapWord
	l.errLabel.Importance = widget.DangerImportance
	l.errLabel.Hide()

	l.button = widget.NewButton(T("login.button"), l.submit)
	l.button.Importance = widget.HighImportance

	p := init.Protocol
	if p == "" {
		p = ProtocolTidings
	}
	l.protocol.SetSelected(protocolLabel(p)) // also sets visibility

	l.form = container.NewVBox(
		widget.NewLabel(T("login.url")), l.url,
		widget.NewLabel(T("login.protocol")), l.protocol,
		l.topicsBox,
		l.userBox,
		l.tokenBox,
		l.useToken,
		l.remember,
		l.insecure,
		l.errLabel,
		l.button,
	)
	l.updateVisibility()
	l.win.SetContent(container.NewPadded(l.form))
}

func (l *LoginWindow) selectedProtocol() Protocol {
	for _, p := range protocols {
		if protocolLabel(p) == l.protocol.Selected {
			return p
		}
	}
	return ProtocolTidings
}

func (l *LoginWindow) updateVisibility() {
	if l.tokenBox == nil || l.useToken == nil {
		return // still building
	}
	setVisible(l.topicsBox, l.selectedProtocol() == ProtocolNtfy)
	setVisible(l.userBox, !l.useToken.Checked)
	setVisible(l.tokenBox, l.useToken.Checked)
	if l.insecure != nil {
		setVisible(l.insecure, plainHTTP(l.url.Text))
	}
	l.relayout()
}

// relayout lays the form out again after fields were shown or hidden.
func (l *LoginWindow) relayout() {
	if l.form != nil {
		l.form.Refresh()
	}
}

func setVisible(o fyne.CanvasObject, v bool) {
	if v {
		o.Show()
	} else {
		o.Hide()
	}
}

// plainHTTP reports an address that starts with http://: the form then
// offers the explicit choice of an unencrypted connection (needed for any
// host but this computer).
func plainHTTP(u string) bool {
	u = strings.TrimSpace(u)
	return len(u) >= 7 && strings.EqualFold(u[:7], "http://")
}

// request reads the form.
func (l *LoginWindow) request() LoginRequest {
	r := LoginRequest{
		URL:      strings.TrimSpace(l.url.Text),
		Protocol: l.selectedProtocol(),
		Remember: l.remember.Checked,
		UseToken: l.useToken.Checked,
	}
	r.AllowInsecure = l.insecure.Checked && plainHTTP(r.URL)
	if r.Protocol == ProtocolNtfy {
		r.Topics = strings.FieldsFunc(l.topics.Text, func(r rune) bool { return r == ',' || r == ' ' })
	}
	if l.useToken.Checked {
		r.Token = NewSecret(strings.TrimSpace(l.token.Text))
	} else {
		r.User = strings.TrimSpace(l.user.Text)
		r.Password = NewSecret(l.password.Text)
	}
	return r
}

// validate returns the sentence for what is missing, or "".
func validate(r LoginRequest) string {
	switch {
	case r.URL == "":
		return T("login.err.url")
	case r.Protocol == ProtocolNtfy && len(r.Topics) == 0:
		return T("login.err.topics")
	case r.UseToken && r.Token.Empty():
		return T("login.err.token")
	case !r.Token.Empty():
		return ""
	case r.Protocol == ProtocolNtfy && r.User == "" && r.Password.Empty():
		return "" // anonymous ntfy
	case r.User == "":
		return T("login.err.user")
	case r.Password.Empty():
		return T("login.err.password")
	}
	return ""
}

func (l *LoginWindow) setError(s string) {
	l.errLabel.SetText(s)
	setVisible(l.errLabel, s != "")
	l.relayout()
}

// submit starts a login attempt unless one is running.
func (l *LoginWindow) submit() {
	if l.working {
		return
	}
	req := l.request()
	if msg := validate(req); msg != "" {
		l.setError(msg)
		return
	}
	l.setError("")
	l.working = true
	l.button.Disable()
	l.button.SetText(T("login.working"))
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), l.cfg.Timeout)
		defer cancel()
		err := l.cfg.Accounts.Login(ctx, req)
		if err == nil && ctx.Err() != nil {
			err = errLoginTimeout
		}
		msg := ""
		if err != nil {
			msg = l.cfg.Accounts.Explain(err)
		}
		runOnUI(func() {
			if err != nil && msg == "" {
				msg = T("login.err.unknown")
			}
			l.finish(req, msg)
		})
	}()
}

func (l *LoginWindow) finish(req LoginRequest, errMsg string) {
	l.working = false
	l.button.SetText(T("login.button"))
	l.button.Enable()
	if errMsg != "" {
		l.setError(errMsg)
		if l.useToken.Checked {
			l.win.Canvas().Focus(l.token)
		} else {
			l.win.Canvas().Focus(l.password)
		}
		return
	}
	l.password.SetText("")
	l.token.SetText("")
	hideWindow(l.win)
	if l.cfg.OnSuccess != nil {
		l.cfg.OnSuccess(req)
	}
}
