package conn

import (
	"crypto/tls"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Check 11: a 1 MiB frame, bad JSON, and hostile content.
func TestReliability11HostileInputIsDroppedOrReconnected(t *testing.T) {
	c := newCheck(t, 11, "hostile input")
	srv := newTestServer(t, testToken)
	rec := newRecorder()
	cfg := scaledConfig(srv.url(), unit)
	cfg.ReadLimit = 0 // the real default: 1 MiB
	sup := startSupervisor(t, cfg, rec)
	if !rec.waitFor(3*time.Second, func(r *recorder) bool { return r.state() == StateConnected && srv.liveConns() == 1 }) {
		t.Fatal("never connected")
	}

	// Undecodable frames are dropped; the connection stays.
	bad := []string{`{"id":`, `not json at all`, `{"message":"no id"}`, `{"id":3,"priority":99}`, `[1,2,3]`, `{"id":"x"}`, ""}
	for _, b := range bad {
		srv.sendRaw([]byte(b))
	}
	srv.publish("good one")
	if !rec.waitFor(3*time.Second, func(r *recorder) bool { return len(r.msgs) == 1 }) {
		t.Fatal("good message after bad frames not delivered")
	}
	if n := rec.countState(StateConnected); n != 1 || sup.State().State != StateConnected {
		t.Errorf("bad frames cost a reconnect: connected %d times", n)
	}
	badFrames := sup.Stats().BadFrames
	if badFrames != uint64(len(bad)) {
		t.Errorf("%d bad frames counted, sent %d", badFrames, len(bad))
	}

	// Hostile content is delivered as-is (the notifier escapes it and
	// refuses the URL) and never reaches a log line.
	hostile := "<b>bold</b> \u202eevil\u202c <script>alert(1)</script> MARKER-body-7f3a"
	srv.sendRaw([]byte(`{"id":2,"title":"t","message":"` + strings.ReplaceAll(hostile, `"`, `\"`) + `","url":"javascript:alert(1)"}`))
	if !rec.waitFor(3*time.Second, func(r *recorder) bool { return len(r.msgs) == 2 }) {
		t.Fatal("hostile message not delivered")
	}
	if m := rec.snapshotMsgs()[1]; m.Body != hostile || m.URL != "javascript:alert(1)" {
		t.Errorf("content altered in transit: %q %q", m.Body, m.URL)
	}
	srv.mu.Lock()
	srv.msgs = append(srv.msgs, srv.msgs[0]) // keep the store's ids in step (id 2 was sent raw)
	srv.msgs[1].ID = 2
	srv.mu.Unlock()

	// A frame over the read limit closes the socket; the client reconnects
	// and catches up with what was published meanwhile.
	huge := make([]byte, DefaultReadLimit+1)
	for i := range huge {
		huge[i] = 'a'
	}
	sent := time.Now()
	srv.sendRaw(huge)
	var end Status
	if !rec.waitFor(3*time.Second, func(r *recorder) bool {
		s := r.last()
		if s.Err != nil && s.Since.After(sent) {
			end = s
			return true
		}
		return false
	}) {
		t.Fatal("oversized frame did not close the socket")
	}
	if !errors.Is(end.Err, ErrFrameTooLarge) {
		t.Errorf("closed with %v, want ErrFrameTooLarge", end.Err)
	}
	srv.publish("after the big one")
	if !rec.waitFor(3*time.Second, func(r *recorder) bool { return len(r.msgs) == 3 && r.state() == StateConnected }) {
		t.Fatal("no reconnect after the oversized frame")
	}
	var back time.Duration
	for _, s := range rec.snapshotStates() {
		if s.State == StateConnected && s.Since.After(sent) {
			back = s.Since.Sub(sent)
			break
		}
	}
	checkSequence(t, rec.snapshotMsgs(), 3)
	if strings.Contains(allLogs.String(), "MARKER-body-7f3a") || strings.Contains(allLogs.String(), "no id") {
		t.Error("message content reached the log")
	}
	c.fig("%d bad frames dropped, connection kept; hostile body/URL passed through unlogged", badFrames)
	c.fig("1 MiB+1 frame → %v, reconnected after %s, 3/3 delivered", end.Err, back.Round(time.Millisecond))
	c.fig("fuzz targets: FuzzNativeAdapterDecode, FuzzGotifyDecode, FuzzNtfyDecode (+ proto.FuzzDecodeFrame)")
}

// Check 12: the transport policy.
func TestReliability12TLSPolicy(t *testing.T) {
	c := newCheck(t, 12, "TLS policy")
	for _, u := range []string{"ws://push.example.org", "http://192.0.2.7:8080", "ws://10.0.0.1"} {
		if _, err := New(Config{Server: u, Adapter: NativeAdapter{}}); !errors.Is(err, ErrInsecureURL) {
			t.Errorf("%s: err %v, want ErrInsecureURL", u, err)
		}
	}
	for _, u := range []string{"ws://127.0.0.1:1", "ws://localhost:1", "ws://[::1]:1", "wss://push.example.org"} {
		if _, err := New(Config{Server: u, Adapter: NativeAdapter{}}); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	if _, err := New(Config{Server: "ws://push.example.org", Adapter: NativeAdapter{}, AllowInsecure: true}); err != nil {
		t.Errorf("AllowInsecure: %v", err)
	}
	c.fig("ws:// to 3 non-loopback hosts refused by New; loopback and AllowInsecure accepted")

	ts := newTestServer(t, testToken)
	ts.kill()
	ts.publish("over TLS")
	https := httptest.NewUnstartedServer(ts.mux())
	https.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	https.Config.ErrorLog = log.New(io.Discard, "", 0) // the rejected handshakes are expected
	https.StartTLS()
	t.Cleanup(https.Close)
	wss := strings.Replace(https.URL, "https://", "wss://", 1)

	t.Run("self-signed without the CA is rejected", func(t *testing.T) {
		rec := newRecorder()
		cfg := scaledConfig(wss, unit)
		cfg.HandshakeTimeout = 2 * time.Second // TLS under -race on busy cores is slow; timing is not what this checks
		startSupervisor(t, cfg, rec)
		var st Status
		if !rec.waitFor(5*time.Second, func(r *recorder) bool { st = r.last(); return st.State == StateReconnecting }) {
			t.Fatal("no failed dial")
		}
		if !errors.Is(st.Err, ErrTLS) {
			t.Errorf("err %v, want ErrTLS", st.Err)
		}
		if n := rec.countState(StateConnected); n != 0 {
			t.Error("connected to an untrusted server")
		}
		c.fig("self-signed without CA: %s", Explain(st.Err))
	})
	t.Run("self-signed with the custom CA file is accepted", func(t *testing.T) {
		ca := filepath.Join(t.TempDir(), "ca.pem")
		if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: https.Certificate().Raw}), 0o600); err != nil {
			t.Fatal(err)
		}
		rec := newRecorder()
		cfg := scaledConfig(wss, unit)
		cfg.HandshakeTimeout = 2 * time.Second
		cfg.CAFile = ca
		startSupervisor(t, cfg, rec)
		if !rec.waitFor(3*time.Second, func(r *recorder) bool { return r.state() == StateConnected && len(r.msgs) == 1 }) {
			t.Fatalf("not connected with the CA: %v", rec.snapshotStates())
		}
		c.fig("self-signed with CAFile: connected, 1/1 delivered")
	})
	t.Run("a bad CA file is a configuration error", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad.pem")
		_ = os.WriteFile(bad, []byte("not a certificate"), 0o600)
		for _, f := range []string{bad, filepath.Join(t.TempDir(), "missing.pem")} {
			if _, err := New(Config{Server: wss, Adapter: NativeAdapter{}, CAFile: f}); !errors.Is(err, ErrCAFile) {
				t.Errorf("%s: %v", f, err)
			}
		}
	})
}
