package client

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tidings-app/tidings/account"
	"github.com/tidings-app/tidings/conn"
	"github.com/tidings-app/tidings/history"
)

// Resume connects with the account the user logged in to last (and has not
// logged out of) and the token the keyring holds for it. ErrNeedsLogin
// means: show the login window.
func (c *Client) Resume(ctx context.Context) error {
	cfg, err := account.LoadConfig(c.cfg.Accounts.ConfigPath())
	if err != nil && len(cfg.Accounts) == 0 {
		c.log.Warn("cannot read the settings file", "err", err)
	}
	acct, ok := cfg.Resumable()
	if !ok {
		return ErrNeedsLogin
	}
	tok, err := c.cfg.Accounts.Token(ctx, acct)
	if err != nil {
		c.setAccount(acct)
		if errors.Is(err, account.ErrNoKeyring) {
			c.accountWarnings(err)
		}
		if errors.Is(err, account.ErrNoToken) || errors.Is(err, account.ErrNoKeyring) {
			return fmt.Errorf("%w: %w", ErrNeedsLogin, err)
		}
		return err
	}
	return c.connect(acct, tok)
}

// Login logs in with what the user typed, keeps the token in the keyring,
// and (re)connects. An error wrapping account.ErrNoKeyring means the login
// worked and the token is kept for this run only, account.ErrConfigNotSaved
// that the next start will not know the account: both are warnings, told
// by a popup and OnWarning. Any other error means not logged in.
func (c *Client) Login(ctx context.Context, in account.LoginInput) error {
	acct, err := c.cfg.Accounts.Login(ctx, in)
	warning := err
	if err != nil && !errors.Is(err, account.ErrNoKeyring) && !errors.Is(err, account.ErrConfigNotSaved) {
		return err
	}
	c.accountWarnings(warning)
	tok, err := c.cfg.Accounts.Token(ctx, acct)
	if err != nil {
		return err
	}
	if err := c.connect(acct, tok); err != nil {
		return err
	}
	// The old connection is stopped: the login this one replaced may go.
	c.cfg.Accounts.RevokeReplaced(ctx, acct)
	return warning
}

// Logout stops the connection, revokes the token on the server where the
// protocol allows it, removes it from the keyring and, when asked, clears
// the history. History is kept by default.
func (c *Client) Logout(ctx context.Context, clearHistory bool) error {
	c.mu.Lock()
	sup, acct := c.sup, c.acct
	c.sup = nil
	c.mu.Unlock()
	if sup != nil {
		sup.Stop()
	}
	if acct.Server == "" {
		return nil
	}
	opts := account.LogoutOptions{}
	if clearHistory {
		opts.ClearHistory = func(ctx context.Context, _ account.Account) error {
			_, err := c.cfg.History.Clear(ctx)
			return err
		}
	}
	return c.cfg.Accounts.Logout(ctx, acct, opts)
}

