package main

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"image"
	_ "image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zalando/go-keyring"
	_ "modernc.org/sqlite"

	"github.com/tidings-app/tidings/account"
	"github.com/tidings-app/tidings/assets"
	"github.com/tidings-app/tidings/internal/desktoptest"
	"github.com/tidings-app/tidings/internal/servertest"
	"github.com/tidings-app/tidings/internal/testkit"
)

// xdo runs xdotool on the test display.
func xdo(t *testing.T, env *desktoptest.Env, args ...string) {
	t.Helper()
	cmd := exec.Command("xdotool", args...)
	cmd.Env = append(cmd.Environ(), env.Environ()...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("xdotool %v: %v: %s", args, err, out)
	}
}

// waitForWindow waits until something is drawn on the screen.
func waitForWindow(t *testing.T, env *desktoptest.Env) {
	t.Helper()
	testkit.Eventually(t, "a window to be drawn", func() bool {
		img, err := env.Screenshot("")
		return err == nil && desktoptest.Colours(img, 32) >= 16
	})
}

// argb converts a PNG the way fyne.io/systray hands icons to the panel.
func argb(t *testing.T, png []byte) (int, int, []byte) {
	img, _, err := image.Decode(bytes.NewReader(png))
	if err != nil {
		t.Fatal(err)
	}
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	out := make([]byte, 0, w*h*4)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			r, g, b, a := img.At(x, y).RGBA()
			out = append(out, byte(a>>8), byte(r>>8), byte(g>>8), byte(b>>8))
		}
	}
	return w, h, out
}

// trayIconName says which of our tray icons the panel is showing: the one
// whose pixels are nearest to the item's pixmap.
func trayIconName(t *testing.T, item *desktoptest.TrayItem) string {
	t.Helper()
	w, h, got, err := item.IconPixmap()
	if err != nil {
		t.Fatal(err)
	}
	best, bestDist := "", -1
	for name, png := range map[string][]byte{"connected": assets.TrayConnected, "unread": assets.TrayUnread,
		"offline": assets.TrayOffline, "login": assets.TrayNeedsLogin, "app": assets.AppIcon} {
		iw, ih, want := argb(t, png)
		if iw != w || ih != h {
			continue
		}
		d := 0
		for i := range want {
			if x := int(want[i]) - int(got[i]); x < 0 {
				d -= x
			} else {
				d += x
			}
		}
		if bestDist < 0 || d < bestDist {
			best, bestDist = name, d
		}
	}
	if best == "" {
		t.Fatalf("tray pixmap %dx%d matches none of our icons", w, h)
	}
	return best
}

func TestTheRealAppLogsInThroughItsWindowThenNotifiesStoresAndShowsUnreadInTheTray(t *testing.T) {
	env := desktoptest.Require(t)
	for _, tool := range []string{"xdotool", "import"} {
		if err := desktoptest.LookPath(tool); err != nil {
			t.Fatalf("%s is needed: run scripts/deps", tool)
		}
	}
	bus := desktoptest.StartNotifications(t)
	tray := desktoptest.StartTrayWatcher(t)
	srv := servertest.Start(t, servertest.Config(0))
	const password = "e2e-password-Lz9"
	srv.AddUser("alice", password)
	pub := srv.Publisher()

	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config", "config.json")
	dataDir := filepath.Join(dir, "data")
	app := startApp(t, env, "--config", cfgPath, "--data", dataDir, "--log-level", "debug")
	waitForWindow(t, env)
	item := tray.WaitItem(t, 30*time.Second)
	testkit.Eventually(t, "the needs-login tray icon", func() bool { return trayIconName(t, item) == "login" })

	// Drive the login window as a user would: click each field and type.
	// The window sits at the top left of the bare Xvfb screen.
	xdo(t, env, "mousemove", "200", "64", "click", "1")
	xdo(t, env, "type", "--delay", "5", srv.URL)
	xdo(t, env, "mousemove", "200", "220", "click", "1")
	xdo(t, env, "type", "--delay", "5", "alice")
	xdo(t, env, "mousemove", "180", "298", "click", "1")
	xdo(t, env, "type", "--delay", "5", password)
	xdo(t, env, "key", "Return")

	key := account.AccountKey("alice", srv.URL)
	var token string
	testkit.Eventually(t, "the token in the keyring", func() bool {
		tok, err := keyring.Get(account.AppID, key)
		token = tok
		return err == nil && tok != ""
	})
	var menu []desktoptest.MenuItem
	testkit.Eventually(t, "the tray to say connected", func() bool {
		m, err := item.Menu()
		menu = m
		_, ok := desktoptest.Find(m, "Connected to "+srv.Addr)
		return err == nil && ok
	})

	srv.Send(pub, servertest.Message{To: "alice", Title: "Deploy finished", Body: "v1.4 is <live>", Priority: 3, Topic: "ci"})
	got := bus.Wait(t, 20*time.Second, func(ns []desktoptest.Notification) bool { return len(ns) >= 1 })
	if n := got[0]; n.AppName != "Tidings" || n.Summary != "Deploy finished" || n.Body != "v1.4 is &lt;live&gt;" {
		t.Fatalf("notification app=%q summary=%q body=%q", n.AppName, n.Summary, n.Body)
	}

	db, err := sql.Open("sqlite", "file:"+filepath.Join(dataDir, "history.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	testkit.Eventually(t, "the message in the history file", func() bool {
		var n int
		err := db.QueryRow(`SELECT count(*) FROM messages WHERE title = 'Deploy finished' AND source = 'ci' AND read = 0`).Scan(&n)
		return err == nil && n == 1
	})

	testkit.Eventually(t, "the message in the tray menu and the unread icon", func() bool {
		m, err := item.Menu()
		menu = m
		_, ok := desktoptest.Find(m, "Deploy finished")
		return err == nil && ok && trayIconName(t, item) == "unread"
	})
	if len(bus.All()) != 1 {
		t.Errorf("%d notifications for one message", len(bus.All()))
	}

	// Hostile text reaches the tray clean: a NUL once made the menu's
	// GetLayout fail ("input has a null char"), so Quit could not be clicked.
	srv.Send(pub, servertest.Message{To: "alice", Title: "evil\x00\u202Eedirrevo\u202C\x1b[0m\nfake item", Body: "x", Priority: 3, Topic: "ci"})
	testkit.Eventually(t, "the hostile title, cleaned, in the tray menu", func() bool {
		m, err := item.Menu()
		menu = m
		_, ok := desktoptest.Find(m, "eviledirrevo[0m fake item")
		return err == nil && ok
	})

	// Nothing but the keyring holds the token or the password: not the
	// config or data dir, not the log file in the state dir, nothing in
	// the private home (where the keyring's own file is encrypted).
	logFile := filepath.Join(env.Home, ".local", "state", "tidings", "tidings.log")
	if b, err := os.ReadFile(logFile); err != nil || !strings.Contains(string(b), "logged in") {
		t.Errorf("the app's log file %s is missing or has no login line: %v", logFile, err)
	}
	for _, secret := range []string{token, password} {
		for _, root := range []string{dir, env.Home} {
			if hits := desktoptest.GrepTree(t, root, secret); len(hits) > 0 {
				t.Errorf("a secret is on disk in %v", hits)
			}
		}
		if strings.Contains(app.output(), secret) {
			t.Error("a secret is in the app's log output")
		}
	}
	if t.Failed() {
		t.Logf("menu: %s", describeMenu(menu))
		return
	}

	// Quit from the tray menu ends the app cleanly.
	clickTray(t, item, "Quit")
	waitExit(t, app, "Quit")
}

