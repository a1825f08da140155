package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tidings-app/tidings/conn"
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
