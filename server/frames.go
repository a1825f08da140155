package server

import (
	"encoding/binary"
	"errors"

	"github.com/gorilla/websocket"
)

// What a client may send on /ws is small: pongs, pings, the text HeartBeat,
// a close frame. Sockets read by the poller (poller_linux.go) are parsed
// here instead of by gorilla's reader, which needs a goroutine blocked in
// NextReader for as long as the socket lives. Writes stay with gorilla.

// Errors of a client's framing; each names the close code sent back.
var (
	errFrameProtocol = errors.New("server: websocket protocol error")
	errFrameTooBig   = errors.New("server: client frame too large")
)

// clientFrame is one parsed frame from a client, its payload unmasked.
type clientFrame struct {
	op      int // websocket.TextMessage, PingMessage, … or 0 (continuation)
	fin     bool
	payload []byte // aliases the input
}

// parseClientFrame parses the first frame of b (RFC 6455 §5.2, as a server
// reads it: masked, no extensions). It returns the frame and the bytes it
// took; n == 0 with a nil error means b holds only part of a frame. Data
// frames over limit bytes are errFrameTooBig; anything RFC 6455 forbids a
// client is errFrameProtocol. The payload is unmasked in place.
func parseClientFrame(b []byte, limit int) (f clientFrame, n int, err error) {
	if len(b) < 2 {
		return f, 0, nil
	}
	if b[0]&0x70 != 0 { // RSV1-3: no extension was negotiated
		return f, 0, errFrameProtocol
	}
	f.fin = b[0]&0x80 != 0
	f.op = int(b[0] & 0x0f)
	control := f.op >= 8
	switch f.op {
	case 0, websocket.TextMessage, websocket.BinaryMessage,
		websocket.CloseMessage, websocket.PingMessage, websocket.PongMessage:
	default:
		return f, 0, errFrameProtocol
	}
	if b[1]&0x80 == 0 { // a client must mask
		return f, 0, errFrameProtocol
	}
	size, pos := uint64(b[1]&0x7f), 2
	switch size {
	case 126:
		if len(b) < 4 {
			return f, 0, nil
		}
		size, pos = uint64(binary.BigEndian.Uint16(b[2:])), 4
	case 127:
		if len(b) < 10 {
			return f, 0, nil
		}
		size, pos = binary.BigEndian.Uint64(b[2:]), 10
		if size>>63 != 0 {
			return f, 0, errFrameProtocol
		}
	}
	if control && (!f.fin || size > 125) {
		return f, 0, errFrameProtocol
	}
	if !control && size > uint64(limit) {
		return f, 0, errFrameTooBig
	}
	if uint64(len(b)-pos) < 4+size {
		return f, 0, nil
	}
	key := b[pos : pos+4]
	pos += 4
	f.payload = b[pos : pos+int(size)]
	for i := range f.payload {
		f.payload[i] ^= key[i&3]
	}
	return f, pos + int(size), nil
}

// closeCodeOf returns the status code of a close frame's payload: 1005
// when it has none, ok false when the payload is malformed.
func closeCodeOf(payload []byte) (code int, ok bool) {
	switch len(payload) {
	case 0:
		return websocket.CloseNoStatusReceived, true
	case 1:
		return 0, false
	}
	code = int(binary.BigEndian.Uint16(payload))
	valid := code >= 1000 && code <= 4999 && code != 1004 && code != 1005 && code != 1006 && code != 1015 &&
		(code < 1016 || code >= 3000)
	return code, valid
}
