package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"time"

	"github.com/tidings-app/tidings/account"
	"github.com/tidings-app/tidings/client"
	"github.com/tidings-app/tidings/conn"
	"github.com/tidings-app/tidings/history"
	"github.com/tidings-app/tidings/ui"
)

// uiAccounts adapts the client's login and logout to ui.Accounts. The
// custom CA file comes from the settings window.
type uiAccounts struct {
	c        *client.Client
	settings *settingsStore
}

func (a uiAccounts) Login(ctx context.Context, r ui.LoginRequest) error {
	in := account.LoginInput{
		Server:        r.URL,
		Protocol:      account.Protocol(r.Protocol),
		Username:      r.User,
		Password:      r.Password,
		PastedToken:   r.Token,
		Topics:        r.Topics,
		CAFile:        a.settings.Load().CAFile,
		SessionOnly:   !r.Remember,
		AllowInsecure: r.AllowInsecure,
	}
	err := a.c.Login(ctx, in)
	if err != nil && (errors.Is(err, account.ErrNoKeyring) || errors.Is(err, account.ErrConfigNotSaved)) {
		return nil // logged in; a popup and the tray's warning line say the rest
	}
	return err
}

func (a uiAccounts) Explain(err error) string { return account.Explain(err) }

func (a uiAccounts) Logout(ctx context.Context) error { return a.c.Logout(ctx, false) }

// uiConnection adapts the client to ui.Connection.
type uiConnection struct{ c *client.Client }

func (u uiConnection) Reconnect() { u.c.Kick() }

// say renders the notifier's sentences (notifier.Texts) in the user's
// language from the UI's catalogs, which carry the same keys.
func say(key string, args map[string]any) string {
	if args == nil {
		return ui.T(key)
	}
	return ui.T(key, args)
}

// uiStatus turns a connection status into what the tray shows.
func uiStatus(s conn.Status, server string) ui.Status {
	st := ui.StateStopped
	switch s.State {
	case conn.StateConnecting:
		st = ui.StateConnecting
	case conn.StateConnected:
		st = ui.StateConnected
	case conn.StateReconnecting:
		st = ui.StateReconnecting
	case conn.StateOffline:
		st = ui.StateOffline
	case conn.StateAuthFailed:
		st = ui.StateAuthFailed
	}
	host := server
	if u, err := url.Parse(server); err == nil && u.Host != "" {
		host = u.Host
	}
	reason := ""
	if st == ui.StateAuthFailed && s.Err != nil {
		reason = account.Explain(s.Err)
	}
	return ui.Status{State: st, Server: host, Attempt: s.Attempt, NextRetry: s.NextRetry, Reason: reason}
}

// uiHistory adapts the history store to ui.History. Cursors are the
// store's keyset position, base64-encoded JSON, opaque to the UI.
type uiHistory struct{ s *history.Store }

type pageCursor struct {
	Received int64 `json:"r,omitempty"`
	Seq      int64 `json:"s"`
}

func encodeCursor(e history.Entry) string {
	c := e.Cursor()
	b, _ := json.Marshal(pageCursor{Received: c.Received.UnixMicro(), Seq: c.Seq})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (pageCursor, error) {
	var c pageCursor
	if s == "" {
		return c, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return c, err
	}
	return c, json.Unmarshal(b, &c)
}

func (h uiHistory) Page(ctx context.Context, search, cursor string, limit int) ([]ui.Entry, string, error) {
	c, err := decodeCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	var entries []history.Entry
	if search != "" {
		entries, err = h.s.Search(ctx, search, c.Seq, limit)
	} else {
		var before history.Cursor
		if c.Seq != 0 {
			before = history.Cursor{Received: time.UnixMicro(c.Received), Seq: c.Seq}
		}
		entries, err = h.s.Page(ctx, before, limit)
	}
	if err != nil {
		return nil, "", err
	}
	out := make([]ui.Entry, len(entries))
	for i, e := range entries {
		out[i] = ui.Entry{Message: e.Message, Read: e.Read}
	}
	next := ""
	if len(entries) == limit && limit > 0 {
		next = encodeCursor(entries[len(entries)-1])
	}
	return out, next, nil
}

func (h uiHistory) Unread(ctx context.Context) (int, error) { return h.s.UnreadCount(ctx) }

func (h uiHistory) MarkRead(ctx context.Context, keys ...ui.Key) error {
	for _, k := range keys {
		if _, err := h.s.MarkRead(ctx, history.Key{Server: k.Server, ID: k.ID}); err != nil {
			return err
		}
	}
	return nil
}

func (h uiHistory) MarkAllRead(ctx context.Context) error {
	_, err := h.s.MarkAllRead(ctx)
	return err
}

func (h uiHistory) Delete(ctx context.Context, keys ...ui.Key) error {
	for _, k := range keys {
		if _, err := h.s.Delete(ctx, history.Key{Server: k.Server, ID: k.ID}); err != nil {
			return err
		}
	}
	return nil
}

func (h uiHistory) Clear(ctx context.Context) error {
	_, err := h.s.Clear(ctx)
	return err
}

func (h uiHistory) Sources(ctx context.Context) ([]string, error) { return h.s.Sources(ctx) }

func (h uiHistory) Subscribe(fn func()) func() {
	ch, cancel := h.s.Subscribe()
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case _, ok := <-ch:
				if !ok {
					return
				}
				fn()
			}
		}
	}()
	return func() { cancel(); close(done) }
}
