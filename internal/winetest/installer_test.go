//go:build linux

package winetest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidings-app/tidings/internal/testkit"
)

const uninstallKey = `HKCU\Software\Microsoft\Windows\CurrentVersion\Uninstall\io.github.tidings_app.tidings`

// userDir is the Linux path of a folder under the prefix's only user.
func (w *wine) userDir(t *testing.T, parts ...string) string {
	t.Helper()
	users, _ := filepath.Glob(filepath.Join(w.prefix, "drive_c", "users", "*", "AppData"))
	if len(users) != 1 {
		t.Fatalf("want one user profile in the prefix, found %v", users)
	}
	return filepath.Join(append([]string{filepath.Dir(users[0])}, parts...)...)
}

// The NSIS installer, silently, per user without admin rights: the files,
// the Start Menu shortcut, the "Apps & features" entry and the login item;
// the installed app starts and quits; the uninstaller takes it all away
// and leaves the user's data.
//
// Not checked here, because Wine cannot show it: the AppUserModelID on the
// shortcut. Wine's shell link hands out an IPropertyStore whose SetValue
// and Commit answer S_OK, but it saves no properties into the .lnk.
func TestTheInstallerInstallsStartsAndUninstallsUnderWine(t *testing.T) {
	w := needWine(t)
	setup := os.Getenv("TIDINGS_WINE_INSTALLER")
	if setup == "" {
		t.Skip("TIDINGS_WINE_INSTALLER is unset: `make wine-test` builds the installer")
	}
	start := time.Now()
	if _, err := w.run(setup, "/S"); err != nil {
		t.Fatalf("silent install: %v", err)
	}
	t.Logf("figures: silent install took %v", time.Since(start).Round(100*time.Millisecond))
	home := w.userDir(t, "AppData", "Local", "Programs", "Tidings")
	lnk := w.userDir(t, "AppData", "Roaming", "Microsoft", "Windows", "Start Menu", "Programs", "Tidings.lnk")
	for _, f := range []string{filepath.Join(home, "Tidings.exe"), filepath.Join(home, "Uninstall.exe"), filepath.Join(home, "Tidings.ico"), lnk} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("not installed: %v", err)
		}
	}
	if b, err := os.ReadFile(lnk); err == nil && !strings.Contains(string(b), "Tidings.exe") && !strings.Contains(string(b), utf16le("Tidings.exe")) {
		t.Errorf("the shortcut does not point at Tidings.exe")
	}
	for name, want := range map[string]string{"DisplayName": "Tidings", "DisplayIcon": "Tidings.ico", "QuietUninstallString": `Uninstall.exe" /S`} {
		if got := w.regValue(uninstallKey, name); !strings.Contains(got, want) {
			t.Errorf("Apps & features %s = %q, want it to contain %q", name, got, want)
		}
	}
	if run := w.regValue(runKey, "io.github.tidings_app.tidings"); !strings.Contains(run, `Programs\Tidings\Tidings.exe" --hidden`) {
		t.Errorf("login item = %q, want the installed exe with --hidden", run)
	}

	// The installed app starts (as at login: --hidden, into the tray).
	logBefore := len(w.appLog())
	app := w.start(t, filepath.Join(home, "Tidings.exe"), "--hidden")
	testkit.Eventually(t, "the installed app to start", func() bool {
		l := w.appLog()
		return len(l) > logBefore && strings.Contains(l[logBefore:], "tidings starting")
	})
	w.trayMenu("Quit")
	if err, ok := app.wait(2 * testkit.Patience()); !ok || err != nil {
		t.Fatalf("the installed app did not quit cleanly: exited=%v err=%v", ok, err)
	}

	quiet := w.regValue(uninstallKey, "QuietUninstallString")
	uninst := filepath.Join(home, "Uninstall.exe")
	if _, err := w.run(uninst, "/S", "/ALLUSERS=0"); err != nil {
		t.Fatalf("uninstall (%s): %v", quiet, err)
	}
	// NSIS's uninstaller copies itself to %TEMP% and runs from there, so
	// the files go a moment after it returns.
	testkit.Eventually(t, "the install folder and shortcut to be gone", func() bool {
		_, e1 := os.Stat(home)
		_, e2 := os.Stat(lnk)
		return os.IsNotExist(e1) && os.IsNotExist(e2)
	})
	if v := w.regValue(uninstallKey, "DisplayName"); v != "" {
		t.Errorf("the Apps & features entry is still there: %q", v)
	}
	if v := w.regValue(runKey, "io.github.tidings_app.tidings"); v != "" {
		t.Errorf("the login item is still there: %q", v)
	}
}
