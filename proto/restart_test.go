package proto

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestARestartHintSurvivesItsOwnCloseReason(t *testing.T) {
	in := RestartHint{RetryInMs: 731, EveryMs: 1250}
	s := in.String()
	if len(s) > maxCloseReason {
		t.Fatalf("reason %q is %d bytes, a close frame holds %d", s, len(s), maxCloseReason)
	}
	out, err := ParseRestartHint(s)
	if err != nil || out != in {
		t.Fatalf("got %+v, %v; want %+v", out, err, in)
	}
	if out.RetryIn() != 731*time.Millisecond || out.Every() != 1250*time.Millisecond {
		t.Fatalf("durations %v %v", out.RetryIn(), out.Every())
	}
	big := RestartHint{RetryInMs: MaxRestartEvery.Milliseconds() - 1, EveryMs: MaxRestartEvery.Milliseconds()}
	if len(big.String()) > maxCloseReason {
		t.Fatalf("the largest valid hint does not fit a close frame: %d bytes", len(big.String()))
	}
}

func TestRestartHintsOutsideTheBoundsAreRefusedWithoutEchoingThem(t *testing.T) {
	for _, tt := range []struct{ name, reason string }{
		{"empty, as 1012 from another server", ""},
		{"plain text", "server restarting"},
		{"no period: a dial storm", `{"retry_in_ms":0,"every_ms":0}`},
		{"period too long", `{"retry_in_ms":0,"every_ms":86400000}`},
		{"first wait negative", `{"retry_in_ms":-5,"every_ms":1000}`},
		{"first wait beyond the period", `{"retry_in_ms":1000,"every_ms":1000}`},
		{"no period", `{"retry_in_ms":100}`},
		{"wrong type", `{"retry_in_ms":"soon","every_ms":1000}`},
		{"over a close frame's size", `{"retry_in_ms":1,"every_ms":1000,"x":"` + strings.Repeat("a", 120) + `"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, err := ParseRestartHint(tt.reason)
			if !errors.Is(err, ErrBadHint) {
				t.Fatalf("got %+v, %v; want ErrBadHint", h, err)
			}
			if tt.reason != "" && strings.Contains(err.Error(), tt.reason) {
				t.Fatalf("error echoes the reason: %v", err)
			}
		})
	}
}

func FuzzParseRestartHint(f *testing.F) {
	f.Add(`{"retry_in_ms":731,"every_ms":1250}`)
	f.Add(`{"retry_in_ms":0,"every_ms":1}`)
	f.Add(`{"every_ms":1e3}`)
	f.Add("server shutting down")
	f.Fuzz(func(t *testing.T, reason string) {
		h, err := ParseRestartHint(reason)
		if err != nil {
			return
		}
		if h.Every() < time.Millisecond || h.Every() > MaxRestartEvery || h.RetryIn() < 0 || h.RetryIn() >= h.Every() {
			t.Fatalf("accepted %+v from %q", h, reason)
		}
	})
}
