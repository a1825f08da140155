package conn

import (
	"testing"
	"time"
)

func TestSupervisorConnectsDeliversAndStopsCleanly(t *testing.T) {
	srv := newTestServer(t, testToken)
	srv.publish("before")
	rec := newRecorder()
	sup := startSupervisor(t, scaledConfig(srv.url(), unit), rec)
	if !rec.waitFor(2*time.Second, func(r *recorder) bool { return len(r.msgs) == 1 && r.state() == StateConnected }) {
		t.Fatalf("states %v msgs %d", rec.snapshotStates(), len(rec.snapshotMsgs()))
	}
	srv.publish("live")
	if !rec.waitFor(2*time.Second, func(r *recorder) bool { return len(r.msgs) == 2 }) {
		t.Fatal("live message not delivered")
	}
	m := rec.snapshotMsgs()[1]
	if m.ID != "2" || m.Body != "live" || m.Server != srv.url() || m.Priority != PriorityDefault {
		t.Fatalf("message %+v", m)
	}
	sup.Stop()
	calls := func() int { rec.mu.Lock(); defer rec.mu.Unlock(); return rec.calls }
	n := calls()
	if got := rec.snapshotStates(); got[len(got)-1].State != StateStopped {
		t.Fatalf("last state %v", got[len(got)-1])
	}
	srv.publish("after stop")
	time.Sleep(50 * time.Millisecond) // nothing to wait for: asserting that nothing happens
	if calls() != n {
		t.Fatal("sink called after Stop returned")
	}
}
