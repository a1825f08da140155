package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

type secretThing string

func (s secretThing) LogValue() slog.Value { return slog.StringValue(string(s)) }

func jsonLogger(level slog.Level) (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	return slog.New(Redact(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: level}))), &buf
}

func lastRecord(t *testing.T, buf *bytes.Buffer) map[string]any {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &m); err != nil {
		t.Fatalf("%v: %s", err, buf)
	}
	return m
}

func TestSecretLookingAttributesAreRedactedAtEveryLevel(t *testing.T) {
	for _, key := range []string{"token", "Token", "access_token", "refreshToken", "password", "PASSWD",
		"Authorization", "client_secret", "Cookie", "apiKey", "api_key", "credentials", "private_key",
		"X-Gotify-Key", "auth", "passphrase"} {
		for _, level := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelError} {
			log, buf := jsonLogger(slog.LevelDebug)
			log.Log(context.Background(), level, "x", key, "s3cr3t-value", "other", "kept")
			rec := lastRecord(t, buf)
			if rec[key] != Redacted || rec["other"] != "kept" {
				t.Errorf("%s at %v: %v", key, level, rec)
			}
		}
	}
}

func TestOrdinaryKeysAreNotRedacted(t *testing.T) {
	for _, key := range []string{"keyring", "monkey", "author", "user", "url", "id", "server", "keys"} {
		log, buf := jsonLogger(slog.LevelDebug)
		log.Info("x", key, "plain")
		if rec := lastRecord(t, buf); rec[key] != "plain" {
			t.Errorf("%s: %v", key, rec)
		}
	}
}

func TestCredentialValuesUnderInnocentKeysAreRedacted(t *testing.T) {
	log, buf := jsonLogger(slog.LevelDebug)
	log.Info("x", "h", "Bearer abc.def", "b", "basic dXNlcjpwYXNz", "fine", "Bearer-less text")
	rec := lastRecord(t, buf)
	if rec["h"] != Redacted || rec["b"] != Redacted || rec["fine"] != "Bearer-less text" {
		t.Errorf("%v", rec)
	}
}

func TestGroupsLogValuersAndWithAttrsAreRedactedToo(t *testing.T) {
	log, buf := jsonLogger(slog.LevelDebug)
	log = log.With("token", "with-secret", slog.Group("acct", "password", "grp-secret")).WithGroup("req")
	log.Info("x", "hdrs", slog.GroupValue(slog.String("Authorization", "hdr-secret")),
		"tok", secretThing("Bearer lv-secret"), "secret", secretThing("lv2-secret"))
	s := buf.String()
	for _, leak := range []string{"with-secret", "grp-secret", "hdr-secret", "lv-secret", "lv2-secret"} {
		if strings.Contains(s, leak) {
			t.Errorf("%s leaked: %s", leak, s)
		}
	}
	rec := lastRecord(t, buf)
	req := rec["req"].(map[string]any)
	if req["hdrs"].(map[string]any)["Authorization"] != Redacted || rec["acct"].(map[string]any)["password"] != Redacted {
		t.Errorf("%v", rec)
	}
}

func TestMessageBodiesAppearOnlyAtDebug(t *testing.T) {
	log, buf := jsonLogger(slog.LevelDebug)
	log.Info("msg", "title", "Hello", "body", "héllo wörld", "message", 42, "id", 3)
	rec := lastRecord(t, buf)
	if rec["title"] != "[5 bytes]" || rec["body"] != "[13 bytes]" || rec["message"] != "[omitted]" || rec["id"] != float64(3) {
		t.Errorf("info record: %v", rec)
	}
	log.Debug("msg", "title", "Hello", "body", "héllo wörld")
	rec = lastRecord(t, buf)
	if rec["title"] != "Hello" || rec["body"] != "héllo wörld" {
		t.Errorf("debug record: %v", rec)
	}
	log.With("body", "set early").Debug("m")
	if rec := lastRecord(t, buf); rec["body"] != "[9 bytes]" {
		t.Errorf("With(body) at debug: %v (documented: always reduced)", rec)
	}
}

func TestDisabledLevelsAreStillFilteredThroughTheWrapper(t *testing.T) {
	log, buf := jsonLogger(slog.LevelWarn)
	log.Info("quiet")
	if buf.Len() != 0 {
		t.Errorf("info logged at warn: %s", buf)
	}
}
