package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tidings-app/tidings/internal/testkit"
	"github.com/tidings-app/tidings/proto"
	"github.com/tidings-app/tidings/server/natsjs/natstest"
)

func TestServeOnNATSSharesAccountsAddedByTheCLI(t *testing.T) {
	n, err := natstest.StartNode(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	ctx := context.Background()
	env := map[string]string{EnvNATS: n.URL(), EnvData: t.TempDir()}
	if r := runCmd(t, ctx, "pw-demo\n", env, "user", "add", "demo"); r.code != 0 {
		t.Fatalf("user add on NATS: %+v", r)
	}
	r := runCmd(t, ctx, "", nil, "token", "add", "--publisher", "ci", "--nats", n.URL())
	pub := strings.TrimSpace(r.stdout)
	if r.code != 0 || !strings.HasPrefix(pub, "tdp_") {
		t.Fatalf("token add on NATS: %+v", r)
	}
	if r := runCmd(t, ctx, "", env, "user", "list"); r.code != 0 || !strings.Contains(r.stdout, "demo") {
		t.Fatalf("user list on NATS: %+v", r)
	}

	sctx, stop := context.WithCancel(ctx)
	addrc := make(chan net.Addr, 1)
	done := make(chan int, 1)
	var logs bytes.Buffer
	go func() {
		done <- Run(sctx, []string{"serve", "--addr", "127.0.0.1:0", "--backend", "nats", "--nats", n.URL()},
			Env{Stdout: &bytes.Buffer{}, Stderr: &logs, Getenv: func(string) string { return "" }, OnListen: func(a net.Addr) { addrc <- a }})
	}()
	var addr net.Addr
	select {
	case addr = <-addrc:
	case code := <-done:
		t.Fatalf("serve exited with %d: %s", code, logs.String())
	case <-time.After(testkit.Patience()):
		t.Fatal("serve did not listen")
	}
	body, _ := json.Marshal(proto.LoginRequest{Username: "demo", Password: "pw-demo"})
	resp, err := http.Post("http://"+addr.String()+proto.PathLogin, "application/json", bytes.NewReader(body))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("login: %v %v", resp, err)
	}
	var lr proto.LoginResponse
	json.NewDecoder(resp.Body).Decode(&lr)
	resp.Body.Close()
	c, _, err := websocket.DefaultDialer.Dial("ws://"+addr.String()+proto.PathWS, http.Header{"Authorization": {"Bearer " + lr.Token}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if r := runCmd(t, ctx, "", nil, "send", "--server", "http://"+addr.String(), "--token", pub, "--to", "demo", "over NATS"); r.code != 0 {
		t.Fatalf("send: %+v", r)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, frame, err := c.ReadMessage()
	if _, m, derr := proto.DecodeFrame(frame); err != nil || derr != nil || m.Message != "over NATS" {
		t.Fatalf("got %q %v %v", frame, err, derr)
	}
	stop()
	if code := <-done; code != 0 {
		t.Fatalf("serve exit %d: %s", code, logs.String())
	}
}

func TestBackendFlagsAreCheckedAndNATSPasswordsStayOutOfErrors(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown backend", []string{"user", "list", "--backend", "redis"}, 2, "usage"},
		{"nats without url", []string{"user", "list", "--backend", "nats"}, 1, "--nats URL"},
		{"embedded with url", []string{"user", "list", "--backend", "embedded", "--nats", "nats://127.0.0.1:1"}, 2, "usage"},
		{"unreachable", []string{"user", "list", "--nats", "nats://tidings:s3cret-nats-pw@127.0.0.1:1"}, 1, "connect"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCmd(t, ctx, "", map[string]string{EnvData: t.TempDir()}, tc.args...)
			if r.code != tc.code || !strings.Contains(r.stderr+r.stdout, tc.want) {
				t.Fatalf("%+v", r)
			}
			if strings.Contains(r.stderr+r.stdout, "s3cret-nats-pw") {
				t.Fatalf("NATS password leaked: %+v", r)
			}
		})
	}
}
