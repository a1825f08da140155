// Package hub fans stored messages out to the sockets of one server
// instance. Broker is the interface the server uses; Local is the in-process
// implementation. A distributed broker (several instances behind a load
// balancer) implements the same interface.
package hub

import (
	"sync"
	"time"

	"github.com/tidings-app/tidings/proto"
)

// Envelope is one stored message on its way to one user's sockets.
type Envelope struct {
	User      string
	ID        uint64        // the user's message id, as in Frame
	Frame     []byte        // the encoded proto.Message, shared by every socket
	Published time.Time     // when the publish request arrived, for latency metrics
	Msg       proto.Message // the decoded message, for brokers that re-encode
}

// Subscriber receives envelopes for one user.
type Subscriber interface {
	// Deliver hands e over. It is called from the publishing goroutine and
	// must not block: a subscriber that cannot keep up drops itself.
	Deliver(e *Envelope)
}

// Broker delivers published envelopes to the subscribers of their user.
type Broker interface {
	// Subscribe registers s for user's envelopes until cancel is called.
	// Every envelope published after Subscribe returns reaches s.
	Subscribe(user string, s Subscriber) (cancel func())
	// Publish hands each envelope to its user's subscribers, in order,
	// without blocking on any of them.
	Publish(es []*Envelope)
}

// Local is the in-process Broker.
type Local struct {
	mu   sync.RWMutex
	subs map[string]map[Subscriber]struct{}
}

var _ Broker = (*Local)(nil)

// NewLocal returns an empty in-process broker.
func NewLocal() *Local { return &Local{subs: map[string]map[Subscriber]struct{}{}} }

// Subscribe implements Broker.
func (l *Local) Subscribe(user string, s Subscriber) func() {
	l.mu.Lock()
	set := l.subs[user]
	if set == nil {
		set = map[Subscriber]struct{}{}
		l.subs[user] = set
	}
	set[s] = struct{}{}
	l.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			if set := l.subs[user]; set != nil {
				delete(set, s)
				if len(set) == 0 {
					delete(l.subs, user)
				}
			}
		})
	}
}

// Publish implements Broker.
func (l *Local) Publish(es []*Envelope) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	for _, e := range es {
		for s := range l.subs[e.User] {
			s.Deliver(e)
		}
	}
}

// Subscribers returns how many subscriptions user has.
func (l *Local) Subscribers(user string) int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return len(l.subs[user])
}

// Readiness is implemented by brokers that depend on something outside the
// process (a NATS connection) and can become unable to deliver. The server
// fails /healthz, refuses new sockets and closes open ones with
// proto.CloseRetryElsewhere while Ready returns an error.
type Readiness interface {
	// Ready returns nil when the broker delivers, else why it does not.
	Ready() error
	// OnChange registers fn, called from any goroutine after Ready may
	// have changed. fn must not block.
	OnChange(fn func())
}
