package natsjs

import (
	"strings"
	"testing"

	"github.com/tidings-app/tidings/server/store"
)

func TestNamesMapToSubjectTokensAndKeysAndBack(t *testing.T) {
	for _, tc := range []struct{ name, enc string }{
		{"alice", "alice"},
		{"bob.smith@example.com", "bob=2Esmith=40example=2Ecom"},
		{"a_b-c", "a_b-c"},
		{".", "=2E"},
	} {
		if got := encodeName(tc.name); got != tc.enc {
			t.Errorf("encode %q = %q, want %q", tc.name, got, tc.enc)
		}
		if got, ok := decodeName(tc.enc); !ok || got != tc.name {
			t.Errorf("decode %q = %q %v", tc.enc, got, ok)
		}
	}
	for _, bad := range []string{"", "=", "=2", "=41", "a=zz", "a.b", "a@b", "a b"} {
		if _, ok := decodeName(bad); ok {
			t.Errorf("decode %q accepted", bad)
		}
	}
}

func FuzzDecodeName(f *testing.F) {
	for _, s := range []string{"alice", "a=2Eb", "=40", "=", "x=2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name, ok := decodeName(s)
		if !ok {
			return
		}
		if !store.ValidName(name) || encodeName(name) != s {
			t.Fatalf("%q decodes to %q which encodes to %q", s, name, encodeName(name))
		}
		if strings.ContainsAny(encodeName(name), ".*> @") {
			t.Fatalf("encoded %q holds a subject separator", encodeName(name))
		}
	})
}
