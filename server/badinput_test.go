package server

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/tidings-app/tidings/internal/testkit"
	"github.com/tidings-app/tidings/proto"
)

func TestUnknownUserAndWrongPasswordGetTheSameAnswerAndCost(t *testing.T) {
	ts := startServer(t, t.TempDir(), testConfig())
	ts.addUser("alice", "right")
	c1, h1, b1 := ts.post(proto.PathLogin, "", `{"username":"alice","password":"wrong"}`)
	c2, h2, b2 := ts.post(proto.PathLogin, "", `{"username":"mallory","password":"wrong"}`)
	if c1 != http.StatusUnauthorized || c2 != c1 || b1 != b2 || h1.Get("Content-Type") != h2.Get("Content-Type") {
		t.Fatalf("wrong password: %d %q; unknown user: %d %q", c1, b1, c2, b2)
	}
	// Same cost: the dummy hash unknown users are checked against has the configured cost.
	if cost, err := bcrypt.Cost(ts.s.dummyHash); err != nil || cost != ts.s.cfg.BcryptCost {
		t.Fatalf("dummy hash cost %d (%v), want %d", cost, err, ts.s.cfg.BcryptCost)
	}
}

func TestLoginIsRateLimitedPerIPAndPerUser(t *testing.T) {
	cfg := testConfig()
	cfg.LoginPerUser = Rate{Burst: 3, Every: time.Hour}
	cfg.LoginPerIP = Rate{Burst: 6, Every: time.Hour}
	ts := startServer(t, t.TempDir(), cfg)
	ts.addUser("alice", "pw")
	for i := range 3 {
		if code, _, _ := ts.post(proto.PathLogin, "", `{"username":"alice","password":"bad"}`); code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i, code)
		}
	}
	code, h, _ := ts.post(proto.PathLogin, "", `{"username":"alice","password":"pw"}`)
	if code != http.StatusTooManyRequests {
		t.Fatalf("4th attempt for alice: %d", code)
	}
	if ra, err := strconv.Atoi(h.Get("Retry-After")); err != nil || ra < 1 || ra > 3600 {
		t.Fatalf("Retry-After %q", h.Get("Retry-After"))
	}
	// Other users still get in from this IP, until the IP's budget is spent.
	for i := range 2 {
		if code, _, _ := ts.post(proto.PathLogin, "", `{"username":"bob`+strconv.Itoa(i)+`","password":"x"}`); code != http.StatusUnauthorized {
			t.Fatalf("other user %d: %d", i, code)
		}
	}
	if code, h, _ := ts.post(proto.PathLogin, "", `{"username":"carol","password":"x"}`); code != http.StatusTooManyRequests || h.Get("Retry-After") == "" {
		t.Fatalf("IP budget spent: %d", code)
	}
}

func TestBadRequestsGetAClearStatusAndReason(t *testing.T) {
	cfg := testConfig()
	cfg.MaxMessage = 100
	cfg.MaxRequest = 1000
	ts := startServer(t, t.TempDir(), cfg)
	ts.addUser("alice", "pw")
	session, pub := ts.login("alice", "pw"), ts.publisher()
	tests := []struct {
		name, path, token, body string
		status                  int
		reason                  string
	}{
		{"login malformed JSON", proto.PathLogin, "", `{"username":`, 400, "malformed login request"},
		{"login missing password", proto.PathLogin, "", `{"username":"alice"}`, 400, "required"},
		{"login request too large", proto.PathLogin, "", `{"username":"alice","password":"` + strings.Repeat("a", 2000) + `"}`, 413, "request body over"},
		{"publish without token", proto.PathPublish, "", `{"to":"alice","message":"x"}`, 401, "missing bearer"},
		{"publish with a session token", proto.PathPublish, session, `{"to":"alice","message":"x"}`, 401, "not a publisher token"},
		{"publish with an unknown token", proto.PathPublish, "tdp_nope", `{"to":"alice","message":"x"}`, 401, "not a publisher token"},
		{"publish malformed JSON", proto.PathPublish, pub, `{"to":"alice",`, 400, "malformed request"},
		{"publish wrong type", proto.PathPublish, pub, `{"to":"alice","message":"x","priority":"high"}`, 400, `field "priority" has the wrong type`},
		{"publish unknown field", proto.PathPublish, pub, `{"recipient":"alice","message":"x"}`, 400, "unknown field"},
		{"publish trailing data", proto.PathPublish, pub, `{"to":"alice","message":"x"} {}`, 400, "data after"},
		{"publish no recipient", proto.PathPublish, pub, `{"message":"x"}`, 400, "one of to, group or all"},
		{"publish two recipients", proto.PathPublish, pub, `{"to":"alice","all":true,"message":"x"}`, 400, "only one of"},
		{"publish priority out of range", proto.PathPublish, pub, `{"to":"alice","message":"x","priority":6}`, 400, "priority must be 1-5"},
		{"publish empty", proto.PathPublish, pub, `{"to":"alice"}`, 400, "both empty"},
		{"publish javascript url", proto.PathPublish, pub, `{"to":"alice","message":"x","url":"javascript:alert(1)"}`, 400, "http or https"},
		{"publish url with user info", proto.PathPublish, pub, `{"to":"alice","message":"x","url":"https://u:p@x.test/"}`, 400, "user info"},
		{"publish bad content type", proto.PathPublish, pub, `{"to":"alice","message":"x","content_type":"text/html"}`, 400, "content_type"},
		{"publish message too large", proto.PathPublish, pub, `{"to":"alice","message":"` + strings.Repeat("m", 101) + `"}`, 413, "the limit is 100"},
		{"publish request too large", proto.PathPublish, pub, `{"to":"alice","message":"x","title":"` + strings.Repeat("t", 1000) + `"}`, 413, "request body over"},
		{"publish unknown user", proto.PathPublish, pub, `{"to":"mallory","message":"x"}`, 404, "no such user"},
		{"publish unknown group", proto.PathPublish, pub, `{"group":"nobody","message":"x"}`, 404, "no such user or group"},
		{"logout without token", proto.PathLogout, "", ``, 401, "missing bearer"},
		{"logout with a publisher token", proto.PathLogout, pub, ``, 401, "unknown token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, body := ts.post(tt.path, tt.token, tt.body)
			var er proto.ErrorResponse
			json.Unmarshal([]byte(body), &er)
			if code != tt.status || !strings.Contains(er.Error, tt.reason) {
				t.Fatalf("got %d %s, want %d with %q", code, body, tt.status, tt.reason)
			}
		})
	}
	if msgs, _ := ts.st.Since(t.Context(), "alice", 0, 10); len(msgs) != 0 {
		t.Fatalf("rejected requests stored %d messages", len(msgs))
	}
}

