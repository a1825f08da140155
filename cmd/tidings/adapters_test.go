package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidings-app/tidings/conn"
	"github.com/tidings-app/tidings/notifier"
	"github.com/tidings-app/tidings/ui"
)

func TestARefusedConnectionTellsTheLoginWindowWhy(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want string
	}{
		{"ntfy topic closed", fmt.Errorf("%w: %w", conn.ErrNoTopicAccess, &conn.HTTPError{Status: 403}), "no read access to one of the topics"},
		{"token gone", &conn.HTTPError{Status: 401}, "did not accept your login"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := uiStatus(conn.Status{State: conn.StateAuthFailed, Err: c.err}, "https://push.example.com")
			if s.State != ui.StateAuthFailed || !strings.Contains(s.Reason, c.want) || s.Server != "push.example.com" {
				t.Fatalf("status %+v, want a reason with %q", s, c.want)
			}
		})
	}
	if s := uiStatus(conn.Status{State: conn.StateReconnecting, Err: &conn.HTTPError{Status: 502}}, "x"); s.Reason != "" {
		t.Fatalf("a reason outside AuthFailed: %q", s.Reason)
	}
}

// Issue 21.7: the notifier's sentences are in every catalog, the English
// one word for word, so popups follow the user's language.
func TestEveryNotifierSentenceIsInEveryCatalog(t *testing.T) {
	files, err := filepath.Glob("../../ui/translations/*.json")
	if err != nil || len(files) < 2 {
		t.Fatalf("catalogs: %v %v", files, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var cat map[string]string
		if err := json.Unmarshal(b, &cat); err != nil {
			t.Fatal(err)
		}
		for key, en := range notifier.Texts {
			got, ok := cat[key]
			switch {
			case !ok:
				t.Errorf("%s has no %s", filepath.Base(f), key)
			case strings.HasSuffix(f, ".en.json") && got != en:
				t.Errorf("%s: %s is %q, the notifier's English is %q", filepath.Base(f), key, got, en)
			}
		}
	}
	if err := ui.SetLanguage(ui.LangChinese); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ui.SetLanguage(ui.LangEnglish) })
	if got := say("popup.missed", map[string]any{"Count": 12}); got != "错过了 12 条消息" {
		t.Fatalf("say in Chinese = %q", got)
	}
}
