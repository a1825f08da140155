package account

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestASecretIsRedactedEverywhereItCanBePrinted(t *testing.T) {
	const v = "tdt_never-print-me"
	s := NewSecret(v)
	type holder struct {
		Name  string
		Token Secret
		Ptr   *Secret
	}
	h := holder{Name: "alice", Token: s, Ptr: &s}
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	log.Info("x", "token", s, "holder", h)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "token", s, "ptr", &s)
	js, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"String":   s.String(),
		"GoString": s.GoString(),
		"%s":       fmt.Sprintf("%s", s),
		"%v":       fmt.Sprintf("%v", s),
		"%+v":      fmt.Sprintf("%+v", h),
		"%#v":      fmt.Sprintf("%#v", h),
		"%q":       fmt.Sprintf("%q", s),
		"%x":       fmt.Sprintf("%x", s),
		"%d":       fmt.Sprintf("%d", s),
		"%v ptr":   fmt.Sprintf("%v", &s),
		"Sprint":   fmt.Sprint(s, h),
		"Errorf":   fmt.Errorf("login with %v failed", s).Error(),
		"json":     string(js),
		"slog":     logs.String(),
	}
	for name, out := range outputs {
		if strings.Contains(out, v) || strings.Contains(out, fmt.Sprintf("%x", v)) {
			t.Errorf("%s leaks the secret: %s", name, out)
		}
		if !strings.Contains(out, Redacted) {
			t.Errorf("%s does not say REDACTED: %s", name, out)
		}
	}
	if s.Reveal() != v || s.Len() != len(v) || s.Empty() || !(Secret{}).Empty() {
		t.Fatal("Reveal/Len/Empty")
	}
}
