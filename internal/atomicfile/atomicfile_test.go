package atomicfile

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tidings-app/tidings/internal/testkit"
)

func TestWriteReplacesTheFileAndLeavesNoTempFiles(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "settings.json")
	for _, content := range []string{"first", "second"} {
		if err := Write(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(p)
		if err != nil || string(got) != content {
			t.Fatalf("got %q, %v", got, err)
		}
	}
	// Windows keeps no Unix mode bits: only read-only shows through.
	if fi, _ := os.Stat(p); testkit.ModeBits && fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("left behind: %v", entries)
	}
}

func TestWriteIntoAMissingDirectoryFailsAndCreatesNothing(t *testing.T) {
	if err := Write(filepath.Join(t.TempDir(), "no", "such", "f"), []byte("x"), 0o600); err == nil {
		t.Fatal("no error")
	}
}
