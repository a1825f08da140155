package server

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/gorilla/websocket"
)

// frame builds a client frame: masked unless unmasked is set.
func frame(first byte, payload []byte, unmasked bool) []byte {
	var b []byte
	b = append(b, first)
	mask := byte(0x80)
	if unmasked {
		mask = 0
	}
	switch n := len(payload); {
	case n <= 125:
		b = append(b, mask|byte(n))
	case n <= 0xffff:
		b = append(b, mask|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, mask|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	if unmasked {
		return append(b, payload...)
	}
	key := []byte{0x12, 0x34, 0x56, 0x78}
	b = append(b, key...)
	for i, c := range payload {
		b = append(b, c^key[i&3])
	}
	return b
}

func TestClientFramesParseAsRFC6455SaysAServerReadsThem(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 300)
	tests := []struct {
		name    string
		in      []byte
		limit   int
		op      int
		payload string
		n       int // bytes taken; 0 = incomplete
		err     error
	}{
		{"text HeartBeat", frame(0x81, []byte("HeartBeat"), false), 512, websocket.TextMessage, "HeartBeat", 15, nil},
		{"empty pong", frame(0x8a, nil, false), 512, websocket.PongMessage, "", 6, nil},
		{"ping with data", frame(0x89, []byte("abc"), false), 512, websocket.PingMessage, "abc", 9, nil},
		{"16-bit length", frame(0x82, big, false), 512, websocket.BinaryMessage, string(big), 4 + 4 + 300, nil},
		{"one byte", []byte{0x81}, 512, 0, "", 0, nil},
		{"header without key", frame(0x81, []byte("HeartBeat"), false)[:4], 512, 0, "", 0, nil},
		{"half a payload", frame(0x81, []byte("HeartBeat"), false)[:10], 512, 0, "", 0, nil},
		{"half a 16-bit length", frame(0x82, big, false)[:3], 512, 0, "", 0, nil},
		{"unmasked", frame(0x81, []byte("x"), true), 512, 0, "", 0, errFrameProtocol},
		{"reserved bit", frame(0xc1, []byte("x"), false), 512, 0, "", 0, errFrameProtocol},
		{"unknown opcode", frame(0x83, []byte("x"), false), 512, 0, "", 0, errFrameProtocol},
		{"fragmented ping", frame(0x09, []byte("x"), false), 512, 0, "", 0, errFrameProtocol},
		{"long ping", frame(0x89, big[:126], false), 512, 0, "", 0, errFrameProtocol},
		{"over the limit", frame(0x82, big, false), 256, 0, "", 0, errFrameTooBig},
		{"64-bit length over the limit", frame(0x82, bytes.Repeat([]byte("y"), 70000), false)[:14], 512, 0, "", 0, errFrameTooBig},
		{"64-bit length with the top bit", append([]byte{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1}, 1, 2, 3, 4), 512, 0, "", 0, errFrameProtocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, n, err := parseClientFrame(tt.in, tt.limit)
			if !errors.Is(err, tt.err) || n != tt.n {
				t.Fatalf("n %d err %v, want n %d err %v", n, err, tt.n, tt.err)
			}
			if n > 0 && (f.op != tt.op || string(f.payload) != tt.payload || !f.fin) {
				t.Errorf("op %d payload %q fin %v", f.op, f.payload, f.fin)
			}
		})
	}
}

func TestCloseCodesAreReadAndMalformedOnesRefused(t *testing.T) {
	for _, tt := range []struct {
		payload []byte
		code    int
		ok      bool
	}{
		{nil, websocket.CloseNoStatusReceived, true},
		{websocket.FormatCloseMessage(1000, "bye"), 1000, true},
		{websocket.FormatCloseMessage(4001, ""), 4001, true},
		{[]byte{3}, 0, false},
		{[]byte{0x03, 0xed}, 1005, false}, // 1005 must not be sent
		{websocket.FormatCloseMessage(999, ""), 999, false},
		{websocket.FormatCloseMessage(2000, ""), 2000, false},
	} {
		code, ok := closeCodeOf(tt.payload)
		if code != tt.code || ok != tt.ok {
			t.Errorf("%v: %d %v, want %d %v", tt.payload, code, ok, tt.code, tt.ok)
		}
	}
}

func FuzzParseClientFrame(f *testing.F) {
	f.Add(frame(0x81, []byte("HeartBeat"), false))
	f.Add(frame(0x8a, nil, false))
	f.Add(frame(0x88, websocket.FormatCloseMessage(1000, ""), false))
	f.Add(frame(0x82, bytes.Repeat([]byte("x"), 300), false))
	f.Add([]byte{0x82, 0xff, 0, 0, 0, 0, 0, 0, 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		in := append([]byte(nil), b...)
		for len(in) > 0 {
			fr, n, err := parseClientFrame(in, 512)
			if err != nil || n == 0 {
				return
			}
			if n > len(in) || len(fr.payload) > n {
				t.Fatalf("took %d of %d bytes, payload %d", n, len(in), len(fr.payload))
			}
			if fr.op >= 8 && len(fr.payload) > 125 || fr.op < 8 && len(fr.payload) > 512 {
				t.Fatalf("op %d with %d bytes passed", fr.op, len(fr.payload))
			}
			in = in[n:]
		}
	})
}
