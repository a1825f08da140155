package sanitize

import (
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSummaryIsOneCleanLine(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"plain text passes", "Backup done", "Backup done"},
		{"newlines become spaces", "line one\nline two\r\nthree", "line one line two three"},
		{"control characters are stripped", "a\x00b\x07c\x1bd\x7fe\u0085f", "abcde f"},
		{"C1 controls are stripped", "x\u0090y\u009bz", "xyz"},
		{"bidi overrides are stripped", "invoice\u202Egnp.exe", "invoicegnp.exe"},
		{"bidi isolates and marks are stripped", "\u2066a\u2067b\u2068c\u2069\u200Ed\u200Fe\u061Cf", "abcdef"},
		{"embeddings are stripped", "\u202Aa\u202Bb\u202Cc\u202Dd", "abcd"},
		{"invisible formatting is stripped", "pay\u200Bpal\uFEFF\u00AD", "paypal"},
		{"tabs and runs of spaces collapse", "  a\t\t b   c  ", "a b c"},
		{"invalid UTF-8 becomes the replacement character", "ok\xff\xfeend", "ok\uFFFDend"},
		{"markup is left for the escaper", "<b>hi</b> & bye", "<b>hi</b> & bye"},
		{"emoji with joiners survive", "👩\u200D💻 deploy", "👩\u200D💻 deploy"},
		{"empty stays empty", "", ""},
		{"only controls become empty", "\x00\x01\u202E", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Summary(c.in); got != c.want {
				t.Fatalf("Summary(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

func TestBodyKeepsNewlinesButNothingElseInvisible(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"newlines are kept", "a\nb", "a\nb"},
		{"CRLF and CR become newlines", "a\r\nb\rc", "a\nb\nc"},
		{"line and paragraph separators become newlines", "a\u2028b\u2029c", "a\nb\nc"},
		{"many blank lines collapse to one", "a\n\n\n\n\nb", "a\n\nb"},
		{"leading and trailing newlines are trimmed", "\n\na\n\n", "a"},
		{"controls go, newline stays", "a\x00\n\x1b[31mb", "a\n[31mb"},
		{"bidi controls go", "x\u202Ey\nz\u2066", "xy\nz"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Body(c.in); got != c.want {
				t.Fatalf("Body(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

func TestLongTextIsCutWithAnEllipsisAtTheRuneCap(t *testing.T) {
	cases := []struct {
		name string
		fn   func(string) string
		in   string
		max  int
	}{
		{"long ASCII summary", Summary, strings.Repeat("a", 500), MaxSummary},
		{"long multibyte summary", Summary, strings.Repeat("日本", 300), MaxSummary},
		{"long emoji body", Body, strings.Repeat("🙂", 1000), MaxBody},
		{"long body with newlines", Body, strings.Repeat("line\n", 400), MaxBody},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := c.fn(c.in)
			if n := utf8.RuneCountInString(got); n > c.max {
				t.Fatalf("%d runes, cap is %d", n, c.max)
			}
			if !strings.HasSuffix(got, Ellipsis) {
				t.Fatalf("cut text %q does not end with an ellipsis", got[len(got)-10:])
			}
			if !utf8.ValidString(got) {
				t.Fatal("cut text is not valid UTF-8")
			}
		})
	}
	if got := Summary(strings.Repeat("a", MaxSummary)); got != strings.Repeat("a", MaxSummary) {
		t.Fatalf("text exactly at the cap was changed: %q", got)
	}
}

func TestMarkupEscapesAmpersandAndAngleBrackets(t *testing.T) {
	cases := []struct{ in, want string }{
		{"<b>hi</b> & bye", "&lt;b&gt;hi&lt;/b&gt; &amp; bye"},
		{"&amp; already", "&amp;amp; already"},
		{`<a href="https://evil">x</a>`, `&lt;a href="https://evil"&gt;x&lt;/a&gt;`},
		{"<img src=\"http://tracker/p.png\">", "&lt;img src=\"http://tracker/p.png\"&gt;"},
		{"no markup", "no markup"},
	}
	for _, c := range cases {
		if got := Markup(c.in); got != c.want {
			t.Errorf("Markup(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestWindowsToastTextCannotLeaveItsCDATAOrHereString(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"CDATA end is broken up", "a]]><x>", "a]] ><x>"},
		{"PowerShell subexpressions are defused", "$(Remove-Item C:\\)", "＄(Remove-Item C:\\)"},
		{"backtick escapes are defused", "a`nb", "aˋnb"},
		{"here-string terminator at line start is indented", "x\n\"@\nGet-Process", "x\n \"@\nGet-Process"},
		{"plain text passes", "Backup done", "Backup done"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := WindowsToast(c.in); got != c.want {
				t.Fatalf("WindowsToast(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

func TestOnlyPlainHTTPAndHTTPSClickURLsAreKept(t *testing.T) {
	cases := []struct {
		in   string
		want string // "" means rejected
	}{
		{"https://example.com/path?q=1#frag", "https://example.com/path?q=1#frag"},
		{"http://127.0.0.1:8080/x", "http://127.0.0.1:8080/x"},
		{"HTTPS://Example.com/", "https://Example.com/"},
		{"https://[::1]:443/", "https://[::1]:443/"},
		{"https://user:pass@example.com/", ""},
		{"https://user@example.com/", ""},
		{"javascript:alert(1)", ""},
		{"file:///etc/passwd", ""},
		{"data:text/html,<script>", ""},
		{"ftp://example.com/", ""},
		{"smb://host/share", ""},
		{"mailto:a@b.c", ""},
		{"//example.com/no-scheme", ""},
		{"/relative", ""},
		{"https:///no-host", ""},
		{"https:opaque", ""},
		{"https://exa mple.com/", ""},
		{"https://example.com/\u202Egnp", ""},
		{"https://example.com/\nX-Header: 1", ""},
		{"https://example.com\\@evil.com/", ""},
		{"  https://example.com/", ""},
		{"", ""},
		{"https://example.com/" + strings.Repeat("a", MaxURL), ""},
	}
	for _, c := range cases {
		got, ok := URL(c.in)
		if ok != (c.want != "") || got != c.want {
			t.Errorf("URL(%q) = %q, %v; want %q", c.in, got, ok, c.want)
		}
	}
}

func TestStripDropsInvisiblesButKeepsLayout(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"# Title\n\n    code\n* item", "# Title\n\n    code\n* item"},
		{"a\r\nb\rc\u2028d", "a\nb\nc\nd"},
		{"\u202Eoverride\u202C \x00\x07\x1b[31mred", "override [31mred"},
		{"tab\there  two", "tab\there  two"},
		{"bad \xff byte", "bad \uFFFD byte"},
	} {
		if got := Strip(c.in); got != c.want {
			t.Errorf("Strip(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// FuzzSanitize checks the promises every popup relies on, for any input.
func FuzzSanitize(f *testing.F) {
	for _, s := range []string{"<b>hi</b> & bye", "a\u202Eb\x00c\n\nd", "\xff\xfe", strings.Repeat("é", 600),
		"https://user:pw@x/", "https://example.com/?a=<b>", "javascript:1", "]]>$(x)`\n\"@"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		for _, out := range []string{Markup(Summary(in)), Markup(Body(in))} {
			if strings.Contains(out, "<") || strings.Contains(out, ">") {
				t.Fatalf("unescaped angle bracket in %q", out)
			}
			for i := 0; i < len(out); i++ {
				if out[i] == '&' && !(strings.HasPrefix(out[i:], "&amp;") || strings.HasPrefix(out[i:], "&lt;") || strings.HasPrefix(out[i:], "&gt;")) {
					t.Fatalf("bare ampersand in %q", out)
				}
			}
			if !utf8.ValidString(out) {
				t.Fatalf("invalid UTF-8: %q", out)
			}
			for _, r := range out {
				if IsBidiControl(r) {
					t.Fatalf("bidi control %U in %q", r, out)
				}
				if r < 0x20 && r != '\n' || r == 0x7f {
					t.Fatalf("control %U in %q", r, out)
				}
			}
		}
		st := Strip(in)
		if !utf8.ValidString(st) {
			t.Fatalf("Strip gave invalid UTF-8: %q", st)
		}
		for _, r := range st {
			if r != '\n' && r != '\t' && (dropped(r) || r == '\r') {
				t.Fatalf("Strip kept %U in %q", r, st)
			}
		}
		if again := Strip(st); again != st {
			t.Fatalf("Strip is not idempotent: %q -> %q", st, again)
		}
		if s := Summary(in); strings.Contains(s, "\n") || utf8.RuneCountInString(s) > MaxSummary {
			t.Fatalf("summary %q is not one capped line", s)
		}
		if b := Body(in); utf8.RuneCountInString(b) > MaxBody {
			t.Fatalf("body has %d runes", utf8.RuneCountInString(b))
		}
		if w := WindowsToast(Body(in)); strings.Contains(w, "]]>") || strings.Contains(w, "$") || strings.Contains(w, "`") {
			t.Fatalf("windows toast text %q keeps a live sequence", w)
		}
		if u, ok := URL(in); ok {
			p, err := url.Parse(u)
			if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.User != nil || p.Hostname() == "" {
				t.Fatalf("URL(%q) kept %q", in, u)
			}
			if again, ok := URL(u); !ok || again != u {
				t.Fatalf("URL is not idempotent: %q -> %q, %v", u, again, ok)
			}
		} else if u != "" {
			t.Fatalf("rejected URL returned %q", u)
		}
	})
}
