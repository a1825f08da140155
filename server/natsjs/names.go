package natsjs

import (
	"fmt"
	"strings"

	"github.com/tidings-app/tidings/server/store"
)

// Names are [A-Za-z0-9._@-] (store.ValidName). A NATS subject token cannot
// hold '.', and a KV key cannot hold '@', so both are escaped as "=XX" (hex):
// '=' itself never occurs in a name, which keeps the mapping reversible.
// "alice" stays "alice"; "a.b@c" becomes "a=2Eb=40c".

// encodeName maps a valid name to a subject token / KV key part.
func encodeName(name string) string {
	if !strings.ContainsAny(name, ".@") {
		return name
	}
	var b strings.Builder
	for _, c := range []byte(name) {
		if c == '.' || c == '@' {
			fmt.Fprintf(&b, "=%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// decodeName reverses encodeName; ok is false for a token it cannot have
// made (a raw '.' or '@', a bad escape, or not a valid name once decoded).
func decodeName(tok string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(tok); i++ {
		switch c := tok[i]; c {
		case '.', '@':
			return "", false
		case '=':
			if i+3 > len(tok) {
				return "", false
			}
			switch tok[i+1 : i+3] {
			case "2E":
				b.WriteByte('.')
			case "40":
				b.WriteByte('@')
			default:
				return "", false
			}
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	name := b.String()
	return name, store.ValidName(name)
}

// userSubject is the stream subject of user's messages.
func (b *Backend) userSubject(user string) string {
	return b.cfg.SubjectPrefix + "." + encodeName(user)
}

// subjectUser is the user a stream subject belongs to.
func (b *Backend) subjectUser(subject string) (string, bool) {
	p := b.cfg.SubjectPrefix + "."
	if !strings.HasPrefix(subject, p) {
		return "", false
	}
	return decodeName(subject[len(p):])
}
