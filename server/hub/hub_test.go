package hub

import (
	"sync"
	"testing"
)

type rec struct {
	mu  sync.Mutex
	ids []uint64
}

func (r *rec) Deliver(e *Envelope) { r.mu.Lock(); r.ids = append(r.ids, e.ID); r.mu.Unlock() }

func TestPublishReachesOnlyTheUsersSubscribersInOrder(t *testing.T) {
	l := NewLocal()
	a1, a2, b := &rec{}, &rec{}, &rec{}
	ca1 := l.Subscribe("alice", a1)
	l.Subscribe("alice", a2)
	l.Subscribe("bob", b)
	l.Publish([]*Envelope{{User: "alice", ID: 1}, {User: "bob", ID: 1}, {User: "alice", ID: 2}})
	ca1()
	ca1() // cancel is idempotent
	l.Publish([]*Envelope{{User: "alice", ID: 3}})
	if got := a1.ids; len(got) != 2 || got[0] != 1 || got[1] != 2 {
		t.Fatalf("a1 got %v", got)
	}
	if got := a2.ids; len(got) != 3 || got[2] != 3 {
		t.Fatalf("a2 got %v", got)
	}
	if got := b.ids; len(got) != 1 {
		t.Fatalf("bob got %v", got)
	}
	if n := l.Subscribers("alice"); n != 1 {
		t.Fatalf("alice has %d subscribers", n)
	}
}
