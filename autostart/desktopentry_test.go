package autostart

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tidings-app/tidings/internal/testkit"
)

var testApp = App{ID: "io.github.tidings_app.tidings", Name: "Tidings", Comment: "Desktop notifications"}

func TestExecArgumentsAreQuotedPerTheDesktopEntrySpec(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/usr/bin/tidings", "/usr/bin/tidings"},
		{"--hidden", "--hidden"},
		{"", `""`},
		{"/home/a b/bin/tidings", `"/home/a b/bin/tidings"`},
		{"/opt/100%/tidings", "/opt/100%%/tidings"},
		{"/opt/100% sure/t", `"/opt/100%% sure/t"`},
		{`/opt/say "hi"/t`, `"/opt/say \\"hi\\"/t"`},
		{`/opt/back\slash/t`, `"/opt/back\\\\slash/t"`},
		{"/opt/$HOME/t", `"/opt/\\$HOME/t"`},
		{"/opt/`id`/t", "\"/opt/\\\\`id\\\\`/t\""},
		{"/opt/it's/t", `"/opt/it's/t"`},
		{"/opt/a;b&c|d/t", `"/opt/a;b&c|d/t"`},
		{"/opt/ünïcødé/t", "/opt/ünïcødé/t"},
	} {
		if got := QuoteExecArg(tc.in); got != tc.want {
			t.Errorf("QuoteExecArg(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// unquoteExec is an independent reading of an Exec value as the spec
// describes it: first the string escapes (\\ → \), then the shell-like
// quoting with \" \` \$ \\ inside double quotes, then %% → %.
func unquoteExec(t *testing.T, v string) []string {
	t.Helper()
	var s strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+1 < len(v) {
			i++
			switch v[i] {
			case '\\':
				s.WriteByte('\\')
			case 's':
				s.WriteByte(' ')
			default:
				t.Fatalf("unknown string escape \\%c in %q", v[i], v)
			}
			continue
		}
		s.WriteByte(v[i])
	}
	str := s.String()
	var args []string
	var cur strings.Builder
	inArg, quoted := false, false
	for i := 0; i < len(str); i++ {
		c := str[i]
		switch {
		case quoted && c == '\\':
			i++
			if i == len(str) || !strings.ContainsRune("\"`$\\", rune(str[i])) {
				t.Fatalf("bad escape inside quotes in %q", str)
			}
			cur.WriteByte(str[i])
		case quoted && c == '"':
			quoted = false
		case quoted:
			cur.WriteByte(c)
		case c == '"':
			quoted, inArg = true, true
		case c == ' ':
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		case c == '%':
			i++
			if i == len(str) || str[i] != '%' {
				t.Fatalf("field code in %q", str)
			}
			cur.WriteByte('%')
			inArg = true
		default:
			if strings.ContainsRune(execReserved, rune(c)) {
				t.Fatalf("unquoted reserved character %q in %q", c, str)
			}
			cur.WriteByte(c)
			inArg = true
		}
	}
	if quoted {
		t.Fatalf("unterminated quote in %q", str)
	}
	if inArg {
		args = append(args, cur.String())
	}
	// %% inside quotes too
	for i, a := range args {
		args[i] = strings.ReplaceAll(a, "%%", "%")
	}
	return args
}

func TestExecLineReadsBackAsTheSameArguments(t *testing.T) {
	for _, exe := range []string{
		"/usr/bin/tidings",
		"/home/jo smith/My Apps/tidings",
		`/home/o'brien/"quoted"/back\slash/$dollar/` + "`tick`/100%/tidings",
		"/tmp/ tab\there/ünï cødé/tidings",
	} {
		args := []string{"--hidden", "--log-level", "debug info", ""}
		got := unquoteExec(t, ExecLine(exe, args))
		want := append([]string{exe}, args...)
		if strings.Contains(exe, "%") {
			want = append([]string{"/usr/bin/env"}, want...)
		}
		if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
			t.Errorf("ExecLine(%q) = %s\n read back %q\n want      %q", exe, ExecLine(exe, args), got, want)
		}
	}
}

func TestDesktopEntryHasTheKeysASessionManagerNeeds(t *testing.T) {
	exe := "/home/a b/bin/tidings"
	got := testApp.DesktopEntry(exe, []string{"--hidden"})
	keys := parseDesktopEntry(got)
	want := map[string]string{
		"Type":                      "Application",
		"Name":                      "Tidings",
		"Comment":                   "Desktop notifications",
		"Icon":                      "io.github.tidings_app.tidings",
		"TryExec":                   exe,
		"Exec":                      `"/home/a b/bin/tidings" --hidden`,
		"Terminal":                  "false",
		"X-GNOME-Autostart-enabled": "true",
	}
	for k, v := range want {
		if keys[k] != v {
			t.Errorf("%s = %q, want %q\n%s", k, keys[k], v, got)
		}
	}
	if !strings.HasPrefix(got, "[Desktop Entry]\n") {
		t.Errorf("entry does not start with its group header:\n%s", got)
	}
	if !entryActive(got) {
		t.Error("a fresh entry reads as inactive")
	}
}

func TestHiddenOrGnomeDisabledEntriesAreInactive(t *testing.T) {
	base := testApp.DesktopEntry("/usr/bin/tidings", nil)
	for _, tc := range []struct {
		name, extra string
		active      bool
	}{
		{"plain", "", true},
		{"hidden", "Hidden=true\n", false},
		{"gnome off", "", false},
		{"other group hidden", "[Desktop Action x]\nHidden=true\n", true},
	} {
		content := base + tc.extra
		if tc.name == "gnome off" {
			content = strings.Replace(base, "X-GNOME-Autostart-enabled=true", "X-GNOME-Autostart-enabled=false", 1)
		}
		if got := entryActive(content); got != tc.active {
			t.Errorf("%s: active = %v, want %v", tc.name, got, tc.active)
		}
	}
}

func TestEnableRefusesWhatAnEntryCannotCarry(t *testing.T) {
	a := App{ID: testApp.ID, Dir: t.TempDir()}
	bin := "/usr/bin/" // an absolute directory on this OS
	if runtime.GOOS == "windows" {
		bin = `C:\Program Files\`
	}
	for _, tc := range []struct {
		exe  string
		args []string
		want error
	}{
		{"tidings", nil, ErrNotAbsolute},
		{"", nil, ErrNotAbsolute},
		{bin + "tidings", []string{"a\nExec=/bin/evil"}, ErrBadArgument},
		{bin + "ti\x00dings", nil, ErrBadArgument},
		{bin + "tidings", []string{"\x7f"}, ErrBadArgument},
	} {
		if err := a.Enable(tc.exe, tc.args...); !errors.Is(err, tc.want) {
			t.Errorf("Enable(%q, %q) = %v, want %v", tc.exe, tc.args, err, tc.want)
		}
	}
	for _, id := range []string{"", "../x", "a/b", `a\b`, ".hidden", "a b", "ä.b"} {
		if err := (App{ID: id}).Enable("/usr/bin/tidings"); !errors.Is(err, ErrBadID) {
			t.Errorf("ID %q: err = %v, want ErrBadID", id, err)
		}
	}
}

func TestGeneratedEntryPassesDesktopFileValidate(t *testing.T) {
	tool, err := exec.LookPath("desktop-file-validate")
	if err != nil {
		t.Skip("desktop-file-validate is not installed (Debian: desktop-file-utils; scripts/deps package)")
	}
	for _, exe := range []string{"/usr/bin/tidings", "/home/jo smith/100% \"odd\" $dir/back\\slash/tidings"} {
		path := filepath.Join(t.TempDir(), testApp.ID+".desktop")
		if err := os.WriteFile(path, []byte(testApp.DesktopEntry(exe, []string{"--hidden"})), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(tool, path).CombinedOutput()
		if err != nil || len(strings.TrimSpace(string(out))) > 0 {
			b, _ := os.ReadFile(path)
			t.Errorf("desktop-file-validate on exe %q: %v\n%s\n%s", exe, err, out, b)
		}
	}
}

// TestGLibLaunchesTheEntryWithTheExactArguments hands a generated entry to
// GLib's own desktop-entry launcher (gio launch, what GNOME's session uses)
// and checks the program at an awkward path receives every argument intact.
func TestGLibLaunchesTheEntryWithTheExactArguments(t *testing.T) {
	gio, err := exec.LookPath("gio")
	if err != nil {
		t.Skip("gio is not installed (Debian: libglib2.0-bin)")
	}
	for _, name := range []string{`we ird "q" $x back\sl`, "100% sure"} {
		dir := filepath.Join(t.TempDir(), name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), "argv")
		prog := filepath.Join(dir, "prog")
		script := "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > '" + out + "'\n"
		if err := os.WriteFile(prog, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		args := []string{"--hidden", "a b", `c"d`, "50%", `e\f`, "$HOME", "it's"}
		entry := filepath.Join(t.TempDir(), testApp.ID+".desktop")
		if err := os.WriteFile(entry, []byte(testApp.DesktopEntry(prog, args)), 0o644); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, gio, "launch", entry)
		cmd.Env = append(os.Environ(), "DBUS_SESSION_BUS_ADDRESS=disabled:", "GIO_USE_VFS=local")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("gio launch (program in %q): %v\n%s", name, err, b)
		}
		// gio launch does not wait for the child: poll for its output.
		deadline := time.After(testkit.Patience())
		tick := time.NewTicker(20 * time.Millisecond)
		var got []byte
	poll:
		for {
			got, err = os.ReadFile(out)
			if err == nil && strings.Count(string(got), "\n") >= len(args) {
				break
			}
			select {
			case <-tick.C:
			case <-deadline:
				break poll
			}
		}
		tick.Stop()
		if want := strings.Join(args, "\n") + "\n"; string(got) != want {
			t.Errorf("program in %q got\n%q\nwant\n%q", name, got, want)
		}
	}
}
