// Package natsjs is the NATS JetStream backend of tidings-server: several
// instances behind a load balancer share one NATS cluster, so a client can
// reconnect to any of them and lose nothing.
//
// A Backend is both a store.Store and a hub.Broker (and hub.Readiness):
//
//   - messages: one stream (default TIDINGS) over the subjects
//     <prefix>.<user>; a user's message id is the stream sequence, so ids are
//     increasing per user (not consecutive) and the same on every instance;
//   - accounts: three key-value buckets, users, tokens (by sha256) and group
//     members;
//   - fan-out: one ordered consumer per instance over <prefix>.>, routed in
//     process to the sockets of that instance by a hub.Local.
//
// docs/deployment.md describes the design and its trade-offs.
package natsjs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tidings-app/tidings/server/hub"
	"github.com/tidings-app/tidings/server/store"
)

// Errors.
var (
	ErrNoURL        = errors.New("natsjs: no NATS URL")
	ErrDisconnected = errors.New("natsjs: disconnected from NATS")
	ErrJetStream    = errors.New("natsjs: JetStream unavailable")
	ErrCorrupt      = errors.New("natsjs: undecodable record")
)

// Config says where NATS is and how the stream and buckets are laid out.
// Zero fields get the defaults of withDefaults.
type Config struct {
	URL       string   // nats://host:4222[,nats://…]; required
	CredsFile string   // NATS user credentials (JWT + nkey seed), optional
	CAFiles   []string // extra root CAs for TLS to NATS, optional
	CertFile  string   // client certificate for mutual TLS, optional
	KeyFile   string
	Name      string // connection name shown by NATS monitoring, default "tidings-server"

	Stream        string // default "TIDINGS"
	SubjectPrefix string // default "tidings.user"
	BucketPrefix  string // KV buckets <prefix>_users, _tokens, _groups; default "tidings"
	Replicas      int    // stream and bucket replicas, default 1 (3 on a 3-node cluster)
	// Retention mirrors the embedded store's: MaxAge and MaxCount (per user,
	// i.e. per subject) become the stream's MaxAge and MaxMsgsPerSubject.
	Retention store.Retention

	Timeout        time.Duration // each NATS request, default 5 s
	ReconnectWait  time.Duration // between reconnect attempts, default 1 s
	ProbeEvery     time.Duration // JetStream health probe, default 5 s
	PublishRetries int           // extra tries of a timed-out publish (same Msg-Id), default 2
	// DisconnectGrace is how long a lost NATS connection may last before
	// the instance reports not ready (and its sockets are moved). Default 0:
	// at once.
	DisconnectGrace time.Duration
	// MaxPendingConsume bounds messages buffered by the fan-out consumer,
	// default 4096.
	MaxPendingConsume int
}

func (c Config) withDefaults() Config {
	str := func(s *string, def string) {
		if *s == "" {
			*s = def
		}
	}
	dur := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	str(&c.Name, "tidings-server")
	str(&c.Stream, "TIDINGS")
	str(&c.SubjectPrefix, "tidings.user")
	str(&c.BucketPrefix, "tidings")
	if c.Replicas <= 0 {
		c.Replicas = 1
	}
	if c.Retention.MaxAge <= 0 {
		c.Retention.MaxAge = 30 * 24 * time.Hour
	}
	if c.Retention.MaxCount <= 0 {
		c.Retention.MaxCount = 1000
	}
	dur(&c.Timeout, 5*time.Second)
	dur(&c.ReconnectWait, time.Second)
	dur(&c.ProbeEvery, 5*time.Second)
	if c.PublishRetries < 0 {
		c.PublishRetries = 0
	} else if c.PublishRetries == 0 {
		c.PublishRetries = 2
	}
	if c.MaxPendingConsume <= 0 {
		c.MaxPendingConsume = 4096
	}
	return c
}

// Backend is one instance's view of the shared NATS state. Create it with
// Open; Close releases it (it does not delete anything in NATS).
type Backend struct {
	cfg Config
	log *slog.Logger

	nc                    *nats.Conn
	js                    jetstream.JetStream
	stream                jetstream.Stream
	users, tokens, groups jetstream.KeyValue

	local *hub.Local
	fan   *fanout

	mu        sync.Mutex
	connected bool
	jsErr     error // last probe's error
	lostAt    time.Time
	onChange  []func()
	grace     *time.Timer

	stop chan struct{}
	kick chan struct{} // capacity 1: probe now (after a reconnect)
	bg   sync.WaitGroup
	once sync.Once
}

var (
	_ store.Store   = (*Backend)(nil)
	_ hub.Broker    = (*Backend)(nil)
	_ hub.Readiness = (*Backend)(nil)
)

