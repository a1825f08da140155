// Package sanitize makes untrusted message text safe to hand to a desktop
// notification server: it strips control and bidi-override characters, caps
// lengths with an ellipsis, keeps the text valid UTF-8, escapes markup for
// freedesktop servers and neutralises what the Windows toast path would
// interpret. It also decides whether a click URL may be opened. Every
// function is pure and never panics.
package sanitize

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Length caps, in runes, ellipsis included.
const (
	MaxSummary = 100
	MaxBody    = 400
	MaxURL     = 2048 // bytes
)

// Ellipsis ends a text that was cut.
const Ellipsis = "…"

// Summary cleans a notification title: one line, no control or bidi
// characters, at most MaxSummary runes.
func Summary(s string) string { return Text(s, MaxSummary, false) }

// Body cleans a notification body: newlines kept (at most one blank line in
// a row), no other control or bidi characters, at most MaxBody runes.
func Body(s string) string { return Text(s, MaxBody, true) }

// Text cleans s and caps it at max runes (max <= 0 means no cap). Invalid
// UTF-8 becomes U+FFFD; tabs become spaces; CR, CRLF and the Unicode line
// and paragraph separators become newlines, which are kept only when
// keepNewlines is set (otherwise they become spaces); every other control,
// format-direction or bidi character is dropped. Runs of spaces collapse and
// the result is trimmed.
func Text(s string, max int, keepNewlines bool) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	b.Grow(min(len(s), 4*max+8))
	pendingSpace, newlines := false, 0
	flushSep := func() {
		switch {
		case b.Len() == 0:
		case newlines > 0:
			b.WriteString(strings.Repeat("\n", min(newlines, 2)))
		case pendingSpace:
			b.WriteByte(' ')
		}
		pendingSpace, newlines = false, 0
	}
	prevCR := false
	for _, r := range s {
		isCR := r == '\r'
		switch {
		case r == '\n' && prevCR:
			// second half of CRLF: already counted
		case r == '\n' || isCR || r == '\u2028' || r == '\u2029' || r == '\u0085':
			if keepNewlines {
				newlines++
			} else {
				pendingSpace = true
			}
		case r == '\t' || unicode.IsSpace(r):
			pendingSpace = true
		case dropped(r):
		default:
			flushSep()
			b.WriteRune(r)
		}
		prevCR = isCR
	}
	return capRunes(b.String(), max)
}

// Strip removes what must never be drawn but keeps the text's layout, for
// surfaces that render Markdown or show a whole message: invalid UTF-8
// becomes U+FFFD, CR and CRLF and the Unicode line separators become
// newlines, tabs are kept, and every other character Text drops is dropped.
// Spaces are not collapsed and nothing is cut.
func Strip(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	clean := true
	for _, r := range s {
		if r != '\n' && r != '\t' && (dropped(r) || r == '\u2028' || r == '\u2029' || r == '\u0085') {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	prevCR := false
	for _, r := range s {
		isCR := r == '\r'
		switch {
		case r == '\n' && prevCR:
		case r == '\n' || isCR || r == '\u2028' || r == '\u2029' || r == '\u0085':
			b.WriteByte('\n')
		case r == '\t':
			b.WriteByte('\t')
		case dropped(r):
		default:
			b.WriteRune(r)
		}
		prevCR = isCR
	}
	return b.String()
}

// dropped reports characters that never reach a popup: controls, bidi
// embeddings, overrides, isolates and marks, and other invisible formatting
// that can disguise text (zero-width joiner is kept: emoji need it).
func dropped(r rune) bool {
	switch {
	case unicode.IsControl(r):
		return true
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069,
		r == 0x200E, r == 0x200F, r == 0x061C:
		return true
	case r == 0x200B, r == 0x2060, r == 0xFEFF, r == 0x00AD:
		return true // zero-width space, word joiner, BOM, soft hyphen
	case r >= 0xFFF9 && r <= 0xFFFB: // interlinear annotation controls
		return true
	case r == utf8.RuneError:
		return false // keep the visible replacement character
	}
	return false
}

// IsBidiControl reports the bidi controls Text removes.
func IsBidiControl(r rune) bool {
	return r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069 ||
		r == 0x200E || r == 0x200F || r == 0x061C
}

// capRunes cuts s to at most max runes, the last being the ellipsis, and
// trims trailing space before it.
func capRunes(s string, max int) string {
	if max <= 0 || utf8.RuneCountInString(s) <= max {
		return s
	}
	n := 0
	for i := range s {
		if n == max-1 {
			return strings.TrimRightFunc(s[:i], unicode.IsSpace) + Ellipsis
		}
		n++
	}
	return s
}

// Markup escapes the three characters a freedesktop notification server
// would read as markup, so text shows as written.
func Markup(s string) string {
	if !strings.ContainsAny(s, "&<>") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// WindowsToast neutralises what the Windows toast path would interpret:
// the text is put into an XML CDATA section (so "]]>" would end it) and, in
// the PowerShell fallback, into a double-quoted here-string (where "$" and
// the backtick are live and a line starting with `"@` ends the string). The
// look-alike replacements keep the text readable.
func WindowsToast(s string) string {
	s = strings.ReplaceAll(s, "]]>", "]] >")
	s = strings.NewReplacer("$", "＄", "`", "ˋ").Replace(s)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, `"@`) || strings.HasPrefix(l, `'@`) {
			lines[i] = " " + l
		}
	}
	return strings.Join(lines, "\n")
}

// URL returns the click URL in normalised form and true when it may be
// opened: an absolute http or https URL with a host, no user information
// (user:pass@), no spaces, control or bidi characters, at most MaxURL bytes.
// Anything else returns "", false.
func URL(raw string) (string, bool) {
	if raw == "" || len(raw) > MaxURL || !utf8.ValidString(raw) {
		return "", false
	}
	for _, r := range raw {
		if r <= ' ' || unicode.IsControl(r) || unicode.IsSpace(r) || dropped(r) || r == '\\' {
			return "", false
		}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || u.User != nil {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", false
	}
	if u.Hostname() == "" || strings.ContainsAny(u.Host, "@") {
		return "", false
	}
	u.Scheme = scheme
	out := u.String()
	if len(out) > MaxURL {
		return "", false
	}
	return out, true
}