func describeMenu(items []desktoptest.MenuItem) string {
	var b strings.Builder
	for _, mi := range items {
		fmt.Fprintf(&b, "\n  [%d] %q enabled=%v checked=%v", mi.ID, mi.Label, mi.Enabled, mi.Checked)
	}
	return b.String()
}

func TestASecondLaunchHandsOverToTheRunningAppAndExits(t *testing.T) {
	env := desktoptest.Require(t)
	dir := t.TempDir()
	args := []string{"--config", filepath.Join(dir, "config.json"), "--data", dir}
	first := startApp(t, env, args...)
	waitForWindow(t, env)
	testkit.Eventually(t, "the first instance to listen", func() bool {
		return strings.Contains(first.output(), "tidings starting")
	})
	second := exec.Command(first.Path)
	second.Env = append(second.Environ(), env.Environ()...)
	second.Env = append(second.Env, "TIDINGS_TEST_MAIN=1", "TIDINGS_TEST_ARGS="+strings.Join(args, "\x1f"))
	done := make(chan error, 1)
	start := time.Now()
	if err := second.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- second.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("second launch: %v", err)
		}
		t.Logf("second launch handed over and exited after %v", time.Since(start).Round(time.Millisecond))
	case <-time.After(testkit.Patience()):
		_ = second.Process.Kill()
		t.Fatal("the second launch is still running")
	}
	select {
	case <-first.exited:
		t.Fatal("the first instance exited")
	default:
	}
}

// Where the hand-over endpoint cannot be made (Wine has no AF_UNIX; here a
// runtime directory too long for a socket path), the running app keeps its
// lock: a second launch says so in a popup and exits, and two copies never
// run. It used to give the lock up and run a second, connected copy.
func TestASecondLaunchThatCannotHandOverSaysTidingsIsRunningAndExits(t *testing.T) {
	env := desktoptest.Require(t)
	notes := desktoptest.StartNotifications(t)
	dir := t.TempDir()
	long := filepath.Join(t.TempDir(), strings.Repeat("r", 110))
	if err := os.MkdirAll(long, 0o700); err != nil {
		t.Fatal(err)
	}
	extra := []string{"XDG_RUNTIME_DIR=" + long}
	args := []string{"--config", filepath.Join(dir, "config.json"), "--data", dir}
	first := startAppWith(t, env, extra, args...)
	waitForWindow(t, env)
	testkit.Eventually(t, "the first instance to start", func() bool {
		return strings.Contains(first.output(), "tidings starting")
	})
	if !strings.Contains(first.output(), "cannot listen for later launches") {
		t.Fatalf("the first instance did not say it cannot listen:\n%s", first.output())
	}
	second := startAppWith(t, env, extra, args...)
	select {
	case <-second.exited:
	case <-time.After(2 * testkit.Patience()):
		t.Fatalf("the second launch is still running: two copies\n%s", second.output())
	}
	var ee *exec.ExitError
	if !errors.As(second.err, &ee) || ee.ExitCode() != 1 {
		t.Errorf("second launch exit = %v, want exit status 1", second.err)
	}
	got := notes.Wait(t, testkit.Patience(), func(ns []desktoptest.Notification) bool {
		for _, n := range ns {
			if n.Summary == "Tidings is already running" {
				return true
			}
		}
		return false
	})
	t.Logf("%d popup(s); second launch log:\n%s", len(got), second.output())
	select {
	case <-first.exited:
		t.Fatal("the first instance exited")
	default:
	}
}
