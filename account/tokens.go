package account

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/zalando/go-keyring"
)

// AppID is the keyring service name every token is stored under.
const AppID = "io.github.tidings_app.tidings"

// Keyring size limits go-keyring enforces on other systems. Tokens checks
// them on every system, so a login that works here works there too.
const (
	MaxSecretWindows = 2560 // bytes of the secret (Credential Manager)
	MaxItemMacOS     = 3000 // bytes of service + user + secret (Keychain)
)

// Keyring is the part of go-keyring Tokens uses. The default is the OS
// keyring; tests of other packages may pass an in-memory one.
type Keyring interface {
	Set(service, user, secret string) error
	Get(service, user string) (string, error)
	Delete(service, user string) error
}

type osKeyring struct{}

func (osKeyring) Set(s, u, p string) error        { return keyring.Set(s, u, p) }
func (osKeyring) Get(s, u string) (string, error) { return keyring.Get(s, u) }
func (osKeyring) Delete(s, u string) error        { return keyring.Delete(s, u) }

// TokensConfig configures a Tokens store. Zero values get defaults.
type TokensConfig struct {
	Service string        // default AppID
	Timeout time.Duration // bound on every keyring call; default 10 s
	Keyring Keyring       // default the OS keyring (go-keyring)
	Logger  *slog.Logger  // default slog.Default()
}

