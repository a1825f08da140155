package proto

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDecodeFrameClassifiesEveryKindOfFrame(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		kind    FrameKind
		wantErr error
		check   func(t *testing.T, m Message)
	}{
		{name: "heartbeat", in: "HeartBeat", kind: FrameHeartbeat},
		{name: "heartbeat with newline", in: "HeartBeat\n", kind: FrameHeartbeat},
		{name: "full message", in: `{"id":7,"time":"2026-11-25T10:00:00Z","title":"t","message":"b","priority":5,"url":"https://x.test/","topic":"backup","content_type":"text/markdown"}` + "\n",
			kind: FrameMessage, check: func(t *testing.T, m Message) {
				if m.ID != 7 || m.Title != "t" || m.Message != "b" || m.Priority != 5 || m.URL != "https://x.test/" || m.Topic != "backup" || m.ContentType != ContentMarkdown {
					t.Fatalf("decoded %+v", m)
				}
				if !m.Time.Equal(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)) {
					t.Fatalf("time %v", m.Time)
				}
			}},
		{name: "missing priority means default", in: `{"id":1,"message":"x"}`, kind: FrameMessage,
			check: func(t *testing.T, m Message) {
				if m.Priority != PriorityDefault {
					t.Fatalf("priority %d", m.Priority)
				}
			}},
		{name: "empty", in: "", wantErr: ErrEmptyFrame},
		{name: "only newline", in: "\n", wantErr: ErrEmptyFrame},
		{name: "not json", in: "hello there", wantErr: ErrBadFrame},
		{name: "missing id", in: `{"message":"x"}`, wantErr: ErrBadFrame},
		{name: "priority out of range", in: `{"id":1,"message":"x","priority":9}`, wantErr: ErrBadFrame},
		{name: "wrong type", in: `{"id":"one","message":"x"}`, wantErr: ErrBadFrame},
		{name: "heartbeat in other case is not a heartbeat", in: "heartbeat", wantErr: ErrBadFrame},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kind, m, err := DecodeFrame([]byte(tt.in))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if kind != tt.kind {
				t.Fatalf("kind = %v, want %v", kind, tt.kind)
			}
			if tt.check != nil {
				tt.check(t, m)
			}
		})
	}
}

func TestDecodeErrorsNeverEchoFrameContent(t *testing.T) {
	secret := "s3cr3t-body-content"
	for _, in := range []string{
		secret,
		`{"id":1,"message":"` + secret + `","priority":99}`,
		`{"id":1,"time":"` + secret + `","message":"x"}`,
		`{"id":1,"message":` + secret + `}`,
	} {
		_, _, err := DecodeFrame([]byte(in))
		if err == nil {
			t.Fatalf("no error for %q", in)
		}
		if strings.Contains(err.Error(), secret) {
			t.Fatalf("error echoes content: %v", err)
		}
	}
}

func TestEncodedMessageDecodesToTheSameMessage(t *testing.T) {
	in := Message{ID: 42, Time: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), Title: "T", Message: "B", Priority: 2, URL: "https://a.test", Topic: "ci"}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	kind, out, err := DecodeFrame(b)
	if err != nil || kind != FrameMessage {
		t.Fatalf("kind %v err %v", kind, err)
	}
	if out != in {
		t.Fatalf("round trip: got %+v want %+v", out, in)
	}
}

func FuzzDecodeFrame(f *testing.F) {
	f.Add([]byte("HeartBeat"))
	f.Add([]byte(`{"id":1,"time":"2026-11-25T10:00:00Z","title":"t","message":"b","priority":3}`))
	f.Add([]byte(`{"id":18446744073709551615,"message":"\u202e","priority":5,"url":"javascript:alert(1)"}`))
	f.Add([]byte(`{"id":1,"message":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		kind, m, err := DecodeFrame(b)
		if err != nil {
			if kind != 0 {
				t.Fatalf("error with kind %v", kind)
			}
			return
		}
		if kind == FrameMessage && (m.ID == 0 || m.Priority < PriorityMin || m.Priority > PriorityUrgent) {
			t.Fatalf("accepted invalid message %+v", m)
		}
	})
}
