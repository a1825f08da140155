package secret

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestEveryWayOfPrintingASecretRedactsIt(t *testing.T) {
	const raw = "tdt_very-secret-token"
	s := New(raw)
	type holder struct{ Token Value }
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "token", s, "holder", holder{s})
	slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "token", s)
	js, _ := json.Marshal(holder{s})
	outs := []string{
		s.String(), s.GoString(), fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s %q %x %d", s, s, s, s, s, s, s),
		fmt.Sprintf("%v %+v %#v", holder{s}, holder{s}, holder{s}), logs.String(), string(js),
	}
	for _, out := range outs {
		if strings.Contains(out, raw) || strings.Contains(out, "very-secret") {
			t.Fatalf("secret leaked: %s", out)
		}
		if !strings.Contains(out, Redacted) {
			t.Fatalf("no redaction mark in %q", out)
		}
	}
	if s.Reveal() != raw || s.Empty() || s.Len() != len(raw) || New("").IsZero() != true {
		t.Fatal("Reveal, Empty, Len or IsZero wrong")
	}
}
