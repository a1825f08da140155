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
	log    string
	exited chan struct{} // closed when it has exited; err holds Wait's error
	err    error
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
	// Under -race the app writes race reports to files that checkRaces
	// reads, instead of failing its exit code: a race inside a library
	// (fyne.io/systray answering the panel's GetLayout while the menu is
	// rebuilt) is reported but is not ours to fix; one in our code fails.
	raceDir := t.TempDir()
	cmd.Env = append(cmd.Env, "GORACE=exitcode=0 log_path="+filepath.Join(raceDir, "race"))
	logf, err := os.Create(filepath.Join(t.TempDir(), "app.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	app := &appProcess{Cmd: cmd, log: logf.Name(), exited: make(chan struct{})}
	go func() { app.err = cmd.Wait(); close(app.exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-app.exited
		checkRaces(t, raceDir)
		if t.Failed() {
			out, _ := os.ReadFile(logf.Name())
			t.Logf("app output:\n%s", out)
		}
	})
	return app
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

// checkRaces fails the test for every race report in dir whose racing
// accesses are in this module's code, and logs the others.
func checkRaces(t *testing.T, dir string) {
	files, _ := filepath.Glob(filepath.Join(dir, "race*"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Error(err)
			continue
		}
		for _, report := range strings.Split(string(data), "WARNING: DATA RACE")[1:] {
			if ours, where := raceIsOurs(report); ours {
				t.Errorf("data race in our code at %s:\n%s", where, report)
			} else {
				t.Logf("data race inside a library (%s), not in Tidings' code", where)
			}
		}
	}
}

// raceIsOurs reports whether one of a race report's racing accesses (the
// frame right under "Read at"/"Write at") is in this module.
func raceIsOurs(report string) (bool, string) {
	lines := strings.Split(report, "\n")
	var where []string
	for i, l := range lines {
		l = strings.TrimSpace(l)
		if (strings.HasPrefix(l, "Read at") || strings.HasPrefix(l, "Write at") ||
			strings.HasPrefix(l, "Previous read at") || strings.HasPrefix(l, "Previous write at")) && i+1 < len(lines) {
			frame := strings.TrimSpace(lines[i+1])
			where = append(where, frame)
			if strings.HasPrefix(frame, "github.com/tidings-app/tidings/") {
				return true, frame
			}
		}
	}
	return false, strings.Join(where, " vs ")
}

func TestRaceReportsAreTriagedByTheRacingFrames(t *testing.T) {
	lib := "\nWrite at 0x1 by goroutine 1:\n  fyne.io/systray.refresh()\n      /x.go:1\n\nPrevious read at 0x1 by goroutine 2:\n  fyne.io/systray.(*tray).GetLayout()\n"
	ours := "\nWrite at 0x1 by goroutine 1:\n  github.com/tidings-app/tidings/client.(*Client).handle()\n\nPrevious read at 0x1 by goroutine 2:\n  fyne.io/systray.refresh()\n"
	if is, _ := raceIsOurs(lib); is {
		t.Error("a race between two library frames was taken for ours")
	}
	if is, where := raceIsOurs(ours); !is || !strings.Contains(where, "client") {
		t.Errorf("a race with our frame was not caught (%q)", where)
	}
}
