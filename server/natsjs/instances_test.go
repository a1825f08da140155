package natsjs_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tidings-app/tidings/conn"
	"github.com/tidings-app/tidings/internal/testkit"
	"github.com/tidings-app/tidings/proto"
	"github.com/tidings-app/tidings/server/store"
)

func TestClientOnOneInstanceReceivesWhatWasPublishedOnAnother(t *testing.T) {
	n := startNATS(t)
	a := startInstance(t, "A", backendConfig(n.URL()))
	b := startInstance(t, "B", backendConfig(n.URL()))
	a.addUser("alice", "ops")
	a.addUser("bob", "ops")
	pub := b.token(store.KindPublisher, "ci")
	ws, _, err := a.dial(a.token(store.KindSession, "alice"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	testkit.Eventually(t, "alice's socket on A", func() bool { return a.be.Subscribers("alice") == 1 })

	for i, req := range []proto.PublishRequest{
		{To: "alice", Message: "to alice"},
		{Group: "ops", Message: "to ops"},
		{All: true, Message: "to all"},
		{To: "bob", Message: "to bob only"},
		{To: "alice", Message: "last"},
	} {
		if st, body := b.publish(pub, req); st != http.StatusOK {
			t.Fatalf("publish %d on B: %d %s", i, st, body)
		}
	}
	var ids []uint64
	for _, want := range []string{"to alice", "to ops", "to all", "last"} {
		m := next(t, ws)
		if m.Message != want {
			t.Fatalf("got %q, want %q", m.Message, want)
		}
		ids = append(ids, m.ID)
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] <= ids[i-1] {
			t.Fatalf("ids not increasing: %v", ids)
		}
	}
	// The same ids from B's replay, after the first one.
	ws2, _, err := b.dial(b.token(store.KindSession, "alice"), ids[0])
	if err != nil {
		t.Fatal(err)
	}
	defer ws2.Close()
	for _, want := range ids[1:] {
		if m := next(t, ws2); m.ID != want {
			t.Fatalf("replay on B: id %d, want %d", m.ID, want)
		}
	}
}

// collector is a conn.Sink keeping messages and counting sessions.
type collector struct {
	mu   sync.Mutex
	msgs []conn.Message
}

func (c *collector) sink(e conn.Event) {
	if e.Kind != conn.EventMessage {
		return
	}
	c.mu.Lock()
	c.msgs = append(c.msgs, e.Message)
	c.mu.Unlock()
}

func (c *collector) count() int { c.mu.Lock(); defer c.mu.Unlock(); return len(c.msgs) }

func (c *collector) bodies() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, m := range c.msgs {
		out = append(out, m.Body)
	}
	return out
}

func TestKillingTheClientsInstanceWhileMessagesFlowLosesAndRepeatsNothing(t *testing.T) {
	const total = 300
	n := startNATS(t)
	a := startInstance(t, "A", backendConfig(n.URL()))
	b := startInstance(t, "B", backendConfig(n.URL()))
	c := startInstance(t, "C", backendConfig(n.URL()))
	a.addUser("alice")
	pub := c.token(store.KindPublisher, "ci")
	lb := newLoadBalancer(t, a.addr, b.addr)

	got := &collector{}
	sup, err := conn.New(conn.Config{
		Server: "http://" + lb.addr(), Adapter: conn.NativeAdapter{},
		Token:       conn.NewSecret(a.token(store.KindSession, "alice")),
		BackoffBase: 10 * time.Millisecond, BackoffCap: 100 * time.Millisecond, MaxAttempts: -1,
		Sink: got.sink,
	})
	if err != nil {
		t.Fatal(err)
	}
	sup.Start()
	defer sup.Stop()
	testkit.Eventually(t, "the client on A", func() bool { return a.be.Subscribers("alice") == 1 })

	pubErr := make(chan error, 1)
	go func() { // publish on C the whole time
		for i := 1; i <= total; i++ {
			if st, body := c.publish(pub, proto.PublishRequest{To: "alice", Message: strconv.Itoa(i)}); st != http.StatusOK {
				pubErr <- fmt.Errorf("publish %d: %d %s", i, st, body)
				return
			}
		}
		pubErr <- nil
	}()
	testkit.Eventually(t, "50 messages through A", func() bool { return got.count() >= 50 })
	lb.kill(a.addr) // the client's connection is cut as by a crash
	a.stop()
	if err := <-pubErr; err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "every message", func() bool { return got.count() >= total })
	if b.be.Subscribers("alice") != 1 {
		t.Errorf("client not on B after A died")
	}
	bodies := got.bodies()
	if len(bodies) != total {
		t.Fatalf("%d messages, want %d", len(bodies), total)
	}
	for i, body := range bodies {
		if body != strconv.Itoa(i+1) {
			t.Fatalf("message %d is %q: lost, repeated or out of order", i+1, body)
		}
	}
	if st := sup.Stats(); st.Repeats != 0 || st.Sessions < 2 {
		t.Fatalf("stats %+v: want no repeats, at least 2 sessions", st)
	}
}

