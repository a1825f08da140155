// Package desktoptest gives a test process a private desktop: a throwaway
// HOME and XDG directories, its own D-Bus session bus, an unlocked
// gnome-keyring Secret Service on that bus and, when asked, an Xvfb display.
// Nothing the tests do reaches the user's real session, and every process it
// starts is killed when the tests end.
//
// Use it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(desktoptest.Main(m, desktoptest.Needs{Keyring: true})) }
//
// and call Require(t) in each test that needs it. When a tool is missing, the
// tests that need it skip with the command that installs it — except under
// CI=true, where a desktop that cannot start fails the run.
package desktoptest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Needs says which parts of the desktop a test package uses. A session bus
// and private directories are always set up.
type Needs struct {
	Keyring bool // an unlocked gnome-keyring Secret Service on the bus
	Display bool // an Xvfb X display
}

// Env is the private desktop of one test process.
type Env struct {
	Dir     string // root of every private directory
	Home    string
	BusAddr string // DBUS_SESSION_BUS_ADDRESS
	Display string // DISPLAY, ":N", when Needs.Display

	procs []*exec.Cmd
}

// Errors Start returns.
var (
	// ErrUnavailable says a tool the desktop needs is not installed.
	ErrUnavailable = errors.New("desktoptest: test desktop unavailable")
	// ErrUnsupportedOS says this OS has no private desktop to make: it is
	// D-Bus, gnome-keyring and Xvfb, which only Linux has. On Windows and
	// macOS the tests that need it would reach the user's own Credential
	// Manager or Keychain, so they skip, even under CI.
	ErrUnsupportedOS = errors.New("desktoptest: the private test desktop (D-Bus, gnome-keyring, Xvfb) is Linux-only")
)

// startTimeout bounds how long each service may take to come up.
const startTimeout = 20 * time.Second

var (
	current  *Env
	setupErr error
)

// Main sets up the desktop, exports its variables into this process's
// environment (so in-process D-Bus clients such as go-keyring and beeep use
// it), runs the tests and tears everything down. It returns the exit code.
func Main(m *testing.M, needs Needs) int {
	env, err := Start(needs)
	if err != nil {
		setupErr = err
		if os.Getenv("CI") == "true" && !errors.Is(err, ErrUnsupportedOS) {
			fmt.Fprintf(os.Stderr, "FAIL: the test desktop did not start under CI: %v\n", err)
			return 1
		}
		fmt.Fprintf(os.Stderr, "desktoptest: %v; desktop tests will be skipped (run `scripts/deps` to install what they need)\n", err)
		return m.Run()
	}
	Adopt(env)
	code := m.Run()
	env.Close()
	return code
}

// Adopt makes env the desktop Require returns and exports its variables
// into this process's environment, as Main does. It is for programs that are
// not tests (the benchmarks), which start a desktop with Start.
func Adopt(env *Env) {
	current = env
	for _, kv := range env.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		os.Setenv(k, v)
	}
}

// Require returns the desktop of this test process, or skips the test when
// it could not start (Main already failed the run if CI=true).
func Require(t testing.TB) *Env {
	t.Helper()
	if current == nil {
		if setupErr == nil {
			t.Fatal("desktoptest.Require called without desktoptest.Main in TestMain")
		}
		t.Skipf("no test desktop: %v", setupErr)
	}
	return current
}

// Start builds a private desktop. Callers must Close it.
func Start(needs Needs) (env *Env, err error) {
	if runtime.GOOS != "linux" {
		return nil, fmt.Errorf("%w (this is %s)", ErrUnsupportedOS, runtime.GOOS)
	}
	tools := []string{"dbus-daemon"}
	if needs.Keyring {
		tools = append(tools, "gnome-keyring-daemon")
	}
	if needs.Display {
		tools = append(tools, "Xvfb")
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("%w: %s is not installed", ErrUnavailable, tool)
		}
	}
	dir, err := os.MkdirTemp("", "tidings-desktop-")
	if err != nil {
		return nil, err
	}
	env = &Env{Dir: dir, Home: filepath.Join(dir, "home")}
	defer func() {
		if err != nil {
			env.Close()
		}
	}()
	for _, d := range []string{env.Home, env.configHome(), env.dataHome(), env.cacheHome(), env.stateHome(), env.runtimeDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	if err := env.startBus(); err != nil {
		return nil, err
	}
	if needs.Keyring {
		if err := env.startKeyring(); err != nil {
			return nil, err
		}
	}
	if needs.Display {
		if err := env.startXvfb(); err != nil {
			return nil, err
		}
	}
	return env, nil
}

