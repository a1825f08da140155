package account

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
)

// ManagerConfig wires a Manager. Zero values get defaults.
type ManagerConfig struct {
	ConfigPath string       // default DefaultConfigPath()
	Tokens     *Tokens      // default NewTokens(TokensConfig{Logger: Logger})
	HTTP       HTTPConfig   // base for every login; an account's CAFile is added
	Logger     *slog.Logger // default slog.Default()
}

// Manager is what the UI calls: log in (or paste a token), get the token
// for the connection, log out. It keeps the token in Tokens and the rest in
// the settings file.
type Manager struct {
	cfg ManagerConfig
	mu  sync.Mutex // serialises load-modify-save of the settings file

	smu      sync.Mutex
	session  map[string]Secret // tokens of "do not remember me" logins, this run only
	replaced map[string]Grant  // logins a new one replaced, until RevokeReplaced
}

// NewManager returns a Manager.
func NewManager(cfg ManagerConfig) (*Manager, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Logger = cfg.Logger.With("component", "account")
	if cfg.ConfigPath == "" {
		p, err := DefaultConfigPath()
		if err != nil {
			return nil, fmt.Errorf("account: find the settings directory: %w", err)
		}
		cfg.ConfigPath = p
	}
	if cfg.Tokens == nil {
		cfg.Tokens = NewTokens(TokensConfig{Logger: cfg.Logger})
	}
	return &Manager{cfg: cfg, replaced: map[string]Grant{}}, nil
}

// Tokens is the manager's token store (Persistent, Warning).
func (m *Manager) Tokens() *Tokens { return m.cfg.Tokens }

// ConfigPath is the settings file.
func (m *Manager) ConfigPath() string { return m.cfg.ConfigPath }

// LoginInput is what the user typed in the login form.
type LoginInput struct {
	Server        string
	Protocol      Protocol
	Username      string
	Password      Secret // used once for the login request, never stored
	PastedToken   Secret // instead of a password: a token the user already has
	Topics        []string
	CAFile        string
	AllowInsecure bool // the user's explicit choice of http:// to another host
	// SessionOnly keeps the token in memory for this run instead of the
	// keyring ("Remember me" unticked); the next start asks again.
	SessionOnly bool
}

