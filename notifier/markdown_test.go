package notifier

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tidings-app/tidings/conn"
)

func TestAMarkdownPopupShowsThePlainTextOfTheMarkdown(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"emphasis", "Build **passed** in _3 min_ ~~slow~~", "Build passed in 3 min slow"},
		{"entities and escapes", "&lt;b&gt; \\*not bold\\* &amp; &#x263A;", "<b> *not bold* & ☺"},
		{"image and link", "![chart](https://tracker.example/p.png) see [the log](https://ci.example/1)", "chart see the log"},
		{"heading and list", "# Deploy\n\n* web\n* db\n\nDone.", "Deploy\n• web\n• db\nDone."},
		{"soft and hard breaks", "one\ntwo  \nthree", "one two\nthree"},
		{"code", "run `make test`:\n\n```\nok 1\nok 2\n```", "run make test:\nok 1\nok 2"},
		{"raw html dropped", "<b>hi</b> there\n\n<div>block</div>", "hi there"},
		{"autolink", "<https://example.com/x>", "https://example.com/x"},
		{"table", "| a | b |\n|---|---|\n| 1 | 2 |", "a | b\n1 | 2"},
	} {
		if got := plainMarkdown(c.in); got != c.want {
			t.Errorf("%s: plainMarkdown(%q) = %q, want %q", c.name, c.in, got, c.want)
		}
	}
}

func TestOnlyMarkdownMessagesAreReduced(t *testing.T) {
	m := conn.Message{Body: "**stays** as sent"}
	if got := newEngine(testConfig()).single(m, "g").Body; got != "**stays** as sent" {
		t.Errorf("plain body = %q", got)
	}
	m.Markdown = true
	if got := newEngine(testConfig()).single(m, "g").Body; got != "stays as sent" {
		t.Errorf("markdown body = %q", got)
	}
}

// FuzzPlainMarkdown: any body gives valid text without a panic, and the
// popup body built from it stays clean.
func FuzzPlainMarkdown(f *testing.F) {
	for _, s := range []string{"**b**", "![x](y)", "<b>&lt;", "| a |\n|-|\n| b |", "```\n\x00\n```", "\xff*\xfe*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		p := newEngine(testConfig()).single(conn.Message{Body: in, Markdown: true}, "g")
		if !utf8.ValidString(p.Body) || strings.ContainsRune(p.Body, 0) {
			t.Fatalf("body %q", p.Body)
		}
	})
}
