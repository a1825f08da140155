package ui

import (
	"net/url"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"
)

// SafeURL parses raw and returns it only if it is an absolute http or https
// URL with a host; message content is untrusted, so nothing else is ever
// opened.
func SafeURL(raw string) (*url.URL, bool) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return nil, false
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		return u, true
	}
	return nil, false
}

// messageBody renders a message body: Markdown for messages that declare
// it, with images replaced by a text mark (nothing remote is loaded) and
// links other than http/https turned into plain text; plain text
// otherwise.
func messageBody(body string, markdown bool) *widget.RichText {
	var rt *widget.RichText
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
		return e.Body
	}
	return e.Title + "\n\n" + e.Body
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
	walk(sanitizeSegments(widget.NewRichTextFromMarkdown(body).Segments))
	return oneLine(b.String())
}
