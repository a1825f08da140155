package server

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/tidings-app/tidings/internal/testkit"
	"github.com/tidings-app/tidings/proto"
	"github.com/tidings-app/tidings/server/store"
)

// gatedStore holds its first AppendBatch until gate is closed, and records
// the size of every batch.
type gatedStore struct {
	*store.SQLite
	entered, gate chan struct{}

	mu    sync.Mutex
	sizes []int
}

func (g *gatedStore) AppendBatch(ctx context.Context, items []store.AppendItem) ([]store.Appended, error) {
	g.mu.Lock()
	g.sizes = append(g.sizes, len(items))
	first := len(g.sizes) == 1
	g.mu.Unlock()
	if first {
		close(g.entered)
		<-g.gate
	}
	return g.SQLite.AppendBatch(ctx, items)
}

func TestPublishesArrivingDuringAStoreWriteShareTheNextOneAndStillGoOutInIDOrder(t *testing.T) {
	ts := startServer(t, t.TempDir(), testConfig())
	ts.addUser("alice", "pw")
	tok, pub := ts.login("alice", "pw"), ts.publisher()
	g := &gatedStore{SQLite: ts.st, entered: make(chan struct{}), gate: make(chan struct{})}
	ts.s.store = g
	c := ts.dial(tok, 0)

	type result struct {
		i    int
		code int
	}
	results := make(chan result, 10)
	post := func(i int, to string) {
		code, _, _ := ts.post(proto.PathPublish, pub, mustJSON(proto.PublishRequest{To: to, Message: fmt.Sprint("m", i)}))
		results <- result{i, code}
	}
	go post(0, "alice")
	<-g.entered // the first write is under way and held
	for i := 1; i <= 9; i++ {
		to := "alice"
		if i == 5 {
			to = "nobody" // fails alone inside the shared write
		}
		go post(i, to)
	}
	testkit.Eventually(t, "nine publishes queued behind the write", func() bool { return ts.s.queued() == 9 })
	close(g.gate)
	for range 10 {
		r := <-results
		want := http.StatusOK
		if r.i == 5 {
			want = http.StatusNotFound
		}
		if r.code != want {
			t.Errorf("publish %d: HTTP %d, want %d", r.i, r.code, want)
		}
	}
	g.mu.Lock()
	sizes := slices.Clone(g.sizes)
	g.mu.Unlock()
	if !slices.Equal(sizes, []int{1, 9}) {
		t.Fatalf("store writes of %v publishes, want [1 9]", sizes)
	}
	// Alice gets the eight stored ones in id order, the held one first.
	var bodies []string
	for want := uint64(1); want <= 9; want++ {
		m := next(t, c)
		if m.ID != want {
			t.Fatalf("frame %d has id %d", want, m.ID)
		}
		bodies = append(bodies, m.Message)
	}
	if bodies[0] != "m0" {
		t.Errorf("first frame %q, want m0", bodies[0])
	}
	slices.Sort(bodies)
	if want := []string{"m0", "m1", "m2", "m3", "m4", "m6", "m7", "m8", "m9"}; !slices.Equal(bodies, want) {
		t.Errorf("bodies %v, want %v", bodies, want)
	}
}
