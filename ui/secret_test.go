package ui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/tidings-app/tidings/internal/testkit"
)

func TestSecretsNeverPrintInLogsFormatsOrJSON(t *testing.T) {
	const pw, tok = "hunter2-password", "tk_live_abcdef"
	req := LoginRequest{URL: "https://s", User: "alice", Password: NewSecret(pw), Token: NewSecret(tok)}
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.Info("login", "req", req, "password", req.Password, "token", req.Token)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("login", "req", req, "password", req.Password)
	fmt.Fprintf(&buf, "%v %+v %#v %s %q", req, req, req, req.Password, req.Token)
	j, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	buf.Write(j)
	out := buf.String()
	if strings.Contains(out, pw) || strings.Contains(out, tok) {
		t.Fatalf("secret leaked:\n%s", out)
	}
	if !strings.Contains(out, "REDACTED") {
		t.Fatalf("no redaction mark in:\n%s", out)
	}
	if req.Password.Reveal() != pw || req.Token.Reveal() != tok {
		t.Fatal("Reveal lost the value")
	}
}

func TestControllerCloseLeavesNoGoroutines(t *testing.T) {
	testkit.NoLeaks(t)
	f := newControllerFixture(t)
	f.c.SetStatus(Status{State: StateReconnecting, Attempt: 1, NextRetry: f.now.Add(5 * 1e9)})
	f.c.History.Show()
	f.q.until(t, "a first menu", func() bool { m, _, _, _ := f.desk.state(); return m > 0 })
	f.c.Close()
	f.q.drain()
}
