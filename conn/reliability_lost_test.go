package conn

import (
	"fmt"
	"testing"
	"time"

	"github.com/tidings-app/tidings/internal/testkit"
)

// Check 16 (issue 19.8): the server is away ten minutes. The rapid
// attempts run out (Offline), the slow probes go on, and the client is
// back alone soon after the server is, without a Kick, a network-up or a
// resume event.
func TestReliability16TenMinuteOutageComesBackAlone(t *testing.T) {
	c := newCheck(t, 16, "10-minute outage")
	u := unit / 5 // 1 s = 5 ms: ten minutes are 3 s
	srv := newTestServer(t, testToken)
	rec := newRecorder()
	cfg := scaledConfig(srv.url(), u)
	cfg.MaxAttempts = DefaultMaxAttempts
	cfg.SlowRetry = DefaultSlowRetry / time.Second * u
	sup := startSupervisor(t, cfg, rec)
	if !rec.waitFor(10*time.Second, func(r *recorder) bool { return r.state() == StateConnected }) {
		t.Fatal("never connected")
	}
	dials0 := sup.Stats().Dials
	srv.kill()
	pause(600 * u)
	offline := 0
	for _, st := range rec.snapshotStates() {
		if st.State == StateOffline {
			offline++
		}
	}
	dials := int(sup.Stats().Dials - dials0)
	srv.restart(t)
	back := time.Now()
	if !rec.waitFor(time.Minute, func(r *recorder) bool { return r.state() == StateConnected && r.countState(StateConnected) >= 2 }) {
		t.Fatalf("not back after the server returned; last state %v", rec.last().State)
	}
	took := time.Since(back)
	if offline == 0 {
		t.Fatal("never Offline: the rapid attempts did not run out in ten minutes")
	}
	// Decided, not timed: at most the rapid attempts plus one probe per
	// half SlowRetry over the outage.
	maxDials := cfg.MaxAttempts + int(600*u/(cfg.SlowRetry/2)) + 2
	if dials > maxDials {
		t.Fatalf("%d dials during the outage, more than %d", dials, maxDials)
	}
	c.fig("%d dials in 10 min (%d Offline probes); back %.0f s after the server (here 1 s = 5 ms)", dials, offline, float64(took)/float64(u))
	testkit.Within(t, "back after the server", took, cfg.SlowRetry*3/2+10*u)
}

// Check 17 (issue 19.2): the server is reinstalled and numbers from 1
// again. The client rebases at the upgrade and delivers the message sent
// during the outage and a live one; nothing from before repeats.
func TestReliability17IDsRestartingLowerLoseNothing(t *testing.T) {
	c := newCheck(t, 17, "ids restart lower")
	srv := newTestServer(t, testToken)
	rec := newRecorder()
	sup := startSupervisor(t, scaledConfig(srv.url(), unit), rec)
	if !rec.waitFor(10*time.Second, func(r *recorder) bool { return r.state() == StateConnected }) {
		t.Fatal("never connected")
	}
	for i := range 5 {
		srv.publish(fmt.Sprint("before ", i+1))
	}
	if !rec.waitFor(10*time.Second, func(r *recorder) bool { return len(r.msgs) == 5 }) {
		t.Fatal("the first messages never arrived")
	}
	srv.kill()
	srv.resetIDs()
	pause(2 * unit)
	srv.restart(t)
	restarted := time.Now()
	srv.publish("during") // id 1 again
	if !rec.waitFor(10*time.Second, func(r *recorder) bool { return len(r.msgs) == 6 }) {
		t.Fatalf("the message sent after the reinstall never arrived (%d)", len(rec.snapshotMsgs()))
	}
	first := time.Since(restarted)
	srv.publish("live") // id 2
	if !rec.waitFor(10*time.Second, func(r *recorder) bool { return len(r.msgs) == 7 }) {
		t.Fatal("the live message after the reinstall never arrived")
	}
	var got []string
	for _, m := range rec.snapshotMsgs() {
		got = append(got, m.ID+"="+m.Body)
	}
	want := "[1=before 1 2=before 2 3=before 3 4=before 4 5=before 5 1=during 2=live]"
	if fmt.Sprint(got) != want {
		t.Fatalf("delivered %v, want %s", got, want)
	}
	st := sup.Stats()
	if st.Rebases != 1 {
		t.Fatalf("%d rebases, want 1", st.Rebases)
	}
	c.fig("0 lost, 0 repeated, %d rebase; first new message %.1f s after the restart", st.Rebases, float64(first)/float64(unit))
}
