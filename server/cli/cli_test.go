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
	"golang.org/x/crypto/bcrypt"

	"github.com/tidings-app/tidings/internal/testkit"
	"github.com/tidings-app/tidings/proto"
)

func init() { bcryptCost = bcrypt.MinCost }

type run struct {
	code           int
	stdout, stderr string
}

func runCmd(t *testing.T, ctx context.Context, stdin string, env map[string]string, args ...string) run {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(ctx, args, Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb,
		Getenv: func(k string) string { return env[k] }})
	return run{code, out.String(), errb.String()}
}

func TestDemoFlowAddUserTokenServeAndSend(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	env := map[string]string{EnvData: dir}
	if r := runCmd(t, ctx, "demo-password\n", env, "user", "add", "demo", "--group", "ops"); r.code != 0 {
		t.Fatalf("user add: %+v", r)
	}
	if r := runCmd(t, ctx, "x\n", env, "user", "add", "demo"); r.code != 1 || !strings.Contains(r.stderr, "already exists") {
		t.Fatalf("duplicate user add: %+v", r)
	}
	r := runCmd(t, ctx, "", env, "token", "add", "--publisher", "ci")
	pub := strings.TrimSpace(r.stdout)
	if r.code != 0 || !strings.HasPrefix(pub, "tdp_") {
		t.Fatalf("token add: %+v", r)
	}

	sctx, stop := context.WithCancel(ctx)
	addrc := make(chan net.Addr, 1)
	var logs bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- Run(sctx, []string{"serve", "--addr", "127.0.0.1:0", "--data", dir, "--verbose"},
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
	base := "http://" + addr.String()

	body, _ := json.Marshal(proto.LoginRequest{Username: "demo", Password: "demo-password"})
	resp, err := http.Post(base+proto.PathLogin, "application/json", bytes.NewReader(body))
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

	// Server and token from the environment; flags in any order.
	r = runCmd(t, ctx, "", map[string]string{EnvServer: base, EnvToken: pub}, "send", "--to", "demo", "Hello", "from the shell", "--priority", "4", "--topic", "demo")
	if r.code != 0 || !strings.Contains(r.stdout, "sent to 1 recipient") {
		t.Fatalf("send: %+v", r)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, frame, err := c.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	_, m, err := proto.DecodeFrame(frame)
	if err != nil || m.Title != "Hello" || m.Message != "from the shell" || m.Priority != 4 || m.Topic != "demo" {
		t.Fatalf("got %+v %v", m, err)
	}
	r = runCmd(t, ctx, "", nil, "send", "--server", base, "--token", pub, "--group", "ops", "body only")
	if r.code != 0 {
		t.Fatalf("send to group: %+v", r)
	}
	r = runCmd(t, ctx, "", nil, "send", "--server", base, "--token", pub, "--to", "nobody", "x")
	if r.code != 1 || !strings.Contains(r.stderr, "404 no such user") {
		t.Fatalf("send to unknown user: %+v", r)
	}
	r = runCmd(t, ctx, "", nil, "send", "--server", base, "--token", "tdp_wrong-token-value", "--to", "demo", "x")
	if r.code != 1 || !strings.Contains(r.stderr, "401") || strings.Contains(r.stderr, "wrong-token-value") {
		t.Fatalf("send with a bad token: %+v", r)
	}

	stop()
	if code := <-done; code != 0 {
		t.Fatalf("serve exit %d: %s", code, logs.String())
	}
	for _, secret := range []string{pub, lr.Token, "demo-password"} {
		if strings.Contains(logs.String(), secret) {
			t.Fatal("a secret appears in the server log")
		}
	}
}

func TestUserCommandsAndUsageErrors(t *testing.T) {
	ctx := context.Background()
	env := map[string]string{EnvData: t.TempDir()}
	tests := []struct {
		name  string
		stdin string
		args  []string
		code  int
		out   string
	}{
		{"add", "pw1\n", []string{"user", "add", "alice"}, 0, "user alice: added"},
		{"add reads only the first line", "pw2\nrest\n", []string{"user", "add", "bob"}, 0, "added"},
		{"empty password", "\n", []string{"user", "add", "carol"}, 1, "empty password"},
		{"long password", strings.Repeat("p", 73), []string{"user", "add", "carol"}, 1, "longer than 72"},
		{"bad name", "pw\n", []string{"user", "add", "no spaces"}, 1, "use 1-64"},
		{"passwd", "pw3\n", []string{"user", "passwd", "alice"}, 0, "password changed"},
		{"passwd unknown", "pw3\n", []string{"user", "passwd", "zed"}, 1, "not found"},
		{"list", "", []string{"user", "list"}, 0, "alice"},
		{"del", "", []string{"user", "del", "bob"}, 0, "deleted"},
		{"del unknown", "", []string{"user", "del", "bob"}, 1, "not found"},
		{"no command", "", nil, 2, "usage"},
		{"unknown command", "", []string{"frobnicate"}, 2, "usage"},
		{"token without publisher", "", []string{"token", "add"}, 2, "usage"},
		{"send without server", "", []string{"send", "--to", "a", "x"}, 2, "usage"},
		{"bad flag", "", []string{"serve", "--nope"}, 2, "usage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCmd(t, ctx, tt.stdin, env, tt.args...)
			if r.code != tt.code || !strings.Contains(r.stdout+r.stderr, tt.out) {
				t.Fatalf("got %+v, want code %d with %q", r, tt.code, tt.out)
			}
			if strings.Contains(r.stdout+r.stderr, "pw1") {
				t.Fatal("password echoed")
			}
		})
	}
}

func TestDataDirPrecedence(t *testing.T) {
	env := Env{Getenv: func(k string) string {
		return map[string]string{EnvData: "/from/env", "HOME": "/home/u", "XDG_DATA_HOME": "/xdg"}[k]
	}}
	if got := dataDir("/from/flag", env); got != "/from/flag" {
		t.Fatal(got)
	}
	if got := dataDir("", env); got != "/from/env" {
		t.Fatal(got)
	}
	if got := DefaultDataDir(env.Getenv); !strings.HasSuffix(got, "tidings-server") {
		t.Fatal(got)
	}
}
