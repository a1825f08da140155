package conn

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"strings"
	"time"
)

// Config is everything a Supervisor needs. Zero fields get the defaults of
// withDefaults; every duration is a field so tests can run in milliseconds.
type Config struct {
	// Server is the server's base URL: https://push.example (or wss://,
	// http://, ws://; http(s) is turned into ws(s)). The adapter adds the
	// path and query.
	Server string
	// Account identifies the account in Message.Server (for example the
	// server URL plus the user name). Defaults to Server.
	Account string
	// Adapter speaks the protocol. Required (NativeAdapter{} for Tidings).
	Adapter Adapter
	// Token is the credential sent in the Authorization header (the adapter
	// picks the header). SetCredentials replaces it.
	Token Secret
	// LastID is the id of the last message delivered in an earlier run
	// (from the history store); the first dial resumes after it.
	LastID string
	// RecentIDs are ids delivered in earlier runs (from the history store,
	// oldest first, at most DedupWindow are used). They seed the dedup
	// window, so a server that forgot LastID and replays its whole cache
	// (ntfy) repeats nothing across restarts either. Optional.
	RecentIDs []string
	// LastSent is the server's timestamp of the last message delivered in
	// an earlier run (from the history store). When the server's ids are
	// found to have restarted lower, what it holds sent no later than this
	// is not new (see IDsRestarted). Optional.
	LastSent time.Time

	// CAFile is an optional PEM file of extra CA certificates trusted in
	// addition to the system roots.
	CAFile string
	// AllowInsecure permits plain ws:// to hosts that are not loopback.
	AllowInsecure bool

	PingInterval      time.Duration // protocol ping period; default 15 s
	DeadAfter         time.Duration // silence after which the link is dead; default 25 s
	HandshakeTimeout  time.Duration // TCP + TLS + upgrade; default 10 s
	WriteTimeout      time.Duration // deadline of every write; default 5 s
	ProbeTimeout      time.Duration // a Kick while connected waits this long for any frame; default 500 ms
	HeartbeatInterval time.Duration // app-level heartbeat period (if the adapter has one); default 30 s
	ReadLimit         int64         // largest frame accepted; default 1 MiB
	BackoffBase       time.Duration // first retry window; default 500 ms
	BackoffCap        time.Duration // largest retry window (jitter is applied after it); default 30 s
	StableAfter       time.Duration // a connection up this long resets the backoff; default 30 s
	RetryAfterMax     time.Duration // a server's Retry-After is honoured up to this; default 10 min
	// RestartDials is how many dials follow the schedule a server hands out
	// (a proto.RestartHint: a slot in a period) before the usual backoff
	// takes over; default 8. The schedule comes with a 1012 close (a
	// graceful restart) or, for a stable connection that drops without
	// one, from the upgrade's proto.HeaderDropSlot. Its dials count as
	// attempts. RestartMinEvery is the shortest period accepted from a
	// server (a shorter one is raised to it); default 250 ms.
	RestartDials    int
	RestartMinEvery time.Duration
	// CatchUpSkew: a message whose server time is older than the dial by
	// more than this is marked CatchUp. Default 5 s.
	CatchUpSkew time.Duration
	// CatchUpRecheck: this long after a REST catch-up (Gotify) it is run
	// once more from the same point. A server that answers the upgrade
	// before it registers the stream (Gotify does) pushes a message stored
	// in between to nobody, after the first catch-up looked; the re-check
	// fetches it. Default 1 s.
	CatchUpRecheck time.Duration
	// MaxAttempts is the number of dials in a run of failures after which
	// the Supervisor goes Offline: it stops the rapid attempts and dials
	// once every SlowRetry (jittered: a uniform wait in [½, 1½)·SlowRetry)
	// besides a Kick, forever, so a server that comes back after a long
	// outage is found without a network-up or resume event. 0 means the
	// default (20); a negative value means never go Offline.
	MaxAttempts int
	SlowRetry   time.Duration // default 3 min
	// QuickDials: when a connection that was up at least QuickAfter drops,
	// the next QuickDials dials each wait a uniform [0, QuickWindow)
	// instead of the growing backoff, so a server that restarts (down for
	// a few seconds) is dialled again within QuickWindow of its return.
	// They neither grow the backoff nor count toward MaxAttempts. A
	// server's own schedule and a Retry-After outrank them. Defaults: 10
	// dials, 5 s, 1 s; a negative QuickDials turns it off. (A server that
	// closes every socket QuickAfter after the upgrade is dialled about
	// once per QuickAfter, never faster.)
	QuickDials  int
	QuickAfter  time.Duration
	QuickWindow time.Duration
	// DedupWindow is how many recent message ids are remembered to drop
	// repeats (needed for unordered ids such as ntfy's). Default 4096.
	DedupWindow int

	// Logger gets the Supervisor's logs (component=conn). Never sees
	// secrets or message content. Default: discard.
	Logger *slog.Logger
	// Sink receives state changes and messages; see Sink for the contract.
	Sink Sink

	// Now and Rand are the clock and the jitter source (a float in [0,1)).
	// Tests inject them; defaults are time.Now and math/rand/v2.
	Now  func() time.Time
	Rand func() float64
}

