package server

import (
	"bufio"
	"strconv"
	"strings"
	"testing"

	"github.com/tidings-app/tidings/internal/testkit"
	"github.com/tidings-app/tidings/proto"
)

// counter reads one metric from /metrics.
func counter(t *testing.T, ts *testServer, name string) float64 {
	t.Helper()
	resp, err := ts.httpc.Get(ts.base + proto.PathMetrics)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			v, err := strconv.ParseFloat(rest, 64)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
	}
	t.Fatalf("metric %s not found", name)
	return 0
}

func TestMetricsCountWhatHappened(t *testing.T) {
	ts := startServer(t, t.TempDir(), testConfig())
	ts.addUser("alice", "pw")
	c := ts.dial(ts.login("alice", "pw"), 0)
	pub := ts.publisher()
	ts.publish(pub, proto.PublishRequest{To: "alice", Message: "x"})
	next(t, c)
	testkit.Eventually(t, "metrics", func() bool {
		return counter(t, ts, "tidings_messages_delivered_total") == 1
	})
	for name, want := range map[string]float64{
		"tidings_connected_clients":              1,
		"tidings_messages_published_total":       1,
		"tidings_messages_stored_total":          1,
		"tidings_publish_to_write_seconds_count": 1,
	} {
		if got := counter(t, ts, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	resp, err := ts.httpc.Get(ts.base + proto.PathHealth)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()
}
