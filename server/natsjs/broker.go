package natsjs

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tidings-app/tidings/server/hub"
)

// fanout is the instance's one consumer of the stream.
type fanout struct {
	cc jetstream.ConsumeContext
}

// startFanout creates the ordered consumer over every user's subject,
// starting with the messages stored from now on. An ordered consumer is
// ephemeral, unacknowledged and in stream order; the client library
// recreates it from the last sequence it delivered when it misses a
// heartbeat or the connection comes back, so a blip loses nothing.
func (b *Backend) startFanout(ctx context.Context) error {
	cons, err := b.stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{b.cfg.SubjectPrefix + ".>"},
		DeliverPolicy:  jetstream.DeliverNewPolicy,
	})
	if err != nil {
		return fmt.Errorf("natsjs: fan-out consumer: %w", err)
	}
	cc, err := cons.Consume(b.route,
		jetstream.PullMaxMessages(b.cfg.MaxPendingConsume),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			b.log.Debug("fan-out consumer", "err", err)
		}))
	if err != nil {
		return fmt.Errorf("natsjs: fan-out consume: %w", err)
	}
	b.fan = &fanout{cc: cc}
	return nil
}

func (b *Backend) stopFanout() {
	if b.fan == nil {
		return
	}
	b.fan.cc.Stop()
	<-b.fan.cc.Closed()
}

// route hands one stream message to the sockets of this instance that
// belong to its user. Messages for users without a socket here are dropped
// before being decoded.
func (b *Backend) route(msg jetstream.Msg) {
	user, ok := b.subjectUser(msg.Subject())
	if !ok || b.local.Subscribers(user) == 0 {
		return
	}
	meta, err := msg.Metadata()
	if err != nil {
		b.log.Warn("fan-out: no metadata", "err", err)
		return
	}
	m, err := decodeStored(msg.Data(), meta.Sequence.Stream)
	if err != nil {
		b.log.Warn("fan-out: skipping", "user", user, "err", err)
		return
	}
	frame, err := json.Marshal(m)
	if err != nil {
		return
	}
	b.local.Publish([]*hub.Envelope{{User: user, ID: m.ID, Frame: frame, Published: m.Time, Msg: m}})
}

// Subscribe implements hub.Broker.
func (b *Backend) Subscribe(user string, s hub.Subscriber) func() { return b.local.Subscribe(user, s) }

// Publish implements hub.Broker. It does nothing: every stored message
// reaches every instance, this one included, through its stream consumer.
func (b *Backend) Publish([]*hub.Envelope) {}

// Subscribers is how many sockets of this instance follow user.
func (b *Backend) Subscribers(user string) int { return b.local.Subscribers(user) }

// StreamInfo is the stream's state (sequences, cluster leader and replicas).
func (b *Backend) StreamInfo(ctx context.Context) (*jetstream.StreamInfo, error) {
	return b.stream.Info(ctx)
}