// Defaults, in one place.
const (
	DefaultPingInterval      = 15 * time.Second
	DefaultDeadAfter         = 25 * time.Second
	DefaultHandshakeTimeout  = 10 * time.Second
	DefaultWriteTimeout      = 5 * time.Second
	DefaultProbeTimeout      = 500 * time.Millisecond
	DefaultHeartbeatInterval = 30 * time.Second
	DefaultReadLimit         = 1 << 20
	DefaultBackoffBase       = 500 * time.Millisecond
	DefaultBackoffCap        = 30 * time.Second
	DefaultStableAfter       = 30 * time.Second
	DefaultRetryAfterMax     = 10 * time.Minute
	DefaultCatchUpSkew       = 5 * time.Second
	DefaultCatchUpRecheck    = time.Second
	DefaultMaxAttempts       = 20
	DefaultSlowRetry         = 3 * time.Minute
	DefaultQuickDials        = 10
	DefaultQuickAfter        = 5 * time.Second
	DefaultQuickWindow       = time.Second
	DefaultRestartDials      = 8
	DefaultRestartMinEvery   = 250 * time.Millisecond
	DefaultDedupWindow       = 4096
)

func (c Config) withDefaults() Config {
	setD := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	setD(&c.PingInterval, DefaultPingInterval)
	setD(&c.DeadAfter, DefaultDeadAfter)
	setD(&c.HandshakeTimeout, DefaultHandshakeTimeout)
	setD(&c.WriteTimeout, DefaultWriteTimeout)
	setD(&c.ProbeTimeout, DefaultProbeTimeout)
	setD(&c.HeartbeatInterval, DefaultHeartbeatInterval)
	setD(&c.BackoffBase, DefaultBackoffBase)
	setD(&c.BackoffCap, DefaultBackoffCap)
	setD(&c.StableAfter, DefaultStableAfter)
	setD(&c.RetryAfterMax, DefaultRetryAfterMax)
	setD(&c.CatchUpSkew, DefaultCatchUpSkew)
	setD(&c.CatchUpRecheck, DefaultCatchUpRecheck)
	setD(&c.RestartMinEvery, DefaultRestartMinEvery)
	setD(&c.SlowRetry, DefaultSlowRetry)
	setD(&c.QuickAfter, DefaultQuickAfter)
	setD(&c.QuickWindow, DefaultQuickWindow)
	if c.QuickDials == 0 {
		c.QuickDials = DefaultQuickDials
	}
	if c.RestartDials == 0 {
		c.RestartDials = DefaultRestartDials
	}
	if c.ReadLimit <= 0 {
		c.ReadLimit = DefaultReadLimit
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.DedupWindow <= 0 {
		c.DedupWindow = DefaultDedupWindow
	}
	if c.Account == "" {
		c.Account = c.Server
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	c.Logger = c.Logger.With("component", "conn")
	if c.Sink == nil {
		c.Sink = func(Event) {}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Rand == nil {
		c.Rand = rand.Float64
	}
	return c
}

// serverURL parses Config.Server, maps http(s) to ws(s) and applies the
// transport policy: wss always; ws only to loopback unless AllowInsecure.
func serverURL(raw string, allowInsecure bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("%w: cannot parse the address", ErrBadURL)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%w: credentials in the URL are not allowed", ErrBadURL)
	}
	switch strings.ToLower(u.Scheme) {
	case "https", "wss":
		u.Scheme = "wss"
	case "http", "ws":
		u.Scheme = "ws"
		if !allowInsecure && !isLoopback(u.Hostname()) {
			return nil, fmt.Errorf("%w (host %s)", ErrInsecureURL, u.Hostname())
		}
	default:
		return nil, fmt.Errorf("%w: scheme %q", ErrBadURL, u.Scheme)
	}
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}

// isLoopback: localhost, 127.0.0.0/8 or ::1. Names other than "localhost"
// are not resolved: a name that resolves to loopback today may not tomorrow.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// tlsConfig trusts the system roots plus the optional CA file. There is no
// way to turn verification off.
func tlsConfig(caFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile == "" {
		return cfg, nil // nil RootCAs = system roots
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCAFile, err)
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%w: no PEM certificate in %s", ErrCAFile, caFile)
	}
	cfg.RootCAs = pool
	return cfg, nil
}