// Open connects to NATS, creates (or updates) the stream and the buckets,
// and starts the fan-out consumer. A nil log discards logs.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*Backend, error) {
	cfg = cfg.withDefaults()
	if cfg.URL == "" {
		return nil, ErrNoURL
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &Backend{cfg: cfg, log: log.With("component", "natsjs"), local: hub.NewLocal(),
		stop: make(chan struct{}), kick: make(chan struct{}, 1)}
	opts := []nats.Option{
		nats.Name(cfg.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(cfg.ReconnectWait),
		nats.Timeout(cfg.Timeout),
		nats.RetryOnFailedConnect(false),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) { b.setConnected(false, err) }),
		nats.ReconnectHandler(func(*nats.Conn) { b.setConnected(true, nil) }),
		nats.ClosedHandler(func(*nats.Conn) { b.setConnected(false, nats.ErrConnectionClosed) }),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			b.log.Warn("nats async error", "err", err)
		}),
	}
	if cfg.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(cfg.CredsFile))
	}
	if len(cfg.CAFiles) > 0 {
		opts = append(opts, nats.RootCAs(cfg.CAFiles...))
	}
	if cfg.CertFile != "" || cfg.KeyFile != "" {
		opts = append(opts, nats.ClientCert(cfg.CertFile, cfg.KeyFile))
	}
	nc, err := nats.Connect(cfg.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("natsjs: connect: %w", err)
	}
	b.nc = nc
	b.connected = true
	if err := b.setup(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	if err := b.startFanout(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	b.bg.Add(1)
	go b.prober()
	b.log.Info("connected", "server", nc.ConnectedUrlRedacted(), "stream", cfg.Stream, "replicas", cfg.Replicas)
	return b, nil
}

// setup creates or updates the stream and the buckets.
func (b *Backend) setup(ctx context.Context) error {
	js, err := jetstream.New(b.nc, jetstream.WithDefaultTimeout(b.cfg.Timeout))
	if err != nil {
		return fmt.Errorf("natsjs: jetstream: %w", err)
	}
	b.js = js
	ctx, cancel := context.WithTimeout(ctx, 4*b.cfg.Timeout)
	defer cancel()
	want := jetstream.StreamConfig{
		Name:              b.cfg.Stream,
		Description:       "tidings-server: every user's messages, one subject per user",
		Subjects:          []string{b.cfg.SubjectPrefix + ".>"},
		Retention:         jetstream.LimitsPolicy,
		Discard:           jetstream.DiscardOld,
		MaxAge:            b.cfg.Retention.MaxAge,
		MaxMsgsPerSubject: int64(b.cfg.Retention.MaxCount),
		Storage:           jetstream.FileStorage,
		Replicas:          b.cfg.Replicas,
		Duplicates:        2 * time.Minute,
	}
	// An existing stream is used as it is: one instance (or a "user add")
	// started with other flags must not change the replicas or the
	// retention of a stream the others use. Change them with the nats CLI.
	b.stream, err = js.Stream(ctx, want.Name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		b.stream, err = js.CreateStream(ctx, want)
	}
	if err != nil {
		return fmt.Errorf("natsjs: stream %s: %w", b.cfg.Stream, err)
	}
	if got := b.stream.CachedInfo().Config; got.Replicas != want.Replicas || got.MaxAge != want.MaxAge || got.MaxMsgsPerSubject != want.MaxMsgsPerSubject {
		b.log.Warn("stream exists with other settings; keeping them", "stream", want.Name,
			"replicas", got.Replicas, "max_age", got.MaxAge, "max_per_user", got.MaxMsgsPerSubject)
	}
	kv := func(suffix, desc string) (jetstream.KeyValue, error) {
		name := b.cfg.BucketPrefix + "_" + suffix
		k, err := js.KeyValue(ctx, name)
		if errors.Is(err, jetstream.ErrBucketNotFound) {
			k, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
				Bucket: name, Description: desc, History: 1, Storage: jetstream.FileStorage, Replicas: b.cfg.Replicas,
			})
		}
		if err != nil {
			return nil, fmt.Errorf("natsjs: bucket %s: %w", name, err)
		}
		return k, nil
	}
	if b.users, err = kv("users", "tidings-server accounts"); err != nil {
		return err
	}
	if b.tokens, err = kv("tokens", "tidings-server token hashes"); err != nil {
		return err
	}
	b.groups, err = kv("groups", "tidings-server group members")
	return err
}

// Close stops the fan-out and closes the NATS connection. Idempotent.
func (b *Backend) Close() error {
	b.once.Do(func() {
		close(b.stop)
		b.stopFanout()
		b.mu.Lock()
		if b.grace != nil {
			b.grace.Stop()
		}
		b.onChange = nil
		b.mu.Unlock()
		b.nc.Close()
		b.bg.Wait()
	})
	return nil
}
