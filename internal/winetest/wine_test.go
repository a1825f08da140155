//go:build linux

package winetest

import (
	"bytes"
	"errors"
	"image"
	"image/png"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/tidings-app/tidings/internal/testkit"
)

// wine is one Wine prefix with the Windows binaries under test.
type wine struct {
	t      *testing.T
	prefix string // WINEPREFIX, a Linux path
	exe    string // tidings.exe
	keyget string // keyget.exe
	shots  string // where screenshots go
}

// needWine returns the prefix scripts/wine-test prepared, or skips.
func needWine(t *testing.T) *wine {
	t.Helper()
	w := &wine{t: t, prefix: os.Getenv("WINEPREFIX"), exe: os.Getenv("TIDINGS_WINE_EXE"),
		keyget: os.Getenv("TIDINGS_WINE_KEYGET"), shots: os.Getenv("TIDINGS_WINE_SHOTS")}
	if w.exe == "" || w.keyget == "" || w.prefix == "" {
		t.Skip("TIDINGS_WINE_EXE, TIDINGS_WINE_KEYGET and WINEPREFIX are unset: `make wine-test` prepares a prefix and the binaries")
	}
	if os.Getenv("DISPLAY") == "" {
		t.Skip("no DISPLAY: `make wine-test` runs this inside a private Xvfb desktop")
	}
	for _, tool := range []string{"wine", "xdotool", "import"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed: run scripts/deps wine", tool)
		}
	}
	if w.shots == "" {
		w.shots = t.TempDir()
	}
	return w
}

// winPath names a Linux path the way Wine's Z: drive shows it.
func winPath(p string) string { return `Z:` + strings.ReplaceAll(p, "/", `\`) }

// command runs a Windows program in the prefix.
func (w *wine) command(args ...string) *exec.Cmd {
	cmd := exec.Command("wine", args...)
	cmd.Env = append(os.Environ(), "WINEDEBUG=-all", "WINEDLLOVERRIDES=mscoree,mshtml=")
	return cmd
}

// run runs a Windows program to its end and returns its stdout.
func (w *wine) run(args ...string) (string, error) {
	var out, errb bytes.Buffer
	cmd := w.command(args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		return out.String(), errors.New(strings.TrimSpace(errb.String()) + ": " + err.Error())
	}
	return out.String(), nil
}

// appLog is the app's log file under the prefix (%LOCALAPPDATA%).
func (w *wine) appLog() string {
	m, _ := filepath.Glob(filepath.Join(w.prefix, "drive_c", "users", "*", "AppData", "Local", "tidings", "logs", "tidings.log"))
	if len(m) == 0 {
		return ""
	}
	b, _ := os.ReadFile(m[0])
	return string(b)
}

// regValue reads one registry value with wine's reg.exe; "" when absent.
func (w *wine) regValue(key, name string) string {
	out, err := w.run("reg", "query", key, "/v", name)
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == name {
			return strings.TrimSpace(strings.SplitN(line, f[1], 2)[1])
		}
	}
	return ""
}

// screen takes a screenshot of the Wine desktop and saves it as name.png.
func (w *wine) screen(name string) image.Image {
	w.t.Helper()
	out, err := exec.Command("import", "-window", "root", "png:-").Output()
	if err != nil {
		w.t.Fatalf("screenshot: %v", err)
	}
	_ = os.WriteFile(filepath.Join(w.shots, name+".png"), out, 0o644)
	img, err := png.Decode(bytes.NewReader(out))
	if err != nil {
		w.t.Fatalf("screenshot: %v", err)
	}
	return img
}

// light is the share of near-white pixels in r: a Fyne window on Wine's
// blue desktop.
func light(img image.Image, r image.Rectangle) float64 {
	n, all := 0, 0
	for y := r.Min.Y; y < r.Max.Y; y += 2 {
		for x := r.Min.X; x < r.Max.X; x += 2 {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			if cr>>8 > 225 && cg>>8 > 225 && cb>>8 > 225 {
				n++
			}
			all++
		}
	}
	return float64(n) / float64(all)
}

func xdo(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("xdotool", args...).CombinedOutput(); err != nil {
		t.Fatalf("xdotool %v: %v %s", args, err, out)
	}
}

// Offsets of the tray menu's last entries above its bottom border, in
// pixels (Wine's menus, 17 px rows, 9 px separators).
var trayEntries = map[string]int{"Quit": 11, "Log out": 37, "Log in…": 37, "Start at login": 54}

// trayMenu right-clicks Tidings' tray icon (the rightmost in the taskbar of
// the 1280×800 Wine desktop) and clicks entry. Wine's tray menus take no
// keys from xdotool, so the entry is found from the menu's bottom border,
// which is all the menu's height varies above. The icon may not be in the
// tray yet: the click is repeated until a menu opens.
func (w *wine) trayMenu(entry string) {
	w.t.Helper()
	off, ok := trayEntries[entry]
	if !ok {
		w.t.Fatalf("no tray entry %q", entry)
	}
	deadline := time.Now().Add(testkit.Patience())
	for time.Now().Before(deadline) {
		xdo(w.t, "mousemove", "1270", "790", "click", "3")
		poll := time.NewTicker(100 * time.Millisecond)
		for i := 0; i < 20; i++ {
			<-poll.C
			if bottom := menuBottom(w.screen("menu")); bottom > 0 {
				poll.Stop()
				xdo(w.t, "mousemove", "1150", strconv.Itoa(bottom-off), "click", "1")
				return
			}
		}
		poll.Stop()
	}
	w.t.Fatalf("no tray menu opened within %v (see %s)", testkit.Patience(), filepath.Join(w.shots, "menu.png"))
}

// menuBottom is the y of an open Wine menu's bottom border near the tray
// (a #A6A6A6 row under white at x = 1276), or 0.
func menuBottom(img image.Image) int {
	grey := func(y int) bool {
		r, g, b, _ := img.At(1276, y).RGBA()
		return r>>8 == 0xa6 && g>>8 == 0xa6 && b>>8 == 0xa6
	}
	white := func(y int) bool {
		r, g, b, _ := img.At(1276, y).RGBA()
		return r>>8 == 0xff && g>>8 == 0xff && b>>8 == 0xff
	}
	for y := 798; y > 600; y-- {
		if grey(y) && white(y-1) && white(y-5) {
			return y
		}
	}
	return 0
}

// utf16le is s as Windows stores wide strings.
func utf16le(s string) string {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return string(b)
}

// grepAll lists the files under root that hold any of needles, in one walk
// (a Wine prefix is hundreds of megabytes).
func grepAll(t *testing.T, root string, needles []string) []string {
	t.Helper()
	var hits []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		for _, n := range needles {
			if bytes.Contains(data, []byte(n)) {
				hits = append(hits, path)
				break
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}
