package instance

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tidings-app/tidings/internal/testkit"
)

const testID = "io.github.tidings_app.tidings"

// Child modes: the test binary re-executes itself as a second launch.
const childEnv = "INSTANCE_TEST_CHILD"

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "second-launch":
		os.Exit(secondLaunch(os.Getenv("INSTANCE_TEST_DIR")))
	case "hold-and-wait":
		os.Exit(holdAndWait(os.Getenv("INSTANCE_TEST_DIR")))
	}
	os.Exit(m.Run())
}

// secondLaunch is what cmd/tidings does at start: acquire, and when another
// instance runs, hand it "show-history" and exit 0.
func secondLaunch(dir string) int {
	cfg := Config{AppID: testID, Dir: dir}
	in, err := cfg.Acquire()
	if err == nil {
		in.Close()
		fmt.Println("acquired: no other instance")
		return 3
	}
	if !errors.Is(err, ErrRunning) {
		fmt.Println("acquire:", err)
		return 4
	}
	if err := cfg.Send(context.Background(), "show-history"); err != nil {
		fmt.Println("send:", err)
		return 5
	}
	fmt.Println("handed over")
	return 0
}

// holdAndWait acquires, says "ready" and blocks until killed.
func holdAndWait(dir string) int {
	in, err := Config{AppID: testID, Dir: dir}.Acquire()
	if err != nil {
		fmt.Println("acquire:", err)
		return 4
	}
	_ = in
	fmt.Println("ready")
	select {}
}

func child(t *testing.T, mode, dir string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode, "INSTANCE_TEST_DIR="+dir)
	return cmd
}

// shortDir gives a directory whose socket path fits AF_UNIX limits
// (t.TempDir can be long).
func shortDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "inst")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return filepath.Join(d, testID)
}

func fastConfig(dir string) Config {
	return Config{AppID: testID, Dir: dir, IOTimeout: 500 * time.Millisecond,
		SendTimeout: 2 * time.Second, RetryEvery: 10 * time.Millisecond}
}

func TestASecondLaunchHandsOverShowHistoryAndExits(t *testing.T) {
	dir := shortDir(t)
	got := make(chan string, 4)
	cfg := fastConfig(dir)
	cfg.Handler = func(cmd string) { got <- cmd }
	in, err := cfg.Acquire()
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()

	out, err := child(t, "second-launch", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("second launch: %v\n%s", err, out)
	}
	if strings.TrimSpace(string(out)) != "handed over" {
		t.Errorf("second launch said %q", out)
	}
	select {
	case cmd := <-got:
		if cmd != "show-history" {
			t.Errorf("handler got %q", cmd)
		}
	case <-time.After(testkit.Patience()):
		t.Fatal("the running instance never received the command")
	}
}

func TestAStaleLockAndSocketFromACrashedInstanceAreRecovered(t *testing.T) {
	dir := shortDir(t)
	holder := child(t, "hold-and-wait", dir)
	stdout, err := holder.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		holder.Process.Kill()
		holder.Wait()
		t.Fatalf("holder said %q", line)
	}
	if _, err := fastConfig(dir).Acquire(); !errors.Is(err, ErrRunning) {
		t.Fatalf("while the holder runs, Acquire = %v, want ErrRunning", err)
	}
	// Crash it: SIGKILL runs no cleanup, so the socket file stays behind.
	holder.Process.Kill()
	holder.Wait()
	if runtime.GOOS != "windows" { // a pipe dies with its process
		if _, err := os.Lstat(filepath.Join(dir, "instance.sock")); err != nil {
			t.Fatalf("expected a stale socket after the crash: %v", err)
		}
	}
	dead := fastConfig(dir)
	dead.SendTimeout = 200 * time.Millisecond
	if err := dead.Send(context.Background(), "show-history"); !errors.Is(err, ErrNoAnswer) {
		t.Errorf("Send to the dead instance = %v, want ErrNoAnswer", err)
	}

	got := make(chan string, 1)
	cfg := fastConfig(dir)
	cfg.Handler = func(cmd string) { got <- cmd }
	in, err := cfg.Acquire()
	if err != nil {
		t.Fatalf("Acquire after the crash: %v", err)
	}
	defer in.Close()
	if err := fastConfig(dir).Send(context.Background(), "show-history"); err != nil {
		t.Fatalf("Send to the new instance: %v", err)
	}
	if cmd := <-got; cmd != "show-history" {
		t.Errorf("got %q", cmd)
	}
}

func TestTheSocketAndItsDirectoryArePrivate(t *testing.T) {
	dir := shortDir(t)
	in, err := fastConfig(dir).Acquire()
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	private := map[string]os.FileMode{dir: 0o700, filepath.Join(dir, "instance.lock"): 0o600}
	if runtime.GOOS != "windows" {
		private[in.SocketPath()] = 0o600 // a pipe's DACL is listen's business
	}
	for path, want := range private {
		fi, err := os.Lstat(path)
		if err != nil {
			t.Fatal(err)
		}
		if testkit.ModeBits && fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode().Perm(), want)
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, "instance.lock"))
	if strings.TrimSpace(string(b)) != fmt.Sprint(os.Getpid()) {
		t.Errorf("lock file holds %q, want our pid", b)
	}
}

