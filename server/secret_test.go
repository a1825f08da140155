package server

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tidings-app/tidings/internal/testkit"
	"github.com/tidings-app/tidings/proto"
)

func TestSecretPrintsRedactedEverywhere(t *testing.T) {
	s := Secret("tdt_very-secret")
	var b testkit.Buffer
	log := slog.New(slog.NewJSONHandler(&b, nil))
	log.Info("x", "tok", s)
	slog.New(slog.NewTextHandler(&b, nil)).Info("y", "tok", s)
	j, _ := json.Marshal(map[string]Secret{"t": s})
	out := strings.Join([]string{b.String(), fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s %q", s, s, s, s, s), string(j),
		fmt.Errorf("wrapped: %v", s).Error()}, "\n")
	if strings.Contains(out, "very-secret") {
		t.Fatalf("secret leaked:\n%s", out)
	}
	if s.Reveal() != "tdt_very-secret" {
		t.Fatal("Reveal lost the value")
	}
}

func TestTokensAndPasswordsNeverAppearInLogsOrErrors(t *testing.T) {
	cfg := testConfig()
	cfg.LoginPerUser = Rate{Burst: 3, Every: time.Hour}
	ts := startServer(t, t.TempDir(), cfg)
	const password = "pw-Sekrit-9731"
	const wrong = "wrong-Sekrit-5517"
	ts.addUser("alice", password)
	tok, pub := ts.login("alice", password), ts.publisher()
	var bodies []string
	record := func(_ int, _ http.Header, body string) { bodies = append(bodies, body) }
	record(ts.post(proto.PathLogin, "", mustJSON(proto.LoginRequest{Username: "alice", Password: wrong})))
	// A password typed into the user name field is not logged either.
	record(ts.post(proto.PathLogin, "", mustJSON(proto.LoginRequest{Username: wrong + " x", Password: password})))
	record(ts.post(proto.PathLogin, "", mustJSON(proto.LoginRequest{Username: "alice", Password: wrong})))
	record(ts.post(proto.PathLogin, "", mustJSON(proto.LoginRequest{Username: "alice", Password: wrong}))) // 429
	record(ts.post(proto.PathPublish, tok, `{"to":"alice","message":"x"}`))                                // session as publisher
	record(ts.post(proto.PathPublish, pub, `{"to":"alice","message":"x","url":"https://u:`+password+`@x.test"}`))
	record(ts.post(proto.PathPublish, pub, `{"to":"alice","`+password+`":1}`))
	record(ts.post(proto.PathPublish, pub, `{"to":"alice","message":"x"}`))
	// The browser fallback puts the token in the URL: it must not be logged.
	c, _, err := ts.dialStatus("", 0, http.Header{"Origin": {"http://" + ts.addr}})
	if err == nil {
		c.Close()
	}
	c2, _, err := websocketDial("ws://" + ts.addr + proto.PathWS + "?token=" + tok)
	if err != nil {
		t.Fatal(err)
	}
	next(t, c2)
	c2.Close()
	record(ts.post(proto.PathLogout, tok, ""))
	record(ts.post(proto.PathLogout, tok, ""))
	ts.close()

	logs := ts.logs.String()
	if !strings.Contains(logs, "login failed") {
		t.Fatalf("logs were not captured:\n%s", logs)
	}
	for _, secret := range []string{password, wrong, tok, tok[len(SessionPrefix):], pub, pub[len(PublisherPrefix):]} {
		if strings.Contains(logs, secret) {
			t.Errorf("a secret appears in the logs")
		}
		for _, b := range bodies {
			if strings.Contains(b, secret) {
				t.Errorf("a secret appears in a response: %s", b)
			}
		}
	}
}

func websocketDial(u string) (*websocketConn, *http.Response, error) {
	return dialer().Dial(u, http.Header{"Origin": {"http://" + strings.TrimPrefix(strings.SplitN(u, "/ws", 2)[0], "ws://")}})
}
