package ui

import (
	"net/url"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/tidings-app/tidings/sanitize"
)

// SafeURL returns raw parsed when it may be opened. Message content is
// untrusted, so the rule is the popup's own (sanitize.URL): an absolute http
// or https URL with a host and no user information; nothing else opens.
func SafeURL(raw string) (*url.URL, bool) {
	clean, ok := sanitize.URL(strings.TrimSpace(raw))
	if !ok {
		return nil, false
	}
	u, err := url.Parse(clean)
	if err != nil {
		return nil, false
	}
	return u, true
}

// oneLine is untrusted text as one clean line, through the same sanitizing
// as the popups (sanitize.Text): no control, bidi or invisible formatting
// character, whitespace collapsed, so it cannot break the tray menu, fake
// extra items or be drawn reversed.
func oneLine(s string) string { return sanitize.Text(s, 0, false) }

// messageBody renders a message body: Markdown for messages that declare
// it, with images replaced by a text mark (nothing remote is loaded) and
// links other than http/https turned into plain text; plain text
// otherwise.
func messageBody(body string, markdown bool) *widget.RichText {
	var rt *widget.RichText
	body = sanitize.Strip(body)
	if markdown {
		rt = widget.NewRichTextFromMarkdown(body)
		rt.Segments = sanitizeSegments(rt.Segments)
	} else {
		rt = widget.NewRichText(&widget.TextSegment{Style: widget.RichTextStyleParagraph, Text: body})
	}
	rt.Wrapping = fyne.TextWrapWord
	return rt
}

func sanitizeSegments(in []widget.RichTextSegment) []widget.RichTextSegment {
	out := make([]widget.RichTextSegment, 0, len(in))
	for _, s := range in {
		out = append(out, sanitizeSegment(s))
	}
	return out
}

func sanitizeSegment(s widget.RichTextSegment) widget.RichTextSegment {
	switch seg := s.(type) {
	case *widget.ImageSegment:
		// Fyne keeps the title but not the alt text of an image.
		text := T("history.image")
		if title := oneLine(seg.Title); title != "" {
			text = T("history.image.titled", map[string]any{"Title": title})
		}
		return &widget.TextSegment{Style: widget.RichTextStyleInline, Text: text}
	case *widget.HyperlinkSegment:
		if seg.URL == nil {
			return &widget.TextSegment{Style: widget.RichTextStyleInline, Text: seg.Text}
		}
		if _, ok := SafeURL(seg.URL.String()); !ok {
			return &widget.TextSegment{Style: widget.RichTextStyleInline, Text: seg.Text}
		}
		return seg
	case *widget.ParagraphSegment:
		seg.Texts = sanitizeSegments(seg.Texts)
		return seg
	case *widget.ListSegment:
		seg.Items = sanitizeSegments(seg.Items)
		return seg
	case *widget.TableSegment:
		for i := range seg.Headers {
			seg.Headers[i] = sanitizeSegments(seg.Headers[i])
		}
		for i := range seg.Rows {
			for j := range seg.Rows[i] {
				seg.Rows[i][j] = sanitizeSegments(seg.Rows[i][j])
			}
		}
		return seg
	}
	return s
}

// plainText is a message as text for the clipboard.
func plainText(e Entry) string {
	if e.Title == "" {
		return sanitize.Strip(e.Body)
	}
	return oneLine(e.Title) + "\n\n" + sanitize.Strip(e.Body)
}

// previewText is a body as one plain line for the list: Markdown is
// reduced to its text (images to their mark).
func previewText(body string, markdown bool) string {
	if !markdown {
		return oneLine(body)
	}
	var b strings.Builder
	var walk func([]widget.RichTextSegment)
	walk = func(segs []widget.RichTextSegment) {
		for _, s := range segs {
			switch s := s.(type) {
			case *widget.TextSegment:
				b.WriteString(s.Text)
				if !s.Inline() {
					b.WriteByte(' ')
				}
			case *widget.HyperlinkSegment:
				b.WriteString(s.Text)
			case *widget.CodeBlockSegment:
				b.WriteString(s.Text + " ")
			case *widget.ParagraphSegment:
				walk(s.Texts)
				b.WriteByte(' ')
			case *widget.ListSegment:
				walk(s.Items)
			}
		}
	}
	walk(sanitizeSegments(widget.NewRichTextFromMarkdown(sanitize.Strip(body)).Segments))
	return oneLine(b.String())
}
