package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidings-app/tidings/internal/desktoptest"
)

// The test binary doubles as the tidings binary: with TIDINGS_TEST_MAIN set
// it runs the real main with the arguments in TIDINGS_TEST_ARGS, so the
// end-to-end tests drive the same code a user runs without a second build.
func TestMain(m *testing.M) {
	if os.Getenv("TIDINGS_TEST_MAIN") == "1" {
		var args []string
		if a := os.Getenv("TIDINGS_TEST_ARGS"); a != "" {
			args = strings.Split(a, "\x1f")
		}
		os.Exit(run(args))
	}
	os.Exit(desktoptest.Main(m, desktoptest.Needs{Keyring: true, Display: true}))
}

// appProcess is a running tidings.
type appProcess struct {
	*exec.Cmd
	log string
}

// output is what the app printed so far (its log).
func (a *appProcess) output() string {
	b, _ := os.ReadFile(a.log)
	return string(b)
}

// startApp runs this binary as tidings inside the test desktop and stops it
// when the test ends.
func startApp(t *testing.T, env *desktoptest.Env, args ...string) *appProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), env.Environ()...)
	cmd.Env = append(cmd.Env, "TIDINGS_TEST_MAIN=1", "TIDINGS_TEST_ARGS="+strings.Join(args, "\x1f"))
	logf, err := os.Create(filepath.Join(t.TempDir(), "app.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			out, _ := os.ReadFile(logf.Name())
			t.Logf("app output:\n%s", out)
		}
	})
	return &appProcess{Cmd: cmd, log: logf.Name()}
}

func TestTheAppWindowOpensUnderXvfbAndTheScreenIsNotBlank(t *testing.T) {
	env := desktoptest.Require(t)
	if err := desktoptest.LookPath("import"); err != nil {
		t.Fatal("ImageMagick's import is needed for this test: run scripts/deps")
	}
	shot := filepath.Join(t.TempDir(), "screen.png")
	before, err := env.Screenshot("")
	if err != nil {
		t.Fatal(err)
	}
	if c := desktoptest.Colours(before, 10); c != 1 {
		t.Fatalf("screen not empty before the app started: %d colours", c)
	}
	startApp(t, env)
	deadline := time.Now().Add(90 * time.Second)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		img, err := env.Screenshot(shot)
		if err != nil {
			t.Fatal(err)
		}
		// A rendered Fyne window has a themed background, text with
		// anti-aliasing and an icon: many colours, where an empty
		// Xvfb screen has exactly one.
		if c := desktoptest.Colours(img, 64); c >= 16 {
			t.Logf("window drawn with %d+ colours; screenshot %s", c, shot)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no window drawn within 90 s (screenshot %s)", shot)
		}
		<-tick.C
	}
}

func TestVersionFlagPrintsTheVersion(t *testing.T) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "TIDINGS_TEST_MAIN=1", "TIDINGS_TEST_ARGS=--version")
	got, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(got), "tidings ") {
		t.Fatalf("got %q", got)
	}
}
