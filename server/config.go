// Package server is tidings-server: the login and publish HTTP API and the
// WebSocket that pushes each user's messages, over a store.Store for
// persistence and a hub.Broker for fan-out. docs/protocol.md describes the
// wire format; proto/ holds its types.
package server

import (
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/tidings-app/tidings/server/store"
)

// DefaultAddr is where serve listens when no address is given.
const DefaultAddr = "127.0.0.1:8437"

// Rate is a token bucket: Burst attempts at once, then one more every Every.
type Rate struct {
	Burst int
	Every time.Duration
}

// Config tunes the server. Zero fields get the defaults of withDefaults.
type Config struct {
	Addr    string // listen address, default DefaultAddr
	TLSCert string // PEM files; TLS is on when both are set
	TLSKey  string

	// Now is the server's clock (default time.Now): restart slots, message
	// times, retention and rate limits read it. Tests set it.
	Now func() time.Time

	PingPeriod time.Duration // protocol ping interval, default 15 s
	PongWait   time.Duration // a client silent this long is dropped, default 25 s
	WriteWait  time.Duration // deadline of each socket write, default 5 s

	MaxMessage     int // bytes of a message body, default 4 KiB (413 above)
	MaxRequest     int // bytes of an HTTP request body, default 64 KiB (413 above)
	MaxTitle       int // bytes of a title, default 256
	MaxClientFrame int // bytes of a frame a client may send, default 512 (1009 above)
	QueueLen       int // messages waiting per socket before it is dropped as slow, default 64
	ReplayBatch    int // messages read from the store per replay query, default 256

	ReadBufferSize  int // per-socket read buffer, default 512 bytes
	WriteBufferSize int // pooled write buffers, default 4 KiB + frame header
	// GoroutineReaders reads every socket from a goroutine of its own, as
	// on systems without epoll and for TLS sockets, instead of the poller
	// that leaves idle sockets without one (Linux, plain TCP).
	GoroutineReaders bool

	LoginPerIP   Rate // default 10 at once, then 1 per 6 s
	LoginPerUser Rate // default 5 at once, then 1 per 12 s
	BcryptCost   int  // default bcrypt.DefaultCost

	Retention       store.Retention // default 30 days, 1000 messages per user
	PruneEvery      time.Duration   // retention run interval, default 10 min
	RevalidateEvery time.Duration   // re-check tokens of open sockets, default 1 min

	AllowedOrigins []string // browser origins allowed besides the server's own

	ReadHeaderTimeout time.Duration // default 10 s
	IdleTimeout       time.Duration // keep-alive HTTP connections, default 60 s
	ShutdownTimeout   time.Duration // graceful shutdown bound, default 10 s
	// RestartSpread and RestartRate shape the reconnect schedule a graceful
	// shutdown hands its clients (close 1012 with a proto.RestartHint): each
	// client gets its own slot in one period, so that they come back evenly
	// spread, and the period is long enough for RestartRate dials a second,
	// but at least RestartSpread. Defaults 1.75 s and 1 000 dials/s: at
	// most 1/17.5 of the clients are due in any 100 ms, which leaves room
	// for the spread in when the closes (or a crash's resets) reach them
	// while staying under a tenth (at 1.5 s, 200 clients in one process
	// reached 19 in 100 ms, against a limit of under 20). The same period
	// shapes the slot each socket is given for a drop (dropSlot).
	RestartSpread time.Duration
	RestartRate   int
	// UnavailableRetryAfter is the Retry-After sent with a 503 while the
	// broker is not ready (hub.Readiness), default 2 s.
	UnavailableRetryAfter time.Duration
}

// Defaults returns c with every zero field set to its default.
func (c Config) Defaults() Config { return c.withDefaults() }

func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	dur := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	num := func(n *int, def int) {
		if *n <= 0 {
			*n = def
		}
	}
	dur(&c.PingPeriod, 15*time.Second)
	dur(&c.PongWait, 25*time.Second)
	dur(&c.WriteWait, 5*time.Second)
	num(&c.MaxMessage, 4<<10)
	num(&c.MaxRequest, 64<<10)
	num(&c.MaxTitle, 256)
	num(&c.MaxClientFrame, 512)
	num(&c.QueueLen, 64)
	num(&c.ReplayBatch, 256)
	num(&c.ReadBufferSize, 512)
	num(&c.WriteBufferSize, 4<<10+16)
	if c.LoginPerIP.Burst <= 0 {
		c.LoginPerIP = Rate{Burst: 10, Every: 6 * time.Second}
	}
	if c.LoginPerUser.Burst <= 0 {
		c.LoginPerUser = Rate{Burst: 5, Every: 12 * time.Second}
	}
	dur(&c.LoginPerIP.Every, 6*time.Second)
	dur(&c.LoginPerUser.Every, 12*time.Second)
	if c.BcryptCost < bcrypt.MinCost {
		c.BcryptCost = bcrypt.DefaultCost
	}
	if c.Retention.MaxAge <= 0 {
		c.Retention.MaxAge = 30 * 24 * time.Hour
	}
	num(&c.Retention.MaxCount, 1000)
	dur(&c.PruneEvery, 10*time.Minute)
	dur(&c.RevalidateEvery, time.Minute)
	dur(&c.ReadHeaderTimeout, 10*time.Second)
	dur(&c.IdleTimeout, 60*time.Second)
	dur(&c.ShutdownTimeout, 10*time.Second)
	dur(&c.RestartSpread, 1750*time.Millisecond)
	num(&c.RestartRate, 1000)
	dur(&c.UnavailableRetryAfter, 2*time.Second)
	return c
}
