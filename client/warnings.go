package client

import (
	"errors"
	"fmt"

	"github.com/tidings-app/tidings/account"
)

// The English defaults of the account warnings' popups.
var (
	defaultNoKeyringNotice = Notice{
		Title: "Your login is not remembered",
		Body:  "No system keyring (Secret Service) answers, so Tidings keeps your login only until it quits and will ask for it at the next start. To be remembered, install or unlock a keyring such as GNOME Keyring or KWallet.",
	}
	defaultSettingsNotice = Notice{
		Title: "Settings were not saved",
		Body:  "You are logged in, but Tidings could not write its settings file %[1]s (read-only folder or full disk), so the next start will not know this account. Free some space or fix the folder's permissions, then log in again.",
	}
)

// accountWarnings tells the user what a login or a start could not keep:
// for each problem in err (no keyring, settings not written) one popup,
// and OnWarning for the tray line; a problem err does not hold is over.
// err nil means a login that kept everything.
func (c *Client) accountWarnings(err error) {
	for _, w := range []struct {
		problem error
		notice  Notice
		def     Notice
		arg     string
	}{
		{account.ErrNoKeyring, c.cfg.NoKeyringNotice, defaultNoKeyringNotice, ""},
		{account.ErrConfigNotSaved, c.cfg.SettingsNotice, defaultSettingsNotice, c.cfg.Accounts.ConfigPath()},
	} {
		on := errors.Is(err, w.problem)
		if on {
			n := w.notice
			if n.Title == "" {
				n = w.def
			}
			body := n.Body
			if w.arg != "" {
				body = fmt.Sprintf(body, w.arg)
			}
			c.disp.Notice(n.Title, body)
		}
		if c.cfg.OnWarning != nil {
			c.cfg.OnWarning(w.problem, on)
		}
	}
}
