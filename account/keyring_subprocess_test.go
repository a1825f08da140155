//go:build linux

// The keyring tests in child processes are about the Secret Service on
// D-Bus: Linux only.

package account

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tidings-app/tidings/internal/desktoptest"
	"github.com/tidings-app/tidings/internal/testkit"
)

// go-keyring talks over godbus's shared session bus, cached per process,
// so a keyring that is absent or hangs is tested in a child process (this
// test binary, re-executed) with its own DBUS_SESSION_BUS_ADDRESS.

const subprocessToken = "tdt_subprocess-canary-5be1"

type helperResult struct {
	SetNoKeyring   bool   `json:"set_no_keyring"`
	SetElapsed     int64  `json:"set_elapsed_ms"`
	GetOK          bool   `json:"get_ok"`
	GetElapsed     int64  `json:"get_elapsed_ms"`
	MissingNoToken bool   `json:"missing_no_token"`
	Persistent     bool   `json:"persistent"`
	Warning        string `json:"warning"`
	Explain        string `json:"explain"`
}

// TestKeyringHelperProcess is the child: it runs only when re-executed.
func TestKeyringHelperProcess(t *testing.T) {
	if os.Getenv(helperEnv) == "" {
		t.Skip("runs only as the child of the keyring subprocess tests")
	}
	timeout, err := time.ParseDuration(os.Getenv(helperEnv))
	if err != nil {
		t.Fatal(err)
	}
	tok := NewTokens(TokensConfig{Service: testService, Timeout: timeout,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})
	ctx := context.Background()
	var r helperResult
	start := time.Now()
	err = tok.Set(ctx, "alice@https://push.example.com", NewSecret(subprocessToken))
	r.SetElapsed = time.Since(start).Milliseconds()
	r.SetNoKeyring = errors.Is(err, ErrNoKeyring)
	r.Explain = Explain(err)
	fmt.Fprintf(os.Stderr, "set error: %v\n", err)
	start = time.Now()
	got, err := tok.Get(ctx, "alice@https://push.example.com")
	r.GetElapsed = time.Since(start).Milliseconds()
	r.GetOK = err == nil && got.Reveal() == subprocessToken
	_, err = tok.Get(ctx, "bob@https://push.example.com")
	r.MissingNoToken = errors.Is(err, ErrNoToken)
	r.Persistent, r.Warning = tok.Persistent(), tok.Warning()
	b, _ := json.Marshal(r)
	fmt.Printf("RESULT %s\n", b)
}

// runKeyringChild runs the child against busAddr and returns its result and
// its stderr (the child's log).
func runKeyringChild(t *testing.T, busAddr string, timeout time.Duration) (helperResult, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestKeyringHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+timeout.String(), "DBUS_SESSION_BUS_ADDRESS="+busAddr)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("child: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	for line := range strings.Lines(stdout.String()) {
		if rest, ok := strings.CutPrefix(line, "RESULT "); ok {
			var r helperResult
			if err := json.Unmarshal([]byte(rest), &r); err != nil {
				t.Fatal(err)
			}
			return r, stderr.String()
		}
	}
	t.Fatalf("child gave no result\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	return helperResult{}, ""
}

// checkMemoryFallback asserts what every "no keyring" case must give.
func checkMemoryFallback(t *testing.T, env *desktoptest.Env, r helperResult, childLog string) {
	t.Helper()
	if !r.SetNoKeyring {
		t.Errorf("Set did not report ErrNoKeyring")
	}
	if !r.GetOK {
		t.Errorf("the token was not kept in memory for this run")
	}
	if !r.MissingNoToken {
		t.Errorf("a token never set was not ErrNoToken")
	}
	if r.Persistent {
		t.Errorf("Persistent() is true without a keyring")
	}
	want := Explain(ErrNoKeyring)
	if r.Warning != want || r.Explain != want {
		t.Errorf("warning %q, explain %q, want %q", r.Warning, r.Explain, want)
	}
	testkit.Within(t, "Get after the fallback (it must not ask the keyring again)", time.Duration(r.GetElapsed)*time.Millisecond, 100*time.Millisecond)
	if strings.Contains(childLog, subprocessToken) {
		t.Errorf("the child's log holds the token")
	}
	if !strings.Contains(childLog, "no system keyring") {
		t.Errorf("the child did not log the fallback:\n%s", childLog)
	}
	// Never a plaintext fallback: the token is in no file of the home.
	if hits := desktoptest.GrepTree(t, env.Dir, subprocessToken); len(hits) > 0 {
		t.Errorf("token written to %v", hits)
	}
}

func TestAKeyringThatNeverAnswersIsAbandonedAfterTheTimeoutAndTheTokenKeptInMemory(t *testing.T) {
	env := desktoptest.Require(t)
	// A socket that accepts and then never says a word: D-Bus auth hangs.
	sock := filepath.Join(t.TempDir(), "hang")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		for c := range accepted {
			c.Close()
		}
	})
	const timeout = 500 * time.Millisecond
	r, log := runKeyringChild(t, "unix:path="+sock, timeout)
	if r.SetElapsed < timeout.Milliseconds() {
		t.Errorf("Set returned after %d ms, before the timeout of %v", r.SetElapsed, timeout)
	}
	testkit.Within(t, "Set against a keyring that never answers", time.Duration(r.SetElapsed)*time.Millisecond, timeout+2*time.Second)
	t.Logf("Set gave up after %d ms (timeout %v); Get from memory took %d ms", r.SetElapsed, timeout, r.GetElapsed)
	if !strings.Contains(log, "did not answer within") {
		t.Errorf("the log does not say the keyring timed out:\n%s", log)
	}
	checkMemoryFallback(t, env, r, log)
}

func TestWithoutASessionBusTheTokenIsKeptInMemoryWithAWarning(t *testing.T) {
	env := desktoptest.Require(t)
	r, log := runKeyringChild(t, "unix:path="+filepath.Join(t.TempDir(), "no-such-bus"), 5*time.Second)
	testkit.Within(t, "Set against a missing bus", time.Duration(r.SetElapsed)*time.Millisecond, time.Second)
	checkMemoryFallback(t, env, r, log)
}

func TestABusWithoutASecretServiceKeepsTheTokenInMemoryWithAWarning(t *testing.T) {
	env := desktoptest.Require(t)
	addr := startBareBus(t)
	r, log := runKeyringChild(t, addr, 5*time.Second)
	testkit.Within(t, "Set against a bus without a Secret Service", time.Duration(r.SetElapsed)*time.Millisecond, 2*time.Second)
	if !strings.Contains(log, "ServiceUnknown") && !strings.Contains(log, "not provided") {
		t.Errorf("the child's log does not show the bus's answer:\n%s", log)
	}
	checkMemoryFallback(t, env, r, log)
}

// startBareBus runs a session dbus-daemon with no service directories, so
// nothing can be activated on it: org.freedesktop.secrets is absent, as on
// a headless machine without gnome-keyring or KWallet.
func startBareBus(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	conf := filepath.Join(dir, "bus.conf")
	err := os.WriteFile(conf, []byte(`<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=`+filepath.Join(dir, "bus")+`</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("dbus-daemon", "--config-file="+conf, "--nofork", "--nopidfile", "--print-address=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Skipf("dbus-daemon: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		lines <- line
	}()
	select {
	case line := <-lines:
		if strings.TrimSpace(line) == "" {
			t.Fatal("dbus-daemon printed no address")
		}
		return strings.TrimSpace(line)
	case <-time.After(testkit.Patience()):
		t.Fatal("dbus-daemon gave no address within 10 s")
	}
	return ""
}
