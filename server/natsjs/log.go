package natsjs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/tidings-app/tidings/proto"
	"github.com/tidings-app/tidings/server/store"
)

// publishWindow is how many publishes to one recipient list are in flight
// before their acknowledgements are awaited.
const publishWindow = 512

// Append implements store.Store: one stream message per recipient on its
// subject; each recipient's id is the stream sequence of its copy. Unlike
// the SQLite store this is not one transaction: when it fails part way
// (NATS lost) some recipients may already have the message, and the
// publisher's retry gives them a second copy. A publish that is retried
// here after a timeout carries the same Nats-Msg-Id, so JetStream stores it
// once.
func (b *Backend) Append(ctx context.Context, to store.Recipients, m proto.Message) ([]store.Delivery, error) {
	users, err := b.recipients(ctx, to)
	if err != nil {
		return nil, err
	}
	if m.Time.IsZero() {
		m.Time = time.Now().UTC()
	}
	m.ID = 0
	body, err := json.Marshal(m)
	if err != nil {
		return nil, wrap("append", err)
	}
	out := make([]store.Delivery, 0, len(users))
	for start := 0; start < len(users); start += publishWindow {
		chunk := users[start:min(start+publishWindow, len(users))]
		seqs, err := b.publishAll(ctx, chunk, body)
		if err != nil {
			return nil, err
		}
		for i, u := range chunk {
			dm := m
			dm.ID = seqs[i]
			out = append(out, store.Delivery{User: u, Msg: dm})
		}
	}
	return out, nil
}

// publishAll publishes body to every user's subject and returns the stream
// sequences, in order. Failed acknowledgements are retried synchronously
// with the same message id.
func (b *Backend) publishAll(ctx context.Context, users []string, body []byte) ([]uint64, error) {
	ids := make([]string, len(users))
	seqs := make([]uint64, len(users))
	futs := make([]jetstream.PubAckFuture, len(users))
	if len(users) > 1 {
		for i, u := range users {
			ids[i] = nuid.Next()
			f, err := b.js.PublishMsgAsync(&nats.Msg{Subject: b.userSubject(u), Data: body}, jetstream.WithMsgID(ids[i]))
			if err == nil {
				futs[i] = f
			}
		}
	}
	for i, u := range users {
		if ids[i] == "" {
			ids[i] = nuid.Next()
		}
		if f := futs[i]; f != nil {
			select {
			case ack := <-f.Ok():
				seqs[i] = ack.Sequence
				continue
			case <-f.Err():
			case <-ctx.Done():
				return nil, wrap("append", ctx.Err())
			}
		}
		seq, err := b.publishOne(ctx, b.userSubject(u), body, ids[i])
		if err != nil {
			return nil, err
		}
		seqs[i] = seq
	}
	return seqs, nil
}

func (b *Backend) publishOne(ctx context.Context, subject string, body []byte, id string) (uint64, error) {
	var err error
	for try := 0; try <= b.cfg.PublishRetries; try++ {
		var ack *jetstream.PubAck
		ack, err = b.js.PublishMsg(ctx, &nats.Msg{Subject: subject, Data: body}, jetstream.WithMsgID(id))
		if err == nil {
			return ack.Sequence, nil
		}
		if ctx.Err() != nil {
			break
		}
		b.log.Debug("publish retry", "try", try+1, "err", err)
	}
	return 0, wrap("append", err)
}

// recipients resolves to into user names.
func (b *Backend) recipients(ctx context.Context, to store.Recipients) ([]string, error) {
	switch {
	case to.User != "" && to.Group == "" && !to.All:
		if _, err := b.userRecord(ctx, to.User); err != nil {
			return nil, err
		}
		return []string{to.User}, nil
	case to.Group != "" && to.User == "" && !to.All:
		return b.members(ctx, to.Group)
	case to.All && to.User == "" && to.Group == "":
		keys, err := b.keys(ctx, b.users, ">")
		if err != nil {
			return nil, wrap("list users", err)
		}
		out := make([]string, 0, len(keys))
		for _, k := range keys {
			if name, ok := decodeName(k); ok {
				out = append(out, name)
			}
		}
		return out, nil
	}
	return nil, store.ErrNoRecipients
}

// lastID is the stream sequence of user's newest message, 0 if none.
func (b *Backend) lastID(ctx context.Context, user string) (uint64, error) {
	raw, err := b.stream.GetLastMsgForSubject(ctx, b.userSubject(user))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, wrap("last message", err)
	}
	return raw.Sequence, nil
}

// Since implements store.Store. It reads the user's subject through the
// stream leader (STREAM.MSG.GET "next by subject"), never a follower that may
// lag behind an acknowledged publish: first the newest sequence (nothing to
// do when the client is up to date), then one request per message.
func (b *Backend) Since(ctx context.Context, user string, after uint64, limit int) ([]proto.Message, error) {
	if after == math.MaxUint64 || limit <= 0 {
		return nil, nil
	}
	last, err := b.lastID(ctx, user)
	if err != nil || last <= after {
		return nil, err
	}
	subj := b.userSubject(user)
	var out []proto.Message
	for seq := after + 1; len(out) < limit && seq <= last; {
		raw, err := b.stream.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subj))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			break
		}
		if err != nil {
			return nil, wrap("replay", err)
		}
		if m, err := decodeStored(raw.Data, raw.Sequence); err != nil {
			b.log.Warn("skipping undecodable message", "user", user, "err", err)
		} else {
			out = append(out, m)
		}
		seq = raw.Sequence + 1
	}
	return out, nil
}

// Prune implements store.Store. The stream applies the retention itself
// (MaxAge, MaxMsgsPerSubject), so there is nothing to do.
func (b *Backend) Prune(context.Context, time.Time, store.Retention) (int64, error) {
	return 0, nil
}

// decodeStored turns a stream message into the user's proto.Message.
func decodeStored(data []byte, seq uint64) (proto.Message, error) {
	var m proto.Message
	if err := json.Unmarshal(data, &m); err != nil {
		return m, fmt.Errorf("%w: message %d", ErrCorrupt, seq)
	}
	m.ID = seq
	return m, nil
}
