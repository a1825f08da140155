package logging

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestLevelNamesParse(t *testing.T) {
	for in, want := range map[string]slog.Level{
		"debug": slog.LevelDebug, "DEBUG": slog.LevelDebug, " info ": slog.LevelInfo, "": slog.LevelInfo,
		"warn": slog.LevelWarn, "Warning": slog.LevelWarn, "error": slog.LevelError,
	} {
		got, err := ParseLevel(in)
		if err != nil || got != want {
			t.Errorf("ParseLevel(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"verbose", "trace", "0", "info+2", "debug,info"} {
		if _, err := ParseLevel(bad); !errors.Is(err, ErrBadLevel) {
			t.Errorf("ParseLevel(%q) err = %v, want ErrBadLevel", bad, err)
		}
	}
}

func TestDefaultDirFollowsXDGStateHome(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		t.Skipf("XDG_STATE_HOME is for Linux and the BSDs; %s has its own folders", runtime.GOOS)
	}
	t.Setenv("XDG_STATE_HOME", "/home/x/.local/state")
	if d, _ := DefaultDir("tidings"); d != "/home/x/.local/state/tidings" {
		t.Errorf("DefaultDir = %q", d)
	}
	t.Setenv("XDG_STATE_HOME", "")
	t.Setenv("HOME", "/home/y")
	if d, _ := DefaultDir("tidings"); d != "/home/y/.local/state/tidings" {
		t.Errorf("DefaultDir without XDG_STATE_HOME = %q", d)
	}
}

func TestOpenWritesTextRecordsAtTheChosenLevelAndSetLevelChangesIt(t *testing.T) {
	dir := t.TempDir()
	var also bytes.Buffer
	l, err := Open(Config{Dir: dir, Level: slog.LevelWarn, Also: &also})
	if err != nil {
		t.Fatal(err)
	}
	if l.Path != filepath.Join(dir, "tidings.log") {
		t.Errorf("Path = %q", l.Path)
	}
	l.Info("hidden at warn")
	l.Warn("shown", "n", 1)
	l.SetLevel(slog.LevelDebug)
	l.Debug("now debug shows")
	l.Close()
	b, _ := os.ReadFile(l.Path)
	s := string(b)
	if strings.Contains(s, "hidden at warn") || !strings.Contains(s, `level=WARN msg=shown n=1`) || !strings.Contains(s, "now debug shows") {
		t.Errorf("log file:\n%s", s)
	}
	if also.String() != s {
		t.Errorf("Also got %q, file %q", also.String(), s)
	}
}

func TestAFullLoginRunLeavesNoSecretInTheLogFile(t *testing.T) {
	const token = "tk_9f8e7d6c5b4a39281706f5e4d3c2b1a0"
	const password = "correct horse battery staple"
	const body = "your parcel code is 4417"
	dir := t.TempDir()
	l, err := Open(Config{Dir: dir, Level: slog.LevelInfo})
	if err != nil {
		t.Fatal(err)
	}
	// what a careless caller might log during login → connect → message
	acct := l.With("server", "https://push.example", "token", token)
	acct.Info("login", "user", "jo", "password", password)
	acct.Info("request", slog.Group("headers", "Authorization", "Bearer "+token, "Accept", "application/json"))
	acct.Info("connect", "url", "wss://push.example/stream", "hdr", "Bearer "+token)
	acct.Info("message", "id", 7, "title", "Parcel", "body", body)
	acct.Error("login failed", "api_key", token, "client_secret", password, "X-Gotify-Key", token)
	l.Close()
	b, _ := os.ReadFile(l.Path)
	s := string(b)
	for _, secret := range []string{token, password, body, "Parcel"} {
		if strings.Contains(s, secret) {
			t.Errorf("%q leaked into the log:\n%s", secret, s)
		}
	}
	for _, want := range []string{"user=jo", "token=REDACTED", "password=REDACTED", "headers.Authorization=REDACTED",
		"headers.Accept=application/json", "hdr=REDACTED", `body="[24 bytes]"`, "X-Gotify-Key=REDACTED"} {
		if !strings.Contains(s, want) {
			t.Errorf("log lacks %q:\n%s", want, s)
		}
	}
}
