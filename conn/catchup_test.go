package conn

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/tidings-app/tidings/proto"
)

// restCatchUpAdapter is shaped like the coming Gotify adapter: the socket
// carries only live messages, no client frames, and missed messages come
// from a REST walk.
type restCatchUpAdapter struct{ NativeAdapter }

func (restCatchUpAdapter) Endpoint(server *url.URL, token Secret, _ string) (*url.URL, http.Header) {
	// since far in the future: the test server replays nothing on the socket.
	return endpoint(server, proto.PathWS, proto.QuerySince, "999999", "Authorization", "Bearer ", token)
}

func (restCatchUpAdapter) Heartbeat() string { return "" }

func (restCatchUpAdapter) CatchUp(ctx context.Context, get Fetcher, last string) ([]Message, error) {
	b, err := get(ctx, "/test/messages?after="+url.QueryEscape(last))
	if err != nil {
		return nil, err
	}
	var ms []proto.Message
	if err := json.Unmarshal(b, &ms); err != nil {
		return nil, err
	}
	out := make([]Message, 0, len(ms))
	for _, m := range ms {
		out = append(out, Message{ID: strconv.FormatUint(m.ID, 10), Body: m.Message, Priority: Priority(m.Priority)})
	}
	return out, nil
}

func TestRESTCatchUpHoldsLiveMessagesAndDropsOverlap(t *testing.T) {
	srv := newTestServer(t, testToken)
	for range 5 {
		srv.publish("stored")
	}
	gate := make(chan struct{})
	srv.set(func(s *testServer) { s.restGate = gate })
	rec := newRecorder()
	cfg := scaledConfig(srv.url(), unit)
	cfg.Adapter = restCatchUpAdapter{}
	cfg.LastID = "2"
	sup := startSupervisor(t, cfg, rec)
	if !waitUntil(3*time.Second, func() bool { return srv.liveConns() == 1 }) {
		t.Fatal("never connected")
	}
	srv.publish("live during catch-up") // id 6: arrives on the socket while the walk is held
	close(gate)
	if !rec.waitFor(3*time.Second, func(r *recorder) bool { return len(r.msgs) == 4 }) {
		t.Fatalf("delivered %d, want 4", len(rec.snapshotMsgs()))
	}
	// The held id 6 is dropped as a repeat when the re-check releases it;
	// from then on the socket delivers directly.
	if !waitUntil(3*time.Second, func() bool { return sup.Stats().Repeats == 1 }) {
		t.Fatalf("the held live message was never released (repeats %d)", sup.Stats().Repeats)
	}
	srv.publish("live after") // id 7
	if !rec.waitFor(3*time.Second, func(r *recorder) bool { return len(r.msgs) == 5 }) {
		t.Fatal("live message after catch-up not delivered")
	}
	var ids []string
	for _, m := range rec.snapshotMsgs() {
		ids = append(ids, m.ID)
	}
	want := []string{"3", "4", "5", "6", "7"}
	for i := range want {
		if ids[i] != want[i] {
			t.Fatalf("ids %v, want %v", ids, want)
		}
	}
	if rs := rec.snapshotMsgs(); !rs[0].CatchUp || rs[4].CatchUp {
		t.Error("CatchUp flag wrong")
	}
	if sup.Stats().Repeats != 1 {
		t.Errorf("repeats %d, want 1 (id 6 came both ways)", sup.Stats().Repeats)
	}
}
