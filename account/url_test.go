package account

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalizeServerURL(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		insecure bool
		want     string
		err      error
	}{
		{name: "https kept", in: "https://push.example.com", want: "https://push.example.com"},
		{name: "trailing slashes trimmed", in: "https://push.example.com///", want: "https://push.example.com"},
		{name: "path kept for a reverse proxy", in: "https://example.com/gotify/", want: "https://example.com/gotify"},
		{name: "spaces trimmed", in: "  https://push.example.com  ", want: "https://push.example.com"},
		{name: "host lower-cased", in: "https://Push.Example.COM:8443", want: "https://push.example.com:8443"},
		{name: "scheme upper-case", in: "HTTPS://push.example.com", want: "https://push.example.com"},
		{name: "no scheme means https", in: "push.example.com", want: "https://push.example.com"},
		{name: "wss becomes https", in: "wss://push.example.com/ws-proxy/", want: "https://push.example.com/ws-proxy"},
		{name: "ws to loopback becomes http", in: "ws://127.0.0.1:8080", want: "http://127.0.0.1:8080"},
		{name: "http to localhost", in: "http://localhost:8080/", want: "http://localhost:8080"},
		{name: "http to ::1", in: "http://[::1]:8080", want: "http://[::1]:8080"},
		{name: "http to 127.8.9.10", in: "http://127.8.9.10", want: "http://127.8.9.10"},
		{name: "http to a LAN host refused", in: "http://192.168.1.10:8080", err: ErrInsecureURL},
		{name: "ws to a remote host refused", in: "ws://push.example.com", err: ErrInsecureURL},
		{name: "http allowed by explicit choice", in: "http://192.168.1.10:8080", insecure: true, want: "http://192.168.1.10:8080"},
		{name: "localhost lookalike is not loopback", in: "http://localhost.example.com", err: ErrInsecureURL},
		{name: "empty", in: "", err: ErrEmptyURL},
		{name: "only spaces", in: "   ", err: ErrEmptyURL},
		{name: "user and password", in: "https://alice:hunter2@push.example.com", err: ErrUserInfoInURL},
		{name: "user only", in: "https://alice@push.example.com", err: ErrUserInfoInURL},
		{name: "user and password without scheme", in: "alice:hunter2@push.example.com", err: ErrUserInfoInURL},
		{name: "user and password with a bad escape", in: "https://alice:hunter2%zz@push.example.com", err: ErrUserInfoInURL},
		{name: "ftp scheme", in: "ftp://push.example.com", err: ErrBadURL},
		{name: "javascript", in: "javascript:alert(1)", err: ErrBadURL},
		{name: "no host", in: "https://", err: ErrBadURL},
		{name: "no host but a port", in: "https://:443", err: ErrBadURL},
		{name: "query", in: "https://push.example.com/?token=hunter2", err: ErrBadURL},
		{name: "fragment", in: "https://push.example.com/#x", err: ErrBadURL},
		{name: "space inside", in: "https://push example.com", err: ErrBadURL},
		{name: "control character", in: "https://push.example.com/\x00", err: ErrBadURL},
		{name: "bad port", in: "https://push.example.com:99999", err: ErrBadURL},
		{name: "non-numeric port", in: "https://push.example.com:http", err: ErrBadURL},
		{name: "bad escape", in: "https://push.example.com/%zz", err: ErrBadURL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeServerURL(tt.in, tt.insecure)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Fatalf("the error echoes the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			// Canonical form is a fixed point.
			if again, err := NormalizeServerURL(got, tt.insecure); err != nil || again != got {
				t.Fatalf("not idempotent: %q → %q, %v", got, again, err)
			}
		})
	}
}

func TestValidateToken(t *testing.T) {
	tests := []struct {
		name string
		p    Protocol
		in   string
		want string
		err  bool
	}{
		{name: "native", p: Native, in: "tdt_abc", want: "tdt_abc"},
		{name: "native opaque", p: Native, in: " opaque-token \n", want: "opaque-token"},
		{name: "gotify client", p: Gotify, in: "CkqR0nY2e3.9xAb", want: "CkqR0nY2e3.9xAb"},
		{name: "gotify application token", p: Gotify, in: "AbcdEfgh", err: true},
		{name: "gotify other", p: Gotify, in: "xyz", err: true},
		// Gotify 3 (issue 19.12): ed25519-seed tokens with a prefix.
		{name: "gotify 3 client", p: Gotify, in: "gtfyc.y5unV6mPpN2w4bN4mXh0w9Jx2yQ3k1RrUSprAaBcDeF", want: "gtfyc.y5unV6mPpN2w4bN4mXh0w9Jx2yQ3k1RrUSprAaBcDeF"},
		{name: "gotify 3 application token", p: Gotify, in: "gtfya.gNvrX0aB7jgs", err: true},
		{name: "gotify 3 prefix only", p: Gotify, in: "gtfyc.", err: true},
		{name: "ntfy", p: Ntfy, in: "tk_AgQdq7mVBoFD37zQVN29RhuMzNIz2", want: "tk_AgQdq7mVBoFD37zQVN29RhuMzNIz2"},
		{name: "ntfy without prefix", p: Ntfy, in: "AgQdq7mVBoFD", err: true},
		{name: "ntfy prefix only", p: Ntfy, in: "tk_", err: true},
		{name: "empty", p: Native, in: "  ", err: true},
		{name: "space inside", p: Native, in: "tdt_a b", err: true},
		{name: "newline inside", p: Native, in: "tdt_a\nb", err: true},
		{name: "non-ASCII", p: Native, in: "tdt_é", err: true},
		{name: "too long", p: Native, in: strings.Repeat("x", MaxTokenLen+1), err: true},
		{name: "unknown protocol", p: "matrix", in: "x", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ValidateToken(tt.p, tt.in)
			if tt.err {
				if err == nil {
					t.Fatal("accepted")
				}
				if len(tt.in) > 3 && strings.Contains(err.Error(), strings.TrimSpace(tt.in)) {
					t.Fatalf("error echoes the token: %v", err)
				}
				return
			}
			if err != nil || got.Reveal() != tt.want {
				t.Fatalf("got %v (match %v), err %v", got, got.Reveal() == tt.want, err)
			}
		})
	}
}
