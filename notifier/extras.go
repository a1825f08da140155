package notifier

import (
	"fmt"
	"strings"

	"github.com/kyokomi/emoji/v2"

	"github.com/tidings-app/tidings/conn"
	"github.com/tidings-app/tidings/sanitize"
)

// TagParts splits a message's tags as ntfy shows them: a tag that names
// an emoji (ntfy uses GitHub's short codes: "warning", "+1") becomes that
// emoji, shown before the title; the others are words, listed with the
// message.
func TagParts(tags []string) (emojis string, words []string) {
	codes := emoji.CodeMap()
	var b strings.Builder
	for _, t := range tags {
		t = sanitize.Text(t, 64, false)
		if t == "" {
			continue
		}
		if e, ok := codes[":"+strings.ToLower(t)+":"]; ok {
			b.WriteString(e)
			continue
		}
		words = append(words, t)
	}
	return b.String(), words
}

// FormatSize is a byte count for people: "812 B", "2.0 KB", "3.4 MB".
func FormatSize(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d B", max(n, 0))
	case n < 1000*1000:
		return fmt.Sprintf("%.1f KB", float64(n)/1000)
	case n < 1000*1000*1000:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.1f GB", float64(n)/1e9)
}

// withExtras adds what a popup shows of a message's extras: emoji tags
// before the title, the other tags and the attachment (name and size)
// under the body; a popup without a click URL opens the attachment. Images
// and icons are never fetched.
func withExtras(p Popup, m conn.Message, say func(string, map[string]any) string) Popup {
	x := m.Extra
	if x == nil {
		return p
	}
	emojis, words := TagParts(x.Tags)
	if emojis != "" {
		p.Title = sanitize.Summary(emojis + " " + p.Title)
	}
	var lines []string
	if len(words) > 0 {
		lines = append(lines, say("popup.tags", map[string]any{"Tags": strings.Join(words, ", ")}))
	}
	if a := x.Attachment; a != nil && a.Name+a.URL != "" {
		name := a.Name
		if name == "" {
			name = say("popup.attachment", nil)
		}
		line := "📎 " + name
		if a.Size > 0 {
			line += " (" + FormatSize(a.Size) + ")"
		}
		lines = append(lines, line)
		if u, ok := sanitize.URL(a.URL); ok && p.URL == "" {
			p.URL = u
		}
	}
	if len(lines) > 0 {
		body := strings.Join(lines, "\n")
		if p.Body != "" {
			body = p.Body + "\n" + body
		}
		p.Body = sanitize.Body(body)
	}
	return p
}
