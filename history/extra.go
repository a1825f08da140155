package history

import (
	"encoding/json"

	"github.com/tidings-app/tidings/conn"
)

// Bounds on what a message's extras keep: they come from the publisher, so
// one message cannot make a row large.
const (
	maxTags      = 16
	maxActions   = 3 // ntfy's own limit
	maxExtraText = 256
	maxExtraURL  = 2048
	maxExtraJSON = 16 << 10
)

// encodeExtra is x as the extra column's JSON, cut to the bounds; "" for
// none.
func encodeExtra(x *conn.Extra) string {
	if x == nil {
		return ""
	}
	c := conn.Extra{Icon: capBytes(x.Icon, maxExtraURL), Image: capBytes(x.Image, maxExtraURL)}
	for _, t := range x.Tags[:min(len(x.Tags), maxTags)] {
		c.Tags = append(c.Tags, capBytes(t, maxExtraText))
	}
	for _, a := range x.Actions[:min(len(x.Actions), maxActions)] {
		c.Actions = append(c.Actions, conn.Action{Kind: capBytes(a.Kind, 32), Label: capBytes(a.Label, maxExtraText), URL: capBytes(a.URL, maxExtraURL)})
	}
	if a := x.Attachment; a != nil {
		c.Attachment = &conn.Attachment{Name: capBytes(a.Name, maxExtraText), URL: capBytes(a.URL, maxExtraURL),
			Type: capBytes(a.Type, 128), Size: a.Size, Expires: a.Expires}
	}
	if len(c.Tags) == 0 && len(c.Actions) == 0 && c.Attachment == nil && c.Icon == "" && c.Image == "" {
		return ""
	}
	b, err := json.Marshal(c)
	if err != nil || len(b) > maxExtraJSON {
		return ""
	}
	return string(b)
}

// decodeExtra reads the extra column; anything unreadable is no extras
// (the message itself is still shown).
func decodeExtra(s string) *conn.Extra {
	if s == "" {
		return nil
	}
	var x conn.Extra
	if json.Unmarshal([]byte(s), &x) != nil {
		return nil
	}
	return &x
}
