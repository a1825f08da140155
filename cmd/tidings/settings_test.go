package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"
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
