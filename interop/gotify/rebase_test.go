package gotifyinterop

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Issue 19.2 with Gotify's real handlers: the database is reset while the
// client is away, so the new messages get ids 1, 2 while the client
// resumes after 3. The catch-up answered "nothing new" for ever and every
// live message was dropped as a repeat, under "Connected". Now the
// catch-up finds the newest id below the resume point and the engine
// rebases: the message published during the outage and a live one both
// arrive, once.
func TestReliability20RealGotifyWhoseDatabaseWasResetIsHeardAgain(t *testing.T) {
	f := newFixture(t, gotifyTiming())
	rec := &recorder{}
	sup := start(t, clientConfig(f.srv.URL(), f.token), rec)
	if !waitUntil(3*time.Second, func() bool { return f.srv.Streams() == 1 }) {
		t.Fatal("never connected")
	}
	for i := 1; i <= 3; i++ {
		f.publish(t, fmt.Sprint("old ", i))
	}
	if !rec.waitFor(3*time.Second, func(r *recorder) bool { return len(r.msgs) == 3 }) {
		t.Fatalf("old messages: %d", len(rec.messages()))
	}
	f.srv.Kill()
	f.srv.ResetMessages()
	pause(10 * unit) // a later Sent than the old messages, as after a real outage
	if err := f.srv.Restart(); err != nil {
		t.Fatal(err)
	}
	if id := f.publish(t, "new 1"); id != 1 {
		t.Fatalf("the reset server gave id %d, want 1", id)
	}
	if !rec.waitFor(5*time.Second, func(r *recorder) bool { return len(r.msgs) == 4 }) {
		t.Fatalf("the message published during the outage never arrived: %d messages, state %v", len(rec.messages()), sup.State())
	}
	// Live delivery needs the stream registered (see the black-hole test).
	if !waitUntil(3*time.Second, func() bool { return f.srv.Streams() == 1 }) {
		t.Fatal("the stream never came back")
	}
	f.publish(t, "new 2")
	if !rec.waitFor(5*time.Second, func(r *recorder) bool { return len(r.msgs) == 5 }) {
		t.Fatalf("the live message after the reset never arrived: %d messages", len(rec.messages()))
	}
	var got []string
	for _, m := range rec.messages() {
		got = append(got, m.ID+"="+m.Body)
	}
	if strings.Join(got, " ") != "1=old 1 2=old 2 3=old 3 1=new 1 2=new 2" {
		t.Fatalf("delivered %q", got)
	}
	st := sup.Stats()
	if st.Rebases != 1 {
		t.Fatalf("rebases %d, want 1", st.Rebases)
	}
	t.Logf("figures: 0 lost, %d repeats dropped, %d rebase", st.Repeats, st.Rebases)
}