func (c TokensConfig) withDefaults() TokensConfig {
	if c.Service == "" {
		c.Service = AppID
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.Keyring == nil {
		c.Keyring = osKeyring{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Tokens keeps tokens in the OS keyring, keyed by account (AccountKey).
//
// Every keyring call is bounded by the timeout: a Secret Service that D-Bus
// cannot start never answers, so the call runs in its own goroutine and is
// abandoned when the time is up. When the keyring fails that way (no Secret
// Service, a D-Bus error, a timeout, a locked collection the user would not
// unlock) the store switches, for the rest of this run, to memory: it
// returns errors wrapping ErrNoKeyring, keeps tokens in memory only,
// Persistent reports false and Warning says so in a sentence. It never
// writes a token to a file. Safe for concurrent use.
type Tokens struct {
	cfg  TokensConfig
	slot chan struct{} // one keyring call at a time

	mu       sync.Mutex
	fallback error             // why the keyring is not used, nil while it is
	mem      map[string]string // tokens kept for this run when fallback != nil
}

// NewTokens returns a store over the OS keyring (or cfg.Keyring).
func NewTokens(cfg TokensConfig) *Tokens {
	return &Tokens{cfg: cfg.withDefaults(), slot: make(chan struct{}, 1), mem: map[string]string{}}
}

// Persistent reports whether tokens go to the OS keyring (true) or are kept
// in memory for this run only (false).
func (t *Tokens) Persistent() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.fallback == nil
}

// Warning is a sentence for the user when tokens are kept in memory only,
// and "" while the keyring works.
func (t *Tokens) Warning() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.fallback == nil {
		return ""
	}
	return Explain(ErrNoKeyring)
}

// Set stores token for key. When no keyring is available the token is kept
// in memory and the error wraps ErrNoKeyring: the login still works for
// this run, and the caller should show Explain(err). ErrTokenTooBig when the
// token is over a keyring's size limit (nothing is stored).
func (t *Tokens) Set(ctx context.Context, key string, token Secret) error {
	if token.Empty() {
		return fmt.Errorf("%w: it is empty", ErrBadToken)
	}
	if token.Len() > MaxSecretWindows || len(t.cfg.Service)+len(key)+token.Len() > MaxItemMacOS {
		return fmt.Errorf("%w: it is %d bytes, the limit is %d", ErrTokenTooBig, token.Len(), min(MaxSecretWindows, MaxItemMacOS-len(t.cfg.Service)-len(key)))
	}
	if t.inMemory() {
		t.remember(key, token.Reveal())
		return t.fallbackErr()
	}
	err := t.call(ctx, func(k Keyring) error { return k.Set(t.cfg.Service, key, token.Reveal()) })
	if errors.Is(err, keyring.ErrSetDataTooBig) {
		return fmt.Errorf("%w: %w", ErrTokenTooBig, err)
	}
	if err != nil {
		if errors.Is(err, ErrNoKeyring) {
			t.remember(key, token.Reveal())
		}
		return err
	}
	return nil
}

// Get returns the token for key: ErrNoToken when none is stored (with
// ErrNoKeyring too when that is because no keyring is available).
func (t *Tokens) Get(ctx context.Context, key string) (Secret, error) {
	if t.inMemory() {
		return t.recall(key)
	}
	var v string
	err := t.call(ctx, func(k Keyring) error {
		var err error
		v, err = k.Get(t.cfg.Service, key)
		return err
	})
	switch {
	case errors.Is(err, keyring.ErrNotFound):
		return Secret{}, ErrNoToken
	case errors.Is(err, ErrNoKeyring):
		return Secret{}, fmt.Errorf("%w: %w", ErrNoToken, err)
	case err != nil:
		return Secret{}, err
	}
	return NewSecret(v), nil
}

// Delete removes the token for key. Deleting a missing token is not an
// error.
func (t *Tokens) Delete(ctx context.Context, key string) error {
	t.mu.Lock()
	delete(t.mem, key)
	t.mu.Unlock()
	if t.inMemory() {
		return nil
	}
	err := t.call(ctx, func(k Keyring) error { return k.Delete(t.cfg.Service, key) })
	if errors.Is(err, keyring.ErrNotFound) {
		return nil
	}
	return err
}

func (t *Tokens) inMemory() bool { return !t.Persistent() }

func (t *Tokens) remember(key, v string) {
	t.mu.Lock()
	t.mem[key] = v
	t.mu.Unlock()
}

func (t *Tokens) recall(key string) (Secret, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	v, ok := t.mem[key]
	if !ok {
		return Secret{}, fmt.Errorf("%w: %w", ErrNoToken, ErrNoKeyring)
	}
	return NewSecret(v), nil
}

func (t *Tokens) fallbackErr() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return fmt.Errorf("%w (%v); the token is kept in memory for this run only", ErrNoKeyring, t.fallback)
}

// call runs f against the keyring in its own goroutine and waits at most the
// timeout (or until ctx ends). ErrNotFound and ErrSetDataTooBig pass
// through; every other failure switches the store to memory and is
// returned wrapping ErrNoKeyring. A call that never returns is abandoned
// (its goroutine stays blocked in D-Bus); no new call is made after one.
func (t *Tokens) call(ctx context.Context, f func(Keyring) error) error {
	timer := time.NewTimer(t.cfg.Timeout)
	defer timer.Stop()
	select { // wait for a previous, possibly hung, call
	case t.slot <- struct{}{}:
	case <-timer.C:
		return t.fail(fmt.Errorf("the keyring did not answer within %v", t.cfg.Timeout))
	case <-ctx.Done():
		return ctx.Err()
	}
	done := make(chan error, 1)
	go func() {
		defer func() { <-t.slot }()
		done <- f(t.cfg.Keyring)
	}()
	select {
	case err := <-done:
		if err == nil || errors.Is(err, keyring.ErrNotFound) || errors.Is(err, keyring.ErrSetDataTooBig) {
			return err
		}
		return t.fail(err)
	case <-timer.C:
		return t.fail(fmt.Errorf("the keyring did not answer within %v", t.cfg.Timeout))
	case <-ctx.Done():
		return ctx.Err()
	}
}

// fail switches to memory and returns cause wrapped in ErrNoKeyring.
func (t *Tokens) fail(cause error) error {
	t.mu.Lock()
	first := t.fallback == nil
	if first {
		t.fallback = cause
	}
	t.mu.Unlock()
	if first {
		t.cfg.Logger.Warn("no system keyring; tokens are kept in memory for this run only",
			"component", "account", "cause", cause.Error())
	}
	return fmt.Errorf("%w (%v); the token is kept in memory for this run only", ErrNoKeyring, cause)
}

// AccountKey is the keyring user name of an account: "user@server", or
// "token@server" for an account that pasted a token without a user name.
func AccountKey(username, server string) string {
	if username == "" {
		username = "token"
	}
	return username + "@" + server
}