func TestCloseReleasesTheLockAndLeavesNoGoroutines(t *testing.T) {
	testkit.NoLeaks(t)
	dir := shortDir(t)
	for i := 0; i < 3; i++ {
		in, err := fastConfig(dir).Acquire()
		if err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		// a client that connects and never speaks must not hold Close up
		c, err := dial(context.Background(), in.SocketPath(), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if err := in.Close(); err != nil {
			t.Fatal(err)
		}
		c.Close()
		if err := in.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if _, err := dial(context.Background(), in.SocketPath(), 100*time.Millisecond); err == nil {
			t.Errorf("something still answers on %s after Close", in.SocketPath())
		}
		if runtime.GOOS != "windows" {
			if _, err := os.Lstat(in.SocketPath()); !os.IsNotExist(err) {
				t.Errorf("socket left after Close: %v", err)
			}
		}
	}
}

func TestMalformedRequestsAreRefusedWithoutReachingTheHandler(t *testing.T) {
	dir := shortDir(t)
	called := make(chan string, 8)
	cfg := fastConfig(dir)
	cfg.Handler = func(cmd string) { called <- cmd }
	in, err := cfg.Acquire()
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	for _, req := range []string{
		"show-history\n",
		magic + " \n",
		magic + " show history\n",
		magic + " " + strings.Repeat("x", maxCommand+1) + "\n",
		magic + " sh\x00w\n",
		"GET / HTTP/1.1\r\n\r\n",
	} {
		c, err := dial(context.Background(), in.SocketPath(), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(2 * time.Second))
		io.WriteString(c, req)
		ans, _ := io.ReadAll(c)
		c.Close()
		if len(ans) > 0 && !strings.HasPrefix(string(ans), "ERR") {
			t.Errorf("request %q answered %q", req, ans)
		}
	}
	select {
	case cmd := <-called:
		t.Errorf("handler called with %q", cmd)
	default:
	}
	// and the instance still serves a good one
	if err := fastConfig(dir).Send(context.Background(), "show-history"); err != nil {
		t.Fatal(err)
	}
}

func TestSendChecksItsCommandAndGivesUpWhenNobodyListens(t *testing.T) {
	dir := shortDir(t)
	for _, bad := range []string{"", "a b", "x\n", strings.Repeat("y", 65), "é"} {
		if err := fastConfig(dir).Send(context.Background(), bad); !errors.Is(err, ErrBadCommand) {
			t.Errorf("Send(%q) = %v, want ErrBadCommand", bad, err)
		}
	}
	cfg := fastConfig(dir)
	cfg.SendTimeout = 100 * time.Millisecond
	start := time.Now()
	if err := cfg.Send(context.Background(), "show-history"); !errors.Is(err, ErrNoAnswer) {
		t.Errorf("Send with no instance = %v, want ErrNoAnswer", err)
	}
	testkit.Within(t, "Send with a 100 ms SendTimeout and no instance", time.Since(start), 2*time.Second)
}

func TestSendWaitsForAnInstanceThatIsStillStartingUp(t *testing.T) {
	dir := shortDir(t)
	got := make(chan string, 1)
	sent := make(chan error, 1)
	go func() { sent <- fastConfig(dir).Send(context.Background(), "show-history") }()
	cfg := fastConfig(dir)
	cfg.Handler = func(cmd string) { got <- cmd }
	in, err := cfg.Acquire()
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if err := <-sent; err != nil {
		t.Fatalf("Send: %v", err)
	}
	if cmd := <-got; cmd != "show-history" {
		t.Errorf("got %q", cmd)
	}
}

func TestDefaultDirIsTheRuntimeDirOnLinux(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("XDG runtime dir is a Linux/BSD rule")
	}
	t.Setenv("XDG_RUNTIME_DIR", "/run/user/4242")
	d, err := DefaultDir(testID)
	if err != nil || d != "/run/user/4242/"+testID {
		t.Errorf("DefaultDir = %q, %v", d, err)
	}
	t.Setenv("XDG_RUNTIME_DIR", "")
	t.Setenv("XDG_CACHE_HOME", "/home/x/.cache")
	if d, _ := DefaultDir(testID); d != "/home/x/.cache/"+testID {
		t.Errorf("fallback DefaultDir = %q", d)
	}
	if _, err := (Config{AppID: "../x"}).Acquire(); err == nil {
		t.Error("an ID with a slash was accepted")
	}
}

// When the endpoint cannot be made (Wine has no AF_UNIX; a socket path
// can be too long), this used to release the lock and let a second copy
// run: two tray icons, both connected.
func TestAnInstanceThatCannotListenKeepsTheLockSoASecondLaunchIsRefused(t *testing.T) {
	testkit.NoLeaks(t)
	dir := blockEndpoint(t)
	var logs testkit.Buffer
	cfg := fastConfig(dir)
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	in, err := cfg.Acquire()
	if err != nil {
		t.Fatalf("Acquire = %v; a failed listen must not give up the lock", err)
	}
	defer in.Close()
	if in.Listening() {
		t.Fatal("listening on an endpoint that cannot be made")
	}
	if !strings.Contains(logs.String(), "cannot listen for later launches") {
		t.Errorf("the failed listen was not logged:\n%s", logs.String())
	}
	second, err := fastConfig(dir).Acquire()
	if !errors.Is(err, ErrRunning) {
		if second != nil {
			second.Close()
		}
		t.Fatalf("second Acquire = %v, want ErrRunning: two copies would run", err)
	}
	if err := fastConfig(dir).Send(context.Background(), "show-history"); !errors.Is(err, ErrNoAnswer) {
		t.Fatalf("Send = %v, want ErrNoAnswer", err)
	}
	in.Close()
	again, err := fastConfig(dir).Acquire()
	if err != nil {
		t.Fatalf("after Close: %v", err)
	}
	again.Close()
}