// connect replaces the running connection with one for acct.
func (c *Client) connect(acct account.Account, tok account.Secret) error {
	adapter, err := adapterFor(acct)
	if err != nil {
		return err
	}
	last, err := c.cfg.History.LastID(c.ctx, acct.Key())
	if err != nil {
		return fmt.Errorf("client: last stored message: %w", err)
	}
	if acct.Protocol == account.Ntfy {
		last = c.ntfyResumeTime(acct.Key(), last)
	}
	recent, err := c.cfg.History.RecentIDs(c.ctx, acct.Key(), recentIDs)
	if err != nil {
		return fmt.Errorf("client: recent messages: %w", err)
	}
	lastSent, err := c.cfg.History.LastSent(c.ctx, acct.Key())
	if err != nil {
		return fmt.Errorf("client: last stored message: %w", err)
	}
	ccfg := conn.Config{
		Server:        acct.Server,
		Account:       acct.Key(),
		Adapter:       adapter,
		Token:         tok,
		LastID:        last,
		RecentIDs:     recent,
		LastSent:      lastSent,
		CAFile:        acct.CAFile,
		AllowInsecure: acct.AllowInsecure,
		Logger:        c.cfg.Logger,
	}
	if c.cfg.Tune != nil {
		c.cfg.Tune(&ccfg)
	}
	var sup *conn.Supervisor // set before Start, so the sink sees it
	// An ntfy account with no resume point yet (a fresh login, nothing
	// received) records the time of its first connection, so that what is
	// published while the app is closed is fetched at the next start
	// (ntfy takes since=<unix seconds>).
	needStart := last == "" && acct.Protocol == account.Ntfy
	// A rebuilt history (the damaged one was moved aside, and the notice
	// said so) re-fetches what the user has likely seen: it is stored, not
	// popped up again.
	quietBefore := time.Time{}
	if last == "" {
		quietBefore = c.rebuiltAt
	}
	var started atomic.Bool
	ccfg.Sink = func(e conn.Event) {
		if needStart && e.Kind == conn.EventState && e.Status.State == conn.StateConnected && started.CompareAndSwap(false, true) {
			c.recordStart(acct.Key(), e.Status.Since)
		}
		if e.Kind == conn.EventMessage && !e.Message.Sent.IsZero() && e.Message.Sent.Before(quietBefore) {
			c.pipe.pushQuiet(e.Message)
			return
		}
		c.handle(sup, acct, e)
	}
	sup, err = conn.New(ccfg)
	if err != nil {
		return err
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	old := c.sup
	c.sup, c.acct = sup, acct
	c.mu.Unlock()
	if old != nil {
		old.Stop()
	}
	sup.Start()
	return nil
}

func (c *Client) setAccount(acct account.Account) {
	c.mu.Lock()
	c.acct = acct
	c.mu.Unlock()
}

// handle is the connection's sink: called serially, must not block.
// Messages are always kept; state changes of a supervisor that was replaced
// by a new login are not reported (its "Stopped" would hide the new one's
// "Connecting"), but those of the last one after a logout are.
func (c *Client) handle(from *conn.Supervisor, acct account.Account, e conn.Event) {
	switch e.Kind {
	case conn.EventMessage:
		c.pipe.push(e.Message)
	case conn.EventShort:
		c.shortCatchUp(e.Short)
	case conn.EventRebase:
		c.pipe.pushRebase(acct.Key(), e.Rebase)
	case conn.EventState:
		c.mu.Lock()
		current := c.sup == from || c.sup == nil
		c.mu.Unlock()
		if !current {
			return
		}
		switch e.Status.State {
		case conn.StateConnected:
			c.disp.LinkState(acct.Key(), true)
		case conn.StateReconnecting, conn.StateOffline:
			c.disp.LinkState(acct.Key(), false)
		}
		c.cfg.OnStatus(e.Status)
	}
}

// recordStart stores at as server's resume point unless it has one. It
// runs off the sink's goroutine (the sink must not block on the disk).
func (c *Client) recordStart(server string, at time.Time) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		if err := c.cfg.History.SetResumePoint(c.ctx, server, strconv.FormatInt(at.Unix(), 10)); err != nil {
			c.log.Warn("cannot record where to resume", "account", server, "err", err)
		}
	}()
}

// recentIDs is how many stored ids seed the connection's repeat filter.
const recentIDs = 1000

// adapterFor picks the protocol adapter for an account.
func adapterFor(acct account.Account) (conn.Adapter, error) {
	return conn.AdapterFor(string(acct.Protocol), acct.Topics)
}

// ntfyResumeTime turns an ntfy resume point that is a message id into the
// time of that stored message (unix seconds): ntfy always resumes from a
// time, but not from the id of a message it did not cache ("Cache: no"),
// which it answers with its whole cache. A time, or an id whose message
// is no longer stored, is kept as it is.
func (c *Client) ntfyResumeTime(server, last string) string {
	if last == "" || strings.Trim(last, "0123456789") == "" {
		return last
	}
	e, ok, err := c.cfg.History.Get(c.ctx, history.Key{Server: server, ID: last})
	if err != nil || !ok || e.Sent.IsZero() {
		return last
	}
	return strconv.FormatInt(e.Sent.Unix(), 10)
}