func TestLosingNATSMovesSocketsAwayAndARestartLosesNothing(t *testing.T) {
	n := startNATS(t)
	a := startInstance(t, "A", backendConfig(n.URL()))
	a.addUser("alice")
	pub := a.token(store.KindPublisher, "ci")
	tok := a.token(store.KindSession, "alice")
	for i := range 20 {
		if st, body := a.publish(pub, proto.PublishRequest{To: "alice", Message: strconv.Itoa(i)}); st != http.StatusOK {
			t.Fatalf("publish: %d %s", st, body)
		}
	}
	ws, _, err := a.dial(tok, 0)
	if err != nil {
		t.Fatal(err)
	}
	var before []uint64
	for range 20 {
		before = append(before, next(t, ws).ID)
	}

	n.Stop()
	if code := closeCode(ws, 10*time.Second); code != proto.CloseRetryElsewhere {
		t.Fatalf("socket closed with %d, want %d", code, proto.CloseRetryElsewhere)
	}
	if st, _ := a.get(proto.PathHealth); st != http.StatusServiceUnavailable {
		t.Fatalf("healthz while NATS is down: %d", st)
	}
	_, resp, err := a.dial(tok, 0)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("dial while NATS is down: %v %+v", err, resp)
	}

	if err := n.Restart(); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "ready again", func() bool { st, _ := a.get(proto.PathHealth); return st == http.StatusOK })
	ws, _, err = a.dial(tok, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	for i, want := range before {
		if m := next(t, ws); m.ID != want || m.Message != strconv.Itoa(i) {
			t.Fatalf("after restart message %d: id %d %q, want id %d", i, m.ID, m.Message, want)
		}
	}
	if st, body := a.publish(pub, proto.PublishRequest{To: "alice", Message: "after"}); st != http.StatusOK {
		t.Fatalf("publish after restart: %d %s", st, body)
	}
	if m := next(t, ws); m.Message != "after" || m.ID <= before[len(before)-1] {
		t.Fatalf("live after restart: %+v", m)
	}
}

func TestStoppingOneNodeOfAThreeNodeClusterLosesNoAcknowledgedPublish(t *testing.T) {
	cl := startCluster(t)
	cfg := backendConfig(cl.URLs())
	cfg.Replicas = 3
	a := startInstance(t, "A", cfg)
	b := startInstance(t, "B", cfg)
	a.addUser("alice")
	pub := a.token(store.KindPublisher, "ci")

	info, err := a.be.StreamInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var victim int
	for i, nd := range cl.Nodes {
		if nd.Name() == info.Cluster.Leader {
			victim = i
		}
	}
	acked := map[string]bool{}
	var failed int
	publish := func(i int) {
		body := strconv.Itoa(i)
		if st, _ := a.publish(pub, proto.PublishRequest{To: "alice", Message: body}); st == http.StatusOK {
			acked[body] = true
		} else {
			failed++
		}
	}
	i := 0
	for ; i < 100; i++ {
		publish(i)
	}
	stopped := make(chan struct{})
	go func() { cl.Nodes[victim].Stop(); close(stopped) }() // the stream leader goes away mid-flow
	during := 0
	for waiting := true; waiting; i++ { // publish while the node stops, then 100 more
		select {
		case <-stopped:
			waiting = false
		default:
			during++
		}
		publish(i)
	}
	for end := i + 100; i < end; i++ {
		publish(i)
	}
	t.Logf("stopped %s (stream leader) during %d publishes; %d of %d acknowledged, %d refused",
		cl.Nodes[victim].Name(), during, len(acked), i, failed)
	if len(acked) < i*2/3 {
		t.Errorf("only %d of %d publishes acknowledged", len(acked), i)
	}

	var stored []proto.Message
	testkit.Eventually(t, "reading the stream back", func() bool {
		stored, err = b.be.Since(context.Background(), "alice", 0, 1000)
		return err == nil
	})
	seen := map[string]int{}
	for _, m := range stored {
		seen[m.Message]++
	}
	for body := range acked {
		if seen[body] != 1 {
			t.Errorf("acknowledged message %s stored %d times", body, seen[body])
		}
	}
}
