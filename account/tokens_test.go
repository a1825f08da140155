package account

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/tidings-app/tidings/internal/desktoptest"
)

// testService keeps test items apart from a real Tidings install's.
const testService = AppID + ".test"

func realTokens(t *testing.T) *Tokens {
	t.Helper()
	desktoptest.Require(t)
	return NewTokens(TokensConfig{Service: testService, Timeout: 10 * time.Second})
}

func TestATokenRoundTripsThroughTheRealSecretService(t *testing.T) {
	tok := realTokens(t)
	ctx := context.Background()
	const key, secret = "alice@https://push.example.com", "tdt_round-trip-7f3a"
	if err := tok.Set(ctx, key, NewSecret(secret)); err != nil {
		t.Fatalf("set: %v", err)
	}
	got, err := tok.Get(ctx, key)
	if err != nil || got.Reveal() != secret {
		t.Fatalf("get: %v (value matches: %v)", err, got.Reveal() == secret)
	}
	// It is really in the Secret Service, under the app ID and the account key.
	if v, err := keyring.Get(testService, key); err != nil || v != secret {
		t.Fatalf("go-keyring does not see it: %v", err)
	}
	if err := tok.Delete(ctx, key); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := tok.Get(ctx, key); !errors.Is(err, ErrNoToken) || errors.Is(err, ErrNoKeyring) {
		t.Fatalf("after delete: %v, want ErrNoToken alone", err)
	}
	if err := tok.Delete(ctx, key); err != nil {
		t.Fatalf("deleting a missing token: %v", err)
	}
	if !tok.Persistent() || tok.Warning() != "" {
		t.Fatalf("persistent %v, warning %q with a working keyring", tok.Persistent(), tok.Warning())
	}
}

func TestAMissingTokenIsErrNoToken(t *testing.T) {
	tok := realTokens(t)
	_, err := tok.Get(context.Background(), "nobody@https://push.example.com")
	if !errors.Is(err, ErrNoToken) {
		t.Fatalf("err = %v", err)
	}
	if Explain(err) != "You are not logged in; log in to receive notifications." {
		t.Fatalf("Explain = %q", Explain(err))
	}
}

func TestTwoAccountsKeepTheirOwnTokens(t *testing.T) {
	tok := realTokens(t)
	ctx := context.Background()
	a, b := AccountKey("alice", "https://a.example"), AccountKey("alice", "https://b.example")
	t.Cleanup(func() { _ = tok.Delete(ctx, a); _ = tok.Delete(ctx, b) })
	if err := tok.Set(ctx, a, NewSecret("tdt_aaa")); err != nil {
		t.Fatal(err)
	}
	if err := tok.Set(ctx, b, NewSecret("tk_bbb")); err != nil {
		t.Fatal(err)
	}
	// Setting again replaces, not duplicates.
	if err := tok.Set(ctx, a, NewSecret("tdt_aaa2")); err != nil {
		t.Fatal(err)
	}
	ga, _ := tok.Get(ctx, a)
	gb, _ := tok.Get(ctx, b)
	if ga.Reveal() != "tdt_aaa2" || gb.Reveal() != "tk_bbb" {
		t.Fatal("the accounts' tokens got mixed up")
	}
}

func TestATokenOverTheKeyringLimitsIsRefusedAndNothingIsStored(t *testing.T) {
	tok := realTokens(t)
	ctx := context.Background()
	key := "alice@https://push.example.com"
	for _, n := range []int{MaxSecretWindows + 1, MaxItemMacOS - len(testService) - len(key) + 1} {
		err := tok.Set(ctx, key, NewSecret(strings.Repeat("x", n)))
		if !errors.Is(err, ErrTokenTooBig) {
			t.Fatalf("%d bytes: err = %v", n, err)
		}
		if _, err := tok.Get(ctx, key); !errors.Is(err, ErrNoToken) {
			t.Fatalf("%d bytes: something was stored: %v", n, err)
		}
	}
	if err := tok.Set(ctx, key, Secret{}); !errors.Is(err, ErrBadToken) {
		t.Fatalf("empty token: %v", err)
	}
	if !strings.Contains(Explain(ErrTokenTooBig), "too large") {
		t.Fatal(Explain(ErrTokenTooBig))
	}
}

