package notifier

import (
	"fmt"
	"testing"

	"github.com/tidings-app/tidings/conn"
)

// Issue 21.4: ntfy's tags and attachments never reached the popup.
func TestAPopupShowsTagsAsNtfyDoesAndTheAttachmentWithItsSize(t *testing.T) {
	for _, c := range []struct {
		name              string
		x                 *conn.Extra
		url               string
		title, body, open string
	}{
		{"emoji and word tags", &conn.Extra{Tags: []string{"warning", "Skull", "backup", "nas\x00"}}, "",
			"⚠️💀 Disk full", "91%\nTags: backup, nas", ""},
		{"an attachment opens when there is no click URL", &conn.Extra{Attachment: &conn.Attachment{Name: "log.txt", URL: "https://ntfy.sh/file/a.txt", Size: 2048}}, "",
			"Disk full", "91%\n📎 log.txt (2.0 KB)", "https://ntfy.sh/file/a.txt"},
		{"the click URL wins over the attachment", &conn.Extra{Attachment: &conn.Attachment{Name: "a", URL: "https://x/a"}}, "https://click.example/",
			"Disk full", "91%\n📎 a", "https://click.example/"},
		{"an unsafe attachment URL never opens", &conn.Extra{Attachment: &conn.Attachment{Name: "a", URL: "javascript:alert(1)"}}, "",
			"Disk full", "91%\n📎 a", ""},
		{"no extras", nil, "", "Disk full", "91%", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := newEngine(testConfig()).single(conn.Message{Server: "s", ID: "1", Title: "Disk full", Body: "91%", URL: c.url, Extra: c.x}, "g")
			if p.Title != c.title || p.Body != c.body || p.URL != c.open {
				t.Fatalf("popup %q / %q / %q, want %q / %q / %q", p.Title, p.Body, p.URL, c.title, c.body, c.open)
			}
		})
	}
}

func TestSizesReadAsPeopleWriteThem(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 812: "812 B", 2048: "2.0 KB", 3_400_000: "3.4 MB", 5e9: "5.0 GB"} {
		if got := FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
	}
}

// Issue 21.7: summaries and connection notices were English for every
// user; they come from Config.Say.
func TestTheNotifiersOwnSentencesComeFromSay(t *testing.T) {
	cfg := testConfig()
	cfg.Say = func(key string, args map[string]any) string {
		if key == "popup.missed" {
			return fmt.Sprintf("错过了 %v 条消息", args["Count"])
		}
		return "«" + key + "»"
	}
	h := newHarness(t, cfg)
	for i := range 5 {
		m := msg(fmt.Sprint("c", i), "backup", "x")
		m.CatchUp = true
		h.send(m)
	}
	h.runUntilIdle()
	if got := h.titles(); len(got) != 1 || got[0] != "错过了 5 条消息" || h.out.popups[0].Body != "«popup.from»" {
		t.Fatalf("popups %q, body %q", got, h.out.popups[0].Body)
	}
	if english("popup.newfrom", map[string]any{"Count": 4, "Source": "ci"}) != "4 new messages from ci" {
		t.Fatal("the English default does not render its parameters")
	}
}