// Login validates the input, logs in (or checks the pasted token), stores
// the token in the keyring and the account in the settings file, and
// returns the account. When the error wraps ErrNoKeyring the login worked
// but the token is kept in memory for this run only: show Explain(err) as a
// warning and go on. Any other error means not logged in.
func (m *Manager) Login(ctx context.Context, in LoginInput) (Account, error) {
	if !in.Protocol.Valid() {
		return Account{}, fmt.Errorf("%w %q", ErrBadProtocol, truncate(string(in.Protocol), 20))
	}
	server, err := NormalizeServerURL(in.Server, in.AllowInsecure)
	if err != nil {
		return Account{}, err
	}
	acct := Account{Server: server, Protocol: in.Protocol, Username: in.Username, Topics: in.Topics,
		CAFile: in.CAFile, AllowInsecure: in.AllowInsecure}
	if err := acct.Validate(); err != nil {
		return Account{}, err
	}
	pasted := !in.PastedToken.Empty()
	var grant Grant
	if pasted {
		tok, err := ValidateToken(in.Protocol, in.PastedToken.Reveal())
		if err != nil {
			return Account{}, err
		}
		grant = Grant{Token: tok}
	}
	auth, err := m.authenticator(acct)
	if err != nil {
		return Account{}, err
	}
	method := "password"
	if pasted {
		method = "pasted token"
	} else if grant, err = auth.Login(ctx, server, in.Username, in.Password); err != nil {
		m.cfg.Logger.Info("login failed", "server", server, "protocol", string(in.Protocol), "user", in.Username, "err", err)
		return Account{}, err
	}
	// Try the token before keeping it: a pasted one may never have worked,
	// and an ntfy topic may be closed to this account. A token this login
	// made is revoked again rather than left on the server.
	name, err := auth.Check(ctx, server, grant.Token, acct.Topics)
	if err != nil {
		m.cfg.Logger.Info("login refused when the token was tried", "server", server, "protocol", string(in.Protocol), "method", method, "err", err)
		if !pasted {
			m.revoke(ctx, auth, server, grant, "the refused")
		}
		return Account{}, err
	}
	if pasted && name != "" {
		acct.Username = name // one key for one user, however they logged in
	}
	acct.RevokeID = grant.RevokeID
	prev, prevErr := m.Token(ctx, acct)
	var prevRevokeID string
	var keyErr error
	if in.SessionOnly {
		m.setSession(acct.Key(), grant.Token)
		// Not remembering means forgetting an earlier stored login too.
		if err := m.cfg.Tokens.Delete(ctx, acct.Key()); err != nil && !errors.Is(err, ErrNoKeyring) {
			m.cfg.Logger.Warn("could not remove an earlier stored token", "account", acct.Key(), "err", err)
		}
	} else {
		m.setSession(acct.Key(), Secret{})
		keyErr = m.cfg.Tokens.Set(ctx, acct.Key(), grant.Token)
	}
	if keyErr != nil && !errors.Is(keyErr, ErrNoKeyring) {
		// Not stored anywhere: do not leave a live token on the server.
		if !pasted {
			m.revoke(ctx, auth, server, grant, "the unstored")
		}
		return Account{}, keyErr
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	cfg, err := LoadConfig(m.cfg.ConfigPath)
	if err != nil {
		m.cfg.Logger.Warn("settings file unreadable; starting from defaults", "path", m.cfg.ConfigPath, "err", err)
	}
	if old, ok := cfg.Find(acct.Key()); ok {
		prevRevokeID = old.RevokeID
	}
	// The login this one replaces is revoked by RevokeReplaced, once the
	// caller's connection no longer uses it, so logins do not pile up on
	// the server (each re-login left a client or token behind).
	if prevErr == nil && !prev.Empty() && prev.Reveal() != grant.Token.Reveal() {
		m.smu.Lock()
		m.replaced[acct.Key()] = Grant{Token: prev, RevokeID: prevRevokeID}
		m.smu.Unlock()
	}
	cfg.Upsert(acct)
	cfg.Resume = acct.Key()
	if err := SaveConfig(m.cfg.ConfigPath, cfg); err != nil {
		// The token is kept (keyring or memory): this run is logged in,
		// but the next start will not know the account.
		m.cfg.Logger.Error("logged in, but the settings file cannot be written; the next start will ask to log in",
			"path", m.cfg.ConfigPath, "account", acct.Key(), "err", err)
		return acct, errors.Join(fmt.Errorf("%w: %w", ErrConfigNotSaved, err), keyErr)
	}
	m.cfg.Logger.Info("logged in", "account", acct.Key(), "protocol", string(acct.Protocol),
		"method", method, "keyring", m.cfg.Tokens.Persistent())
	return acct, keyErr
}

// RevokeReplaced revokes on the server the login that the last Login of
// acct replaced, if any. Call it once the connection uses the new token.
func (m *Manager) RevokeReplaced(ctx context.Context, acct Account) {
	m.smu.Lock()
	g, ok := m.replaced[acct.Key()]
	delete(m.replaced, acct.Key())
	m.smu.Unlock()
	if !ok {
		return
	}
	auth, err := m.authenticator(acct)
	if err != nil {
		return
	}
	m.revoke(ctx, auth, acct.Server, g, "the replaced")
}

// revoke revokes g on the server, logging (not returning) a failure: the
// caller's outcome does not depend on it.
func (m *Manager) revoke(ctx context.Context, auth Authenticator, server string, g Grant, which string) {
	if err := auth.Logout(ctx, server, g); err != nil {
		m.cfg.Logger.Warn("could not revoke "+which+" token on the server", "server", server, "err", err)
	}
}

// Token returns the stored token of an account, for the connection.
// ErrNoToken means: ask the user to log in.
func (m *Manager) Token(ctx context.Context, acct Account) (Secret, error) {
	if tok, ok := m.sessionToken(acct.Key()); ok {
		return tok, nil
	}
	return m.cfg.Tokens.Get(ctx, acct.Key())
}

// setSession keeps (or, with an empty token, drops) a this-run-only token.
func (m *Manager) setSession(key string, tok Secret) {
	m.smu.Lock()
	defer m.smu.Unlock()
	if tok.Empty() {
		delete(m.session, key)
		return
	}
	if m.session == nil {
		m.session = map[string]Secret{}
	}
	m.session[key] = tok
}

func (m *Manager) sessionToken(key string) (Secret, bool) {
	m.smu.Lock()
	defer m.smu.Unlock()
	tok, ok := m.session[key]
	return tok, ok
}

// LogoutOptions says what else to clear. By default the message history
// and the account's settings are kept (so the login form is prefilled).
type LogoutOptions struct {
	// ClearHistory, when not nil, is called after the token is gone, to
	// delete what the user chose to clear.
	ClearHistory func(ctx context.Context, acct Account) error
	// Forget removes the account from the settings file.
	Forget bool
}

// Logout revokes the account's token on the server, deletes it from the
// keyring and clears what opts asks for. The caller stops the connection
// first. A revocation that fails (server down, timeout) still deletes the
// local token; the returned error then wraps ErrRevokeFailed and its cause.
// Every step is attempted; the errors are joined.
func (m *Manager) Logout(ctx context.Context, acct Account, opts LogoutOptions) error {
	var errs []error
	key := acct.Key()
	token, err := m.Token(ctx, acct)
	m.setSession(key, Secret{})
	switch {
	case err == nil:
		auth, aerr := m.authenticator(acct)
		if aerr == nil {
			aerr = auth.Logout(ctx, acct.Server, Grant{Token: token, RevokeID: acct.RevokeID})
		}
		if aerr != nil {
			m.cfg.Logger.Warn("could not revoke the token on the server", "account", key, "err", aerr)
			errs = append(errs, fmt.Errorf("%w: %w", ErrRevokeFailed, aerr))
		}
	case errors.Is(err, ErrNoToken):
		// Nothing to revoke.
	default:
		errs = append(errs, err)
	}
	if err := m.cfg.Tokens.Delete(ctx, key); err != nil {
		errs = append(errs, err)
	}
	m.mu.Lock()
	cfg, err := LoadConfig(m.cfg.ConfigPath)
	if err == nil {
		if cfg.Resume == key {
			cfg.Resume = "" // a logged-out account is never resumed
		}
		if opts.Forget {
			cfg.Remove(key)
		} else if a, ok := cfg.Find(key); ok {
			a.RevokeID = ""
			cfg.Upsert(a)
		}
		err = SaveConfig(m.cfg.ConfigPath, cfg)
	}
	m.mu.Unlock()
	if err != nil {
		errs = append(errs, err)
	}
	if opts.ClearHistory != nil {
		if err := opts.ClearHistory(ctx, acct); err != nil {
			errs = append(errs, fmt.Errorf("account: clear history: %w", err))
		}
	}
	m.cfg.Logger.Info("logged out", "account", key, "forget", opts.Forget, "clear_history", opts.ClearHistory != nil)
	return errors.Join(errs...)
}

func (m *Manager) authenticator(acct Account) (Authenticator, error) {
	h := m.cfg.HTTP
	if acct.CAFile != "" && h.Client == nil {
		h.CAFile = acct.CAFile
	}
	return NewAuthenticator(acct.Protocol, h)
}