func TestTheTokenIsNotInPlainTextInAnyFileOfTheHome(t *testing.T) {
	env := desktoptest.Require(t)
	tok := realTokens(t)
	const secret = "tdt_plaintext-canary-91c2"
	key := "alice@https://push.example.com"
	if err := tok.Set(context.Background(), key, NewSecret(secret)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tok.Delete(context.Background(), key) })
	if hits := desktoptest.GrepTree(t, env.Home, secret); len(hits) > 0 {
		t.Fatalf("token in plain text in %v", hits)
	}
}

// fakeKeyring is for the logic around the keyring: errors and cancellation.
type fakeKeyring struct {
	mu    sync.Mutex
	err   error
	block chan struct{}
	calls int
	items map[string]string
}

func (f *fakeKeyring) do(fn func()) error {
	f.mu.Lock()
	f.calls++
	err, block := f.err, f.block
	f.mu.Unlock()
	if block != nil {
		<-block
	}
	if err != nil {
		return err
	}
	f.mu.Lock()
	fn()
	f.mu.Unlock()
	return nil
}
func (f *fakeKeyring) Set(s, u, p string) error { return f.do(func() { f.items[s+"/"+u] = p }) }
func (f *fakeKeyring) Get(s, u string) (string, error) {
	var v string
	var ok bool
	if err := f.do(func() { v, ok = f.items[s+"/"+u] }); err != nil {
		return "", err
	}
	if !ok {
		return "", keyring.ErrNotFound
	}
	return v, nil
}
func (f *fakeKeyring) Delete(s, u string) error { return f.do(func() { delete(f.items, s+"/"+u) }) }

func TestAKeyringErrorSwitchesToMemoryOnceAndSaysSoInTheLog(t *testing.T) {
	var logs bytes.Buffer
	fk := &fakeKeyring{items: map[string]string{}, err: errors.New("org.freedesktop.DBus.Error.ServiceUnknown: The name is not activatable")}
	tok := NewTokens(TokensConfig{Keyring: fk, Timeout: time.Second, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	ctx := context.Background()
	err := tok.Set(ctx, "k", NewSecret("tdt_mem-only"))
	if !errors.Is(err, ErrNoKeyring) {
		t.Fatalf("err = %v", err)
	}
	if tok.Persistent() || tok.Warning() != Explain(ErrNoKeyring) {
		t.Fatalf("persistent %v warning %q", tok.Persistent(), tok.Warning())
	}
	got, err := tok.Get(ctx, "k")
	if err != nil || got.Reveal() != "tdt_mem-only" {
		t.Fatalf("memory get: %v", err)
	}
	if _, err := tok.Get(ctx, "other"); !errors.Is(err, ErrNoToken) || !errors.Is(err, ErrNoKeyring) {
		t.Fatalf("missing in memory: %v", err)
	}
	if err := tok.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := tok.Get(ctx, "k"); !errors.Is(err, ErrNoToken) {
		t.Fatalf("after delete: %v", err)
	}
	if fk.calls != 1 {
		t.Fatalf("the keyring was asked %d times; after a failure it must not be asked again this run", fk.calls)
	}
	if strings.Count(logs.String(), "no system keyring") != 1 || strings.Contains(logs.String(), "tdt_mem-only") {
		t.Fatalf("log: %s", logs.String())
	}
}

func TestACancelledContextDoesNotSwitchToMemory(t *testing.T) {
	fk := &fakeKeyring{items: map[string]string{}, block: make(chan struct{})}
	tok := NewTokens(TokensConfig{Keyring: fk, Timeout: 10 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := tok.Get(ctx, "k"); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	close(fk.block) // let the abandoned call finish
	if !tok.Persistent() {
		t.Fatal("a cancelled call switched the store to memory")
	}
}