func (e *Env) configHome() string { return filepath.Join(e.Home, ".config") }
func (e *Env) dataHome() string   { return filepath.Join(e.Home, ".local", "share") }
func (e *Env) cacheHome() string  { return filepath.Join(e.Home, ".cache") }
func (e *Env) stateHome() string  { return filepath.Join(e.Home, ".local", "state") }
func (e *Env) runtimeDir() string { return filepath.Join(e.Dir, "run") }

// ConfigHome, DataHome and CacheHome are the private XDG directories.
func (e *Env) ConfigHome() string { return e.configHome() }
func (e *Env) DataHome() string   { return e.dataHome() }
func (e *Env) CacheHome() string  { return e.cacheHome() }

// Environ returns the variables a child process needs to live in this
// desktop, to be appended to os.Environ().
func (e *Env) Environ() []string {
	env := []string{
		"HOME=" + e.Home,
		"XDG_CONFIG_HOME=" + e.configHome(),
		"XDG_DATA_HOME=" + e.dataHome(),
		"XDG_CACHE_HOME=" + e.cacheHome(),
		"XDG_STATE_HOME=" + e.stateHome(),
		"XDG_RUNTIME_DIR=" + e.runtimeDir(),
		"DBUS_SESSION_BUS_ADDRESS=" + e.BusAddr,
		"NO_AT_BRIDGE=1",
	}
	if e.Display != "" {
		env = append(env, "DISPLAY="+e.Display, "WAYLAND_DISPLAY=")
	}
	return env
}

// command prepares a child in its own process group with the desktop's
// environment, so Close can kill it and anything it forked.
func (e *Env) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), e.Environ()...)
	cmd.SysProcAttr = ownGroup()
	return cmd
}

func (e *Env) startBus() error {
	sock := filepath.Join(e.runtimeDir(), "bus")
	cmd := e.command("dbus-daemon", "--session", "--nofork", "--nopidfile",
		"--print-address=1", "--address=unix:path="+sock)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = io.Discard // it complains that it cannot raise its fd limit
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("desktoptest: start dbus-daemon: %w", err)
	}
	e.procs = append(e.procs, cmd)
	line, err := readLine(out, startTimeout)
	if err != nil {
		return fmt.Errorf("desktoptest: dbus-daemon gave no address: %w", err)
	}
	e.BusAddr = strings.TrimSpace(line)
	return nil
}

// startKeyring runs gnome-keyring's Secret Service in the foreground on the
// private bus and unlocks (creating it on first use) the login collection
// with a throwaway password read from stdin.
func (e *Env) startKeyring() error {
	cmd := e.command("gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets")
	cmd.Stdin = strings.NewReader("tidings-test-keyring")
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("desktoptest: start gnome-keyring-daemon: %w", err)
	}
	e.procs = append(e.procs, cmd)
	if err := waitForBusName(e.BusAddr, "org.freedesktop.secrets", startTimeout); err != nil {
		return fmt.Errorf("desktoptest: gnome-keyring: %w", err)
	}
	return nil
}

// startXvfb starts Xvfb on the first free display; -displayfd makes the
// server pick it and tell us which.
func (e *Env) startXvfb() error {
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	cmd := e.command("Xvfb", "-displayfd", "3", "-screen", "0", "1280x800x24", "-nolisten", "tcp", "-noreset")
	cmd.ExtraFiles = []*os.File{w}
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		w.Close()
		return fmt.Errorf("desktoptest: start Xvfb: %w", err)
	}
	w.Close()
	e.procs = append(e.procs, cmd)
	line, err := readLine(r, startTimeout)
	if err != nil {
		return fmt.Errorf("desktoptest: Xvfb gave no display: %w", err)
	}
	e.Display = ":" + strings.TrimSpace(line)
	// Services the bus starts on demand (a notification daemon such as
	// dunst) need the display too; the bus was started before it.
	return updateActivationEnvironment(e.BusAddr, map[string]string{"DISPLAY": e.Display})
}

// Close kills every process the desktop started (and their process groups)
// and removes its directories.
func (e *Env) Close() {
	for i := len(e.procs) - 1; i >= 0; i-- {
		p := e.procs[i]
		if p.Process == nil {
			continue
		}
		stopGroup(p.Process)
		done := make(chan struct{})
		go func() { _ = p.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			killGroup(p.Process)
			<-done
		}
	}
	e.procs = nil
	if e.Dir != "" {
		_ = os.RemoveAll(e.Dir)
	}
}

// readLine reads one line from r, or fails after timeout.
func readLine(r io.Reader, timeout time.Duration) (string, error) {
	type result struct {
		line string
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		line, err := bufio.NewReader(r).ReadString('\n')
		ch <- result{line, err}
	}()
	select {
	case res := <-ch:
		if res.err != nil && res.line == "" {
			return "", res.err
		}
		return res.line, nil
	case <-time.After(timeout):
		return "", fmt.Errorf("no answer within %v", timeout)
	}
}
