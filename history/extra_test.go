package history

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tidings-app/tidings/conn"
)

// Issue 21.4: ntfy tags, actions and attachments and Gotify's big image
// never reached the history: they are stored with the message and read
// back, cut to bounds a publisher cannot exceed.
func TestAMessagesExtrasAreStoredAndReadBackWithinBounds(t *testing.T) {
	s := openStore(t, testConfig(t))
	m := msg("x1", 1)
	m.Extra = &conn.Extra{
		Tags:       append([]string{"warning", "skull", "backup"}, strings.Split(strings.Repeat("t,", 30), ",")...),
		Actions:    []conn.Action{{Kind: "view", Label: "Open", URL: "https://example.com/a"}, {Kind: "http", Label: "Retry", URL: "https://ci/x"}, {Kind: "view", Label: "3"}, {Kind: "view", Label: "4"}},
		Attachment: &conn.Attachment{Name: "log.txt", URL: "https://ntfy.sh/file/x.txt", Size: 2048, Expires: time.Unix(1800000000, 0).UTC()},
		Image:      "https://img.example/big.png",
	}
	plain := msg("x2", 2)
	if _, err := s.InsertBatch(context.Background(), []conn.Message{m, plain}); err != nil {
		t.Fatal(err)
	}
	e, ok, err := s.Get(context.Background(), Key{m.Server, "x1"})
	if err != nil || !ok || e.Extra == nil {
		t.Fatalf("get: %v %v %+v", ok, err, e.Extra)
	}
	x := e.Extra
	if len(x.Tags) != maxTags || x.Tags[0] != "warning" || len(x.Actions) != maxActions || x.Actions[1].Kind != "http" ||
		x.Attachment == nil || x.Attachment.Size != 2048 || !x.Attachment.Expires.Equal(m.Extra.Attachment.Expires) || x.Image != m.Extra.Image {
		t.Fatalf("read back %+v", x)
	}
	if p, _, _ := s.Get(context.Background(), Key{plain.Server, "x2"}); p.Extra != nil {
		t.Fatalf("a message without extras reads back %+v", p.Extra)
	}
}

func FuzzDecodeExtra(f *testing.F) {
	f.Add(`{"Tags":["a"],"Actions":null}`)
	f.Add(`{"Attachment":{"Size":-1}}`)
	f.Add(`not json`)
	f.Fuzz(func(t *testing.T, s string) {
		x := decodeExtra(s)
		if x != nil && encodeExtra(x) != "" && decodeExtra(encodeExtra(x)) == nil {
			t.Fatalf("re-encoded extras do not decode: %q", s)
		}
	})
}
