//go:build linux

package winetest

import (
	"database/sql"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/tidings-app/tidings/account"
	"github.com/tidings-app/tidings/internal/servertest"
	"github.com/tidings-app/tidings/internal/testkit"
)

const runKey = `HKCU\Software\Microsoft\Windows\CurrentVersion\Run`

// exe is a running tidings.exe; done closes when it has exited, err then
// holds Wait's result.
type exe struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
	log  string
}

// output is what it printed (stdout and stderr).
func (e *exe) output() string { b, _ := os.ReadFile(e.log); return string(b) }

// wait reports whether it exited within d, and how.
func (e *exe) wait(d time.Duration) (error, bool) {
	select {
	case <-e.done:
		return e.err, true
	case <-time.After(d):
		return nil, false
	}
}

// startExe runs tidings.exe with its config and data in dir; it is killed
// when the test ends if still running.
func (w *wine) startExe(t *testing.T, dir string) *exe {
	t.Helper()
	return w.start(t, w.exe, "--config", winPath(filepath.Join(dir, "config", "config.json")),
		"--data", winPath(filepath.Join(dir, "data")), "--log-level", "debug")
}

// start runs a Windows program in the background.
func (w *wine) start(t *testing.T, args ...string) *exe {
	t.Helper()
	logf, err := os.CreateTemp(t.TempDir(), "stdout-*.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd := w.command(args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	e := &exe{cmd: cmd, done: make(chan struct{}), log: logf.Name()}
	go func() { e.err = cmd.Wait(); logf.Close(); close(e.done) }()
	t.Cleanup(func() {
		if _, ok := e.wait(0); !ok {
			_ = cmd.Process.Kill()
			<-e.done
		}
	})
	return e
}

// The Windows exe, as a Windows user meets it: first start, the login
// window typed into, a message from tidings-server, "Start at login" from
// the tray, Quit from the tray. Then a second start in Windows 10 mode,
// where toasts go through WinRT (which Wine lacks, so every popup fails),
// must still quit cleanly: it used to die in runtime.exit and hang.
func TestTheWindowsExeLogsInStoresStartsAtLoginAndQuitsUnderWine(t *testing.T) {
	w := needWine(t)
	srv := servertest.Start(t, servertest.Config(0))
	const password = "wine-password-Qd7"
	srv.AddUser("alice", password)
	pub := srv.Publisher()
	dir := t.TempDir()

	if v := w.regValue(runKey, "io.github.tidings_app.tidings"); v != "" {
		t.Fatalf("the prefix already has a Run value %q: not a fresh prefix", v)
	}
	out, err := w.run(w.exe, "--version")
	if err != nil || !strings.HasPrefix(out, "tidings ") {
		t.Fatalf("--version = %q, %v", out, err)
	}

	started := time.Now()
	app := w.startExe(t, dir)
	login := image.Rect(0, 20, 420, 460) // the login window, top left
	testkit.Eventually(t, "the login window to be drawn", func() bool { return light(w.screen("login-empty"), login) > 0.5 })
	t.Logf("figures: login window drawn %v after start", time.Since(started).Round(100*time.Millisecond))

	// Focus starts in the empty server field; Tab moves down the form.
	xdo(t, "type", "--delay", "10", srv.URL)
	xdo(t, "key", "Tab", "Tab")
	xdo(t, "type", "--delay", "10", "alice")
	xdo(t, "key", "Tab")
	xdo(t, "type", "--delay", "10", password)
	xdo(t, "key", "Return")
	testkit.Eventually(t, `"logged in" and "connected" in the app's log`, func() bool {
		l := w.appLog()
		return strings.Contains(l, `msg="logged in"`) && strings.Contains(l, "state=connected")
	})
	img := w.screen("after-login")
	if light(img, login) > 0.3 {
		t.Errorf("a window is still open at the top left after logging in (see %s)", filepath.Join(w.shots, "after-login.png"))
	}
	for _, bad := range []string{"level=ERROR", "Something went wrong", "settings not saved", "sync directory"} {
		if strings.Contains(w.appLog(), bad) {
			t.Errorf("the app's log has %q:\n%s", bad, w.appLog())
		}
	}

	key := account.AccountKey("alice", srv.URL)
	token, err := w.run(w.keyget, key)
	if err != nil || token == "" {
		t.Fatalf("no token in Wine's Credential Manager for %s: %v", key, err)
	}
	needles := []string{token, utf16le(token), password, utf16le(password)}
	for _, root := range []string{w.prefix, dir} {
		if hits := grepAll(t, root, needles); len(hits) > 0 {
			t.Errorf("the token or the password is in plain text in %v", hits)
		}
	}

	srv.Send(pub, servertest.Message{To: "alice", Title: "Wine hello", Body: "from tidings-server send", Topic: "ci"})
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "data", "history.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	testkit.Eventually(t, "the message in history.db", func() bool {
		var n int
		err := db.QueryRow(`SELECT count(*) FROM messages WHERE title = 'Wine hello' AND source = 'ci'`).Scan(&n)
		return err == nil && n == 1
	})

	w.trayMenu("Start at login")
	var run string
	testkit.Eventually(t, "the Run value in HKCU", func() bool {
		run = w.regValue(runKey, "io.github.tidings_app.tidings")
		return run != ""
	})
	if !strings.Contains(run, "tidings.exe") || !strings.HasSuffix(run, "--hidden") {
		t.Errorf("Run value = %q, want the exe's path and --hidden", run)
	}

	w.trayMenu("Quit")
	quitAt := time.Now()
	err, ok := app.wait(2 * testkit.Patience())
	if !ok {
		t.Fatalf("still running %v after Quit\n%s", 2*testkit.Patience(), app.output())
	}
	if err != nil {
		t.Fatalf("Quit: %v\n%s", err, app.output())
	}
	t.Logf("figures: exited 0 %v after Quit", time.Since(quitAt).Round(100*time.Millisecond))

	// Windows 10 mode: beeep tries WinRT toasts, which fail under Wine
	// after go-toast registered its COM class factory.
	if _, err := w.run("winecfg", "-v", "win10"); err != nil {
		t.Fatalf("winecfg -v win10: %v", err)
	}
	t.Cleanup(func() { _, _ = w.run("winecfg", "-v", "win7") })
	app = w.startExe(t, dir)
	testkit.Eventually(t, "connected again with the stored token", func() bool {
		return strings.Count(w.appLog(), "state=connected") >= 2
	})
	srv.Send(pub, servertest.Message{To: "alice", Title: "Wine ten", Body: "a toast Wine cannot show", Topic: "ci"})
	testkit.Eventually(t, "the failed toast in the log", func() bool { return strings.Contains(w.appLog(), "popup failed") })
	w.trayMenu("Quit")
	err, ok = app.wait(2 * testkit.Patience())
	if !ok {
		t.Fatalf("Windows 10 mode: still running after Quit (the exit crash)\n%s", app.output())
	}
	if err != nil || strings.Contains(app.output(), "fatal error") {
		t.Fatalf("Windows 10 mode: Quit: %v\n%s", err, app.output())
	}
}
