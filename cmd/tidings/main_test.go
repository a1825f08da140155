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
	return startAppWith(t, env, nil, args...)
}

// startAppWith is startApp with extra environment variables, which win
// over the desktop's.
func startAppWith(t *testing.T, env *desktoptest.Env, extra []string, args ...string) *appProcess {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), env.Environ()...)
	cmd.Env = append(cmd.Env, "TIDINGS_TEST_MAIN=1", "TIDINGS_TEST_ARGS="+strings.Join(args, "\x1f"))
	cmd.Env = append(cmd.Env, extra...)
	// Under -race the app writes its race reports to files that checkRaces
	// reads when it has exited, and judges every one: any race fails the
	// test except the known upstream ones it lists exactly. The exit code
	// stays the app's own (exitcode=0), so that a clean Quit is still
	// checked as one; no report is lost by it.
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

// checkRaces fails the test for every race report the app wrote to dir,
// except the known races inside fyne.io/systray listed in upstreamRaces,
// which are logged with their count.
func checkRaces(t *testing.T, dir string) {
	files, _ := filepath.Glob(filepath.Join(dir, "race*"))
	known := map[string]int{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Error(err)
			continue
		}
		for _, report := range strings.Split(string(data), "WARNING: DATA RACE")[1:] {
			if why, ok := upstreamRace(report); ok {
				known[why]++
				continue
			}
			t.Errorf("data race in the app:\n%s", report)
		}
	}
	for why, n := range known {
		t.Logf("%d report(s) of a known race inside fyne.io/systray: %s", n, why)
	}
}

// upstreamRaces are races between two functions of fyne.io/systray (and
// the D-Bus encoder it hands its values to), present at the version go.mod
// pins, that no call of ours can avoid. Each is matched by both racing
// accesses' innermost frames, exactly: any other race fails, including one
// in the same library between other functions, or one where our code is the
// racing access.
var upstreamRaces = []struct{ a, b, via, why string }{
	{"fyne.io/systray.refresh()", "fyne.io/systray.(*tray).GetLayout()", "",
		"GetLayout starts a goroutine that calls refresh, which bumps menuVersion under instance.lock while GetLayout reads it under menuLock (systray_menu_unix.go:86-92)"},
	{"github.com/godbus/dbus/v5.(*encoder).encode()", "fyne.io/systray.argbForImage()", "",
		"SetIcon's new pixel buffer is read by the D-Bus reply to the panel's IconPixmap request; the race detector sees no order between them (systray_unix.go:62, godbus prop.Get)"},
	// The same two accesses seen on the pixmap's width and height: SetIcon
	// stores the new IconPixmap into the property's value in place
	// (prop.SetMust → dbus.Store → setDest) while a reply encodes the old.
	// Only with SetIcon on the writing stack.
	{"github.com/godbus/dbus/v5.(*encoder).encode()", "github.com/godbus/dbus/v5.setDest()", "fyne.io/systray.SetIcon()",
		"SetIcon overwrites the IconPixmap property in place (prop.SetMust) while the D-Bus reply to the panel's IconPixmap request encodes it (systray_unix.go:62)"},
}

// upstreamRace reports whether a race report is one of upstreamRaces.
func upstreamRace(report string) (string, bool) {
	top := racingFrames(report)
	if len(top) != 2 {
		return "", false
	}
	for _, k := range upstreamRaces {
		if ((top[0] == k.a && top[1] == k.b) || (top[0] == k.b && top[1] == k.a)) && (k.via == "" || strings.Contains(report, k.via)) {
			return k.why, true
		}
	}
	return "", false
}

// racingFrames returns the innermost frame of each racing access that is
// not in the runtime or reflect (a D-Bus encoder reads through reflect).
func racingFrames(report string) []string {
	lines := strings.Split(report, "\n")
	var top []string
	for i, l := range lines {
		l = strings.TrimSpace(l)
		for _, p := range []string{"Read at", "Write at", "Previous read at", "Previous write at"} {
			if !strings.HasPrefix(l, p) {
				continue
			}
			for j := i + 1; j < len(lines) && strings.TrimSpace(lines[j]) != ""; j += 2 { // a frame, then its file:line
				f := strings.TrimSpace(lines[j])
				if !strings.HasPrefix(f, "reflect.") && !strings.HasPrefix(f, "runtime.") {
					top = append(top, f)
					break
				}
			}
		}
	}
	return top
}

func TestOnlyTheListedSystrayRacesAreToleratedAndOnlyByBothFrames(t *testing.T) {
	report := func(a, b string) string {
		return "\nWrite at 0x1 by goroutine 1:\n  " + a + "\n      /x.go:1\n\nPrevious read at 0x1 by goroutine 2:\n  " + b + "\n      /y.go:2\n"
	}
	for _, tc := range []struct {
		name   string
		report string
		known  bool
	}{
		{"the GetLayout race", report("fyne.io/systray.refresh()", "fyne.io/systray.(*tray).GetLayout()"), true},
		{"the same pair the other way round", report("fyne.io/systray.(*tray).GetLayout()", "fyne.io/systray.refresh()"), true},
		{"the icon race", report("fyne.io/systray.argbForImage()", "github.com/godbus/dbus/v5.(*encoder).encode()"), true},
		{"our code against systray", report("github.com/tidings-app/tidings/ui.(*Tray).refresh()", "fyne.io/systray.refresh()"), false},
		{"another pair inside systray", report("fyne.io/systray.SetTitle()", "fyne.io/systray.refresh()"), false},
		{"SetIcon's in-place store", report("github.com/godbus/dbus/v5.setDest()\n      /d.go:98\n  fyne.io/systray.SetIcon()", "github.com/godbus/dbus/v5.(*encoder).encode()"), true},
		{"an in-place store not from SetIcon", report("github.com/godbus/dbus/v5.setDest()", "github.com/godbus/dbus/v5.(*encoder).encode()"), false},
		{"one access only", "\nWrite at 0x1 by goroutine 1:\n  fyne.io/systray.refresh()\n", false},
		{"the icon race read through reflect", "\nRead at 0x1 by goroutine 1:\n  reflect.Value.Uint()\n      /r.go:1\n  github.com/godbus/dbus/v5.(*encoder).encode()\n      /e.go:2\n\nPrevious write at 0x1 by main goroutine:\n  fyne.io/systray.argbForImage()\n      /s.go:3\n", true},
	} {
		if _, got := upstreamRace(tc.report); got != tc.known {
			t.Errorf("%s: tolerated %v, want %v", tc.name, got, tc.known)
		}
	}
}
