package notifier

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func TestOnlySafeURLsReachTheOpenerAsOneArgument(t *testing.T) {
	var calls [][]string
	run := func(_ context.Context, argv []string) error { calls = append(calls, argv); return nil }
	for _, bad := range []string{"javascript:alert(1)", "file:///etc/passwd", "https://u:p@example.com/", "smb://x/y", "", "-e https://x/"} {
		if err := openWith(context.Background(), bad, run); !errors.Is(err, ErrUnsafeURL) {
			t.Errorf("%q: err = %v, want ErrUnsafeURL", bad, err)
		}
	}
	if len(calls) != 0 {
		t.Fatalf("unsafe URLs reached the opener: %q", calls)
	}
	const u = "https://example.com/a?q=1&r=$(id);`id`|x"
	if err := openWith(context.Background(), u, run); err != nil {
		t.Fatal(err)
	}
	want := openerArgv(u)
	if len(calls) != 1 || !slices.Equal(calls[0], want) || calls[0][len(want)-1] != u {
		t.Fatalf("argv = %q, want %q", calls, want)
	}
}

func TestOpenURLRunsTheRealOpenerWithoutAShell(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the fake opener is a shell script for xdg-open")
	}
	dir := t.TempDir()
	out, marker := filepath.Join(dir, "argv"), filepath.Join(dir, "pwned")
	// A stand-in xdg-open that writes each argument on its own line.
	script := "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > " + out + "\n"
	if err := os.WriteFile(filepath.Join(dir, "xdg-open"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	u := "https://example.com/x?a=$(touch%20" + marker + ")&b=;touch " + marker
	u = strings.ReplaceAll(u, " ", "%20")
	if err := OpenURL(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != u+"\n" {
		t.Fatalf("the opener got %q, want exactly the URL as one argument", got)
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Fatal("something interpreted the URL as shell")
	}
}

func TestAFailingOpenerReportsWithoutTheURL(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("xdg-open is Linux")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "xdg-open"), []byte("#!/bin/sh\necho \"cannot open $1\" >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	err := OpenURL(context.Background(), "https://example.com/?token=tdt_secret")
	if err == nil || strings.Contains(err.Error(), "tdt_secret") {
		t.Fatalf("err = %v", err)
	}
}
