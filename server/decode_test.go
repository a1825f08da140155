package server

import (
	"errors"
	"strings"
	"testing"

	"github.com/tidings-app/tidings/proto"
)

func TestDecodePublishAcceptsEveryRecipientKind(t *testing.T) {
	for _, body := range []string{
		`{"to":"alice","message":"x"}`,
		`{"group":"ops","title":"only a title"}`,
		`{"all":true,"message":"x","priority":5,"url":"http://a.test/p?q=1","topic":"ci","content_type":"text/markdown"}`,
	} {
		p, err := DecodePublish([]byte(body), Config{})
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if p.Priority < 1 || p.Priority > 5 {
			t.Fatalf("%s: priority %d", body, p.Priority)
		}
	}
}

func FuzzDecodePublish(f *testing.F) {
	f.Add([]byte(`{"to":"alice","title":"t","message":"m","priority":3}`))
	f.Add([]byte(`{"group":"ops","message":"m","url":"https://x.test","topic":"ci"}`))
	f.Add([]byte(`{"all":true,"message":"\u202e","content_type":"text/markdown"}`))
	f.Add([]byte(`{"to":"a","to":"b","message":"x"}`))
	f.Add([]byte(`{"to":"alice","message":"x","url":"javascript:alert(1)"}`))
	f.Add([]byte(`[]`))
	cfg := Config{MaxMessage: 64}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := DecodePublish(b, cfg)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrBadRecipient) && !errors.Is(err, ErrBadField) {
				t.Fatalf("unclassified error %v", err)
			}
			if len(b) > 20 && strings.Contains(err.Error(), string(b)) {
				t.Fatalf("error echoes the request")
			}
			return
		}
		recipients := 0
		for _, set := range []bool{p.To != "", p.Group != "", p.All} {
			if set {
				recipients++
			}
		}
		if recipients != 1 || p.Priority < proto.PriorityMin || p.Priority > proto.PriorityUrgent ||
			len(p.Message) > cfg.MaxMessage || (p.URL != "" && checkURL(p.URL) != nil) {
			t.Fatalf("accepted invalid request %+v", p)
		}
	})
}
