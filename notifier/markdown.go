package notifier

import (
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"

	"github.com/tidings-app/tidings/conn"
)

// markdown parses the way Gotify's and ntfy's web apps render: CommonMark
// with GitHub's tables and strikethrough.
var markdown = goldmark.New(goldmark.WithExtensions(extension.Table, extension.Strikethrough))

// bodyText is a message's body as plain text: Markdown reduced to its words.
func bodyText(m conn.Message) string {
	if m.Markdown {
		return plainMarkdown(m.Body)
	}
	return m.Body
}

// plainMarkdown is a Markdown body as the plain text a popup shows: the
// words without their marks (`**bold**` → bold), links as their text,
// images as their alt text, raw HTML dropped, entities and backslash escapes
// resolved (`&lt;b&gt;` → <b>, which the backend escapes again), one line
// per block and "• " before list items. Nothing remote is ever loaded.
func plainMarkdown(src string) string {
	source := []byte(src)
	doc := markdown.Parser().Parse(text.NewReader(source))
	var b strings.Builder
	endBlock := func() {
		if b.Len() > 0 && !strings.HasSuffix(b.String(), "\n") {
			b.WriteByte('\n')
		}
	}
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		switch n := n.(type) {
		case *ast.RawHTML, *ast.HTMLBlock:
			return ast.WalkSkipChildren, nil
		case *ast.Text:
			if entering {
				b.Write(inlineText(n.Value(source), n.IsRaw()))
				switch {
				case n.HardLineBreak():
					b.WriteByte('\n')
				case n.SoftLineBreak():
					b.WriteByte(' ')
				}
			}
		case *ast.String:
			if entering {
				b.Write(inlineText(n.Value, n.IsRaw() || n.IsCode()))
			}
		case *ast.AutoLink:
			if entering {
				b.Write(n.Label(source))
			}
		case *ast.CodeBlock, *ast.FencedCodeBlock:
			if entering {
				endBlock()
				lines := n.Lines()
				for i := 0; i < lines.Len(); i++ {
					seg := lines.At(i)
					b.Write(seg.Value(source))
				}
				endBlock()
			}
			return ast.WalkSkipChildren, nil
		case *ast.ListItem:
			if entering {
				endBlock()
				b.WriteString("• ")
			}
		case *east.TableCell:
			if !entering && n.NextSibling() != nil {
				b.WriteString(" | ")
			}
		case *ast.Paragraph, *ast.TextBlock, *ast.Heading, *ast.ThematicBreak, *east.TableRow, *east.TableHeader:
			if !entering {
				endBlock()
			}
		}
		return ast.WalkContinue, nil
	})
	return strings.TrimSpace(b.String())
}

// inlineText resolves what a renderer would: backslash escapes and entity
// and numeric references, unless the text is raw (code).
func inlineText(v []byte, raw bool) []byte {
	if raw {
		return v
	}
	return util.ResolveEntityNames(util.ResolveNumericReferences(util.UnescapePunctuations(v)))
}
