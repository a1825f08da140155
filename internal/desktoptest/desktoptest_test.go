package desktoptest

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gen2brain/beeep"
	"github.com/zalando/go-keyring"
)

func TestMain(m *testing.M) { os.Exit(Main(m, Needs{Keyring: true, Display: true})) }

func TestATokenRoundTripsThroughTheRealSecretService(t *testing.T) {
	Require(t)
	const service, user, secret = "io.github.tidings_app.tidings.test", "alice@127.0.0.1", "tdt_round-trip-secret"
	if err := keyring.Set(service, user, secret); err != nil {
		t.Fatalf("set: %v", err)
	}
	got, err := keyring.Get(service, user)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if got != secret {
		t.Fatalf("got %q, want the secret back", got)
	}
	if err := keyring.Delete(service, user); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := keyring.Get(service, user); !errors.Is(err, keyring.ErrNotFound) {
		t.Fatalf("after delete: err = %v, want ErrNotFound", err)
	}
	if _, err := keyring.Get(service, "nobody"); !errors.Is(err, keyring.ErrNotFound) {
		t.Fatalf("missing: err = %v, want ErrNotFound", err)
	}
}

func TestTheSecretStaysInTheKeyringFilesNotInPlainText(t *testing.T) {
	env := Require(t)
	const secret = "tdt_must-not-be-plaintext-on-disk"
	if err := keyring.Set("io.github.tidings_app.tidings.test", "bob", secret); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = keyring.Delete("io.github.tidings_app.tidings.test", "bob") })
	// gnome-keyring writes the login collection encrypted; the secret
	// must not appear in any file of the private home.
	if hits := grepTree(t, env.Home, secret); len(hits) > 0 {
		t.Fatalf("secret found in plain text in %v", hits)
	}
}

func TestABeeepNotificationReachesTheNotificationServerOnTheSessionBus(t *testing.T) {
	Require(t)
	srv := StartNotifications(t)
	beeep.AppName = "Tidings"
	if err := beeep.Notify("Backup done", "3.2 GB in 41 s", ""); err != nil {
		t.Fatalf("notify: %v", err)
	}
	got := srv.Wait(t, 10*time.Second, func(ns []Notification) bool { return len(ns) >= 1 })
	n := got[0]
	if n.AppName != "Tidings" || n.Summary != "Backup done" || n.Body != "3.2 GB in 41 s" {
		t.Fatalf("got app=%q summary=%q body=%q", n.AppName, n.Summary, n.Body)
	}
}

func TestTheDisplayAcceptsClientsAndScreenshotsWork(t *testing.T) {
	env := Require(t)
	if err := LookPath("import"); err != nil {
		t.Skip("ImageMagick is not installed")
	}
	img, err := env.Screenshot("")
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 1280 || b.Dy() != 800 {
		t.Fatalf("screen is %v, want 1280x800", b)
	}
	// An empty Xvfb screen is one colour: the check that finds a window
	// elsewhere must be able to fail.
	if c := Colours(img, 10); c != 1 {
		t.Fatalf("an empty screen has %d colours, want 1", c)
	}
}

func TestCloseKillsEveryProcessAndRemovesTheDirectories(t *testing.T) {
	env, err := Start(Needs{Keyring: true, Display: true})
	if err != nil {
		if os.Getenv("CI") == "true" && !errors.Is(err, ErrUnsupportedOS) {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	var pids []int
	for _, p := range env.procs {
		pids = append(pids, p.Process.Pid)
	}
	dir := env.Dir
	env.Close()
	for _, pid := range pids {
		if data, err := os.ReadFile("/proc/" + itoa(pid) + "/stat"); err == nil && !strings.Contains(string(data), ") Z ") {
			t.Errorf("process %d still alive", pid)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s still exists", dir)
	}
}
