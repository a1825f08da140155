package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tidings-app/tidings/internal/testkit"
	"github.com/tidings-app/tidings/ui"
)

// A first start has the connection-lost notice on; a settings file keeps
// what it says, and one written before the field existed gets the default.
func TestSettingsStartFromTheDefaultsAndKeepWhatTheFileSays(t *testing.T) {
	cases := []struct {
		name string
		file string // "" for no file
		want bool
	}{
		{"no file", "", true},
		{"the user turned it off", `{"version":1,"settings":{"ConnectionLostNotice":false}}`, false},
		{"a file from before the field", `{"version":1,"settings":{"RetentionDays":7}}`, true},
		{"an unreadable file is moved aside", `{not json`, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "settings.json")
			if c.file != "" {
				if err := os.WriteFile(path, []byte(c.file), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			got := loadSettings(path, slog.New(slog.DiscardHandler)).Load().ConnectionLostNotice
			if got != c.want {
				t.Fatalf("ConnectionLostNotice = %v, want %v", got, c.want)
			}
		})
	}
}

// Issue 21.6: every keystroke in a field saved the file with two fsyncs
// on the UI goroutine. A change applies at once; the file is written once
// the changes stop, or at Flush.
func TestAChangeAppliesAtOnceAndTheFileIsWrittenOnceAfterTheLast(t *testing.T) {
	path := filepath.Join(t.TempDir(), "settings.json")
	s := loadSettings(path, slog.New(slog.DiscardHandler))
	s.delay = time.Hour // only Flush writes in this test
	var applied []int
	s.apply = func(v ui.Settings) { applied = append(applied, v.RetentionDays) }
	for _, days := range []int{3, 36, 365} { // typing "365"
		v := s.Load()
		v.RetentionDays = days
		if err := s.Save(v); err != nil {
			t.Fatal(err)
		}
	}
	if len(applied) != 3 || applied[2] != 365 || s.Load().RetentionDays != 365 {
		t.Fatalf("applied %v, loaded %d", applied, s.Load().RetentionDays)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("the file was written on a keystroke: %v", err)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := loadSettings(path, slog.New(slog.DiscardHandler)).Load().RetentionDays; got != 365 {
		t.Fatalf("the file says %d days", got)
	}
	s.delay = time.Millisecond
	v := s.Load()
	v.RetentionMax = 7
	_ = s.Save(v)
	testkit.Eventually(t, "the delayed write", func() bool {
		return loadSettings(path, slog.New(slog.DiscardHandler)).Load().RetentionMax == 7
	})
}

// Issue 21.6: 0 meant "no limit" in the window and "the default" in the
// history. Version 1 files wrote 0 for the default; they keep it.
func TestRetentionZeroMeansNoLimitAndOldFilesKeepTheirDefault(t *testing.T) {
	for _, c := range []struct {
		name, file string
		days, max  int
	}{
		{"no file", "", ui.DefaultRetentionDays, ui.DefaultRetentionMax},
		{"version 1 with the default", `{"version":1,"settings":{"RetentionDays":0}}`, ui.DefaultRetentionDays, ui.DefaultRetentionMax},
		{"version 1 with a choice", `{"version":1,"settings":{"RetentionDays":7,"RetentionMax":10}}`, 7, 10},
		{"version 2 with no limit", `{"version":2,"settings":{"RetentionDays":0,"RetentionMax":0}}`, 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "settings.json")
			if c.file != "" {
				if err := os.WriteFile(path, []byte(c.file), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			got := loadSettings(path, slog.New(slog.DiscardHandler)).Load()
			if got.RetentionDays != c.days || got.RetentionMax != c.max {
				t.Fatalf("retention %d days, %d messages; want %d, %d", got.RetentionDays, got.RetentionMax, c.days, c.max)
			}
		})
	}
	if age, n := retentionFrom(ui.Settings{}); age >= 0 || n >= 0 {
		t.Fatalf("no limit maps to %v, %d; the history reads 0 as its default", age, n)
	}
	if age, n := retentionFrom(ui.Settings{RetentionDays: 2, RetentionMax: 5}); age != 48*time.Hour || n != 5 {
		t.Fatalf("2 days, 5 messages map to %v, %d", age, n)
	}
}