func TestSocketUpgradeChecksOriginTokenAndSince(t *testing.T) {
	cfg := testConfig()
	cfg.AllowedOrigins = []string{"https://app.example"}
	ts := startServer(t, t.TempDir(), cfg)
	ts.addUser("alice", "pw")
	tok := ts.login("alice", "pw")
	tests := []struct {
		name   string
		token  string
		origin string
		query  string
		status int
	}{
		{"foreign origin", tok, "https://evil.example", "", 403},
		{"foreign origin without token", "", "https://evil.example", "", 403},
		{"no token", "", "", "", 401},
		{"bad token", "tdt_bogus", "", "", 401},
		{"publisher token", ts.publisher(), "", "", 401},
		{"bad since", tok, "", "since=abc", 400},
		{"negative since", tok, "", "since=-1", 400},
		{"no origin", tok, "", "", 101},
		{"own origin", tok, "http://" + ts.addr, "", 101},
		{"allowed origin", tok, "https://app.example", "", 101},
		{"browser query token", "", "http://" + ts.addr, "token=" + tok, 101},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := "ws://" + ts.addr + proto.PathWS
			if tt.query != "" {
				u += "?" + tt.query
			}
			h := http.Header{}
			if tt.token != "" {
				h.Set("Authorization", "Bearer "+tt.token)
			}
			if tt.origin != "" {
				h.Set("Origin", tt.origin)
			}
			c, resp, err := dialer().Dial(u, h)
			if c != nil {
				c.Close()
			}
			if resp == nil || resp.StatusCode != tt.status {
				t.Fatalf("status %v err %v, want %d", resp, err, tt.status)
			}
		})
	}
}

func TestOversizedClientFrameClosesWith1009(t *testing.T) {
	ts := startServer(t, t.TempDir(), testConfig())
	ts.addUser("alice", "pw")
	c := ts.dial(ts.login("alice", "pw"), 0)
	c.WriteMessage(1, []byte(strings.Repeat("x", 4096)))
	if code := closeCode(t, c, 5*time.Second); code != 1009 {
		t.Fatalf("close code %d", code)
	}
}

func TestShutdownLeavesNoGoroutinesBehind(t *testing.T) {
	testkit.NoLeaks(t)
	ts := startServer(t, t.TempDir(), testConfig())
	ts.addUser("alice", "pw")
	tok, pub := ts.login("alice", "pw"), ts.publisher()
	var conns []func()
	for range 5 {
		c, _, err := ts.dialStatus(tok, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			for {
				if _, _, err := c.ReadMessage(); err != nil {
					return
				}
			}
		}()
		conns = append(conns, func() { c.Close() })
	}
	ts.publish(pub, proto.PublishRequest{To: "alice", Message: "x"})
	ts.close()
	for _, f := range conns {
		f()
	}
	ts.httpc.CloseIdleConnections()
}
