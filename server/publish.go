package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/tidings-app/tidings/proto"
	"github.com/tidings-app/tidings/server/hub"
	"github.com/tidings-app/tidings/server/store"
)

// maxBatch bounds how many publishes share one store write.
const maxBatch = 256

// publisher is group commit for publishes. The store makes every publish
// durable before it is acknowledged (SQLite: synchronous=FULL, one disk
// sync per transaction), which bounded a server to a few hundred publishes
// a second on one disk. Publishes that arrive while a write is under way
// queue; the next write takes all of them (up to maxBatch) at once when
// the store is a store.BatchAppender. One publish at a time leads: it
// writes a batch, hands its messages to the broker in order, answers the
// batch, and passes the lead to the oldest queued publish. So each user's
// frames still go out in id order, and each publisher is still answered
// only after its message is on disk.
type publisher struct {
	mu      sync.Mutex
	queue   []*pubReq
	leading bool
}

type pubReq struct {
	ctx   context.Context
	start time.Time
	item  store.AppendItem
	lead  chan bool // true: lead the next batch; false: done, see n and err
	n     int
	err   error
}

// publish stores req's message for every recipient, then hands it to the
// broker, and returns the number of recipients.
func (s *Server) publish(r *http.Request, start time.Time, req proto.PublishRequest) (int, error) {
	m := proto.Message{Time: s.now().UTC(), Title: req.Title, Message: req.Message, Priority: req.Priority,
		URL: req.URL, Topic: req.Topic, ContentType: req.ContentType}
	p := &pubReq{ctx: r.Context(), start: start, lead: make(chan bool, 1),
		item: store.AppendItem{To: store.Recipients{User: req.To, Group: req.Group, All: req.All}, Msg: m}}
	q := &s.pub
	q.mu.Lock()
	q.queue = append(q.queue, p)
	lead := !q.leading
	q.leading = true
	q.mu.Unlock()
	if !lead && !<-p.lead {
		return p.n, p.err
	}
	// Leading: p is first in the queue.
	q.mu.Lock()
	batch := q.queue[:min(len(q.queue), maxBatch)]
	q.queue = append([]*pubReq(nil), q.queue[len(batch):]...)
	q.mu.Unlock()
	s.writeBatch(batch)
	for _, b := range batch[1:] {
		b.lead <- false
	}
	q.mu.Lock()
	if len(q.queue) > 0 {
		q.queue[0].lead <- true
	} else {
		q.leading = false
	}
	q.mu.Unlock()
	return p.n, p.err
}

// queued is how many publishes wait for the current write (tests).
func (s *Server) queued() int {
	s.pub.mu.Lock()
	defer s.pub.mu.Unlock()
	return len(s.pub.queue)
}

// writeBatch stores the batch, fans out what was stored, and sets each
// request's outcome. A request whose publisher has gone before the write
// is skipped.
func (s *Server) writeBatch(batch []*pubReq) {
	live := make([]*pubReq, 0, len(batch))
	for _, p := range batch {
		if err := p.ctx.Err(); err != nil {
			p.err = fmt.Errorf("server: publish: %w", err)
			continue
		}
		live = append(live, p)
	}
	if len(live) == 0 {
		return
	}
	// The write is shared: it must not stop because one publisher left.
	ctx := context.WithoutCancel(live[0].ctx)
	t0 := s.now()
	results, err := s.appendAll(ctx, live)
	if err != nil {
		for _, p := range live {
			p.err = err
		}
		return
	}
	t1 := s.now()
	var es []*hub.Envelope
	for i, p := range live {
		res := results[i]
		if p.err = res.Err; p.err != nil {
			continue
		}
		p.n = len(res.Deliveries)
		s.m.published.Inc()
		s.m.stored.Add(float64(len(res.Deliveries)))
		for _, d := range res.Deliveries {
			frame, err := json.Marshal(d.Msg)
			if err != nil { // a proto.Message always encodes
				p.err = fmt.Errorf("server: encode: %w", err)
				break
			}
			es = append(es, &hub.Envelope{User: d.User, ID: d.Msg.ID, Frame: frame, Published: p.start, Msg: d.Msg})
		}
	}
	t2 := s.now()
	if len(es) > 0 {
		s.broker.Publish(es)
	}
	s.m.batch.Observe(float64(len(live)))
	s.log.Debug("fan-out", "publishes", len(live), "frames", len(es), "wait", t0.Sub(live[0].start),
		"store", t1.Sub(t0), "encode", t2.Sub(t1), "publish", s.now().Sub(t2))
}

// appendAll writes the batch with one AppendBatch when the store offers
// it, else one Append each.
func (s *Server) appendAll(ctx context.Context, batch []*pubReq) ([]store.Appended, error) {
	if ba, ok := s.store.(store.BatchAppender); ok {
		items := make([]store.AppendItem, len(batch))
		for i, p := range batch {
			items[i] = p.item
		}
		return ba.AppendBatch(ctx, items)
	}
	out := make([]store.Appended, len(batch))
	for i, p := range batch {
		out[i].Deliveries, out[i].Err = s.store.Append(ctx, p.item.To, p.item.Msg)
	}
	return out, nil
}
