//go:build !darwin && !windows

package autostart

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEnableDisableRoundTripInATemporaryHome(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, "cfg dir"))
	a := App{ID: testApp.ID, Name: "Tidings"}
	wantPath := filepath.Join(home, "cfg dir", "autostart", testApp.ID+".desktop")
	if loc, _ := a.Location(); loc != wantPath {
		t.Fatalf("Location = %q, want %q", loc, wantPath)
	}
	if on, err := a.IsEnabled(); err != nil || on {
		t.Fatalf("before Enable: IsEnabled = %v, %v", on, err)
	}
	exe := filepath.Join(home, "My Apps", "tidings")
	if err := a.Enable(exe, "--hidden"); err != nil {
		t.Fatal(err)
	}
	if on, err := a.IsEnabled(); err != nil || !on {
		t.Fatalf("after Enable: IsEnabled = %v, %v", on, err)
	}
	b, err := os.ReadFile(wantPath)
	if err != nil {
		t.Fatal(err)
	}
	if got := parseDesktopEntry(string(b))["Exec"]; got != `"`+exe+`" --hidden` {
		t.Errorf("Exec = %s", got)
	}
	fi, _ := os.Stat(wantPath)
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}
	// Enabling again (e.g. after the binary moved) rewrites in place.
	if err := a.Enable("/usr/bin/tidings", "--hidden"); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(wantPath)
	if !strings.Contains(string(b), "\nExec=/usr/bin/tidings --hidden\n") {
		t.Errorf("re-Enable did not rewrite Exec:\n%s", b)
	}
	entries, _ := os.ReadDir(filepath.Dir(wantPath))
	if len(entries) != 1 {
		t.Errorf("autostart dir holds %d files, want 1 (no temp files left)", len(entries))
	}
	if err := a.Disable(); err != nil {
		t.Fatal(err)
	}
	if on, err := a.IsEnabled(); err != nil || on {
		t.Fatalf("after Disable: IsEnabled = %v, %v", on, err)
	}
	if _, err := os.Stat(wantPath); !os.IsNotExist(err) {
		t.Errorf("file still there after Disable: %v", err)
	}
	if err := a.Disable(); err != nil {
		t.Errorf("second Disable: %v", err)
	}
}

func TestWithoutXDGConfigHomeTheEntryGoesUnderDotConfig(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", "")
	loc, err := testApp.Location()
	if err != nil || loc != filepath.Join(home, ".config", "autostart", testApp.ID+".desktop") {
		t.Fatalf("Location = %q, %v", loc, err)
	}
}

func TestAnEntryHiddenByTheUserReadsAsDisabled(t *testing.T) {
	a := App{ID: testApp.ID, Dir: t.TempDir()}
	if err := a.Enable("/usr/bin/tidings", "--hidden"); err != nil {
		t.Fatal(err)
	}
	loc, _ := a.Location()
	f, err := os.OpenFile(loc, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("Hidden=true\n")
	f.Close()
	if on, err := a.IsEnabled(); err != nil || on {
		t.Errorf("IsEnabled = %v, %v; want false for Hidden=true", on, err)
	}
}

func TestExecutableResolvesSymlinksToTheRealBinary(t *testing.T) {
	exe, err := Executable()
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(exe) {
		t.Errorf("Executable = %q, not absolute", exe)
	}
	if real, _ := filepath.EvalSymlinks(exe); real != exe {
		t.Errorf("Executable = %q still resolves to %q", exe, real)
	}
}
