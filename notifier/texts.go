package notifier

import (
	"strings"
	"text/template"
)

// Texts are the notifier's own sentences (summaries, connection notices,
// the tag and attachment lines), by key, in English. Config.Say renders
// them in the user's language; the UI's catalogs carry the same keys, and
// a test in cmd/tidings checks that every key is in every catalog with
// this English text.
var Texts = map[string]string{
	"popup.missed":         "{{.Count}} missed messages",
	"popup.new":            "{{.Count}} new messages",
	"popup.newfrom":        "{{.Count}} new messages from {{.Source}}",
	"popup.from":           "From {{.Sources}}.",
	"popup.more":           "{{.Count}} more",
	"popup.lost.title":     "Connection lost",
	"popup.lost.body":      "{{.Server}} has been unreachable since {{.Since}}; Tidings keeps trying.",
	"popup.restored.title": "Connection restored",
	"popup.restored.body":  "{{.Server}} is back online after {{.After}}.",
	"popup.theserver":      "The server",
	"popup.tags":           "Tags: {{.Tags}}",
	"popup.attachment":     "attachment",
	"popup.open":           "Open", // the click action of a popup with a link
}

// english renders key from Texts: the Say used when none is configured.
func english(key string, args map[string]any) string {
	src, ok := Texts[key]
	if !ok {
		return key
	}
	t, err := template.New(key).Option("missingkey=zero").Parse(src)
	if err != nil {
		return src
	}
	var b strings.Builder
	if t.Execute(&b, args) != nil {
		return src
	}
	return b.String()
}
