package logging

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tidings-app/tidings/internal/testkit"
)

func readOrEmpty(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(b)
}

func TestTheFileRotatesAtTheSizeLimitKeepingTheNewestFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tidings.log")
	w, err := NewRotatingWriter(path, 100, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	// 10 lines of 25 bytes: 4 per file.
	for i := 0; i < 10; i++ {
		line := fmt.Sprintf("line %02d %s\n", i, strings.Repeat("x", 16))
		if len(line) != 25 {
			t.Fatalf("line is %d bytes", len(line))
		}
		if _, err := w.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	// lines 0–3 in the first file, 4–7 in the second, 8–9 in the current;
	// with 3 files nothing is dropped yet.
	want := map[string][]int{path + ".2": {0, 1, 2, 3}, path + ".1": {4, 5, 6, 7}, path: {8, 9}}
	for p, lines := range want {
		got := readOrEmpty(t, p)
		var exp strings.Builder
		for _, i := range lines {
			fmt.Fprintf(&exp, "line %02d %s\n", i, strings.Repeat("x", 16))
		}
		if got != exp.String() {
			t.Errorf("%s:\n%q\nwant\n%q", filepath.Base(p), got, exp.String())
		}
		if int64(len(got)) > 100 {
			t.Errorf("%s is %d bytes, over the 100-byte limit", p, len(got))
		}
	}
	// 8 more lines: two more rotations; the oldest file is dropped.
	for i := 10; i < 18; i++ {
		fmt.Fprintf(w, "line %02d %s\n", i, strings.Repeat("x", 16))
	}
	if got := readOrEmpty(t, path+".2"); !strings.HasPrefix(got, "line 08 ") {
		t.Errorf(".2 starts %q, want line 08", got)
	}
	if _, err := os.Stat(path + ".3"); !os.IsNotExist(err) {
		t.Errorf("a fourth file exists: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 3 {
		t.Errorf("%d files, want 3", len(entries))
	}
}

func TestARecordLargerThanTheLimitGetsAFileOfItsOwn(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.log")
	w, _ := NewRotatingWriter(path, 10, 2)
	defer w.Close()
	w.Write([]byte("small\n"))
	big := strings.Repeat("B", 30) + "\n"
	if n, err := w.Write([]byte(big)); err != nil || n != len(big) {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if readOrEmpty(t, path) != big || readOrEmpty(t, path+".1") != "small\n" {
		t.Errorf("current %q, .1 %q", readOrEmpty(t, path), readOrEmpty(t, path+".1"))
	}
}

func TestReopeningAppendsAndCountsTheExistingSize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.log")
	os.WriteFile(path, []byte(strings.Repeat("o", 90)), 0o600)
	w, _ := NewRotatingWriter(path, 100, 2)
	w.Write([]byte(strings.Repeat("n", 20)))
	w.Close()
	if got := readOrEmpty(t, path+".1"); got != strings.Repeat("o", 90) {
		t.Errorf(".1 = %q", got)
	}
	if _, err := w.Write([]byte("late")); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Write after Close = %v, want os.ErrClosed", err)
	}
}

func TestOneFileMeansTruncateInPlace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.log")
	w, _ := NewRotatingWriter(path, 10, 1)
	defer w.Close()
	w.Write([]byte("aaaaaaaa\n"))
	w.Write([]byte("bbbbbbbb\n"))
	if got := readOrEmpty(t, path); got != "bbbbbbbb\n" {
		t.Errorf("got %q", got)
	}
	if _, err := NewRotatingWriter(path, 0, 1); err == nil {
		t.Error("maxBytes 0 accepted")
	}
}

func TestConcurrentWritersNeverInterleaveOrLoseRecordsInKeptFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.log")
	const writers, each = 8, 200
	// room for every record across the kept files: nothing is dropped
	w, _ := NewRotatingWriter(path, 4096, 64)
	defer w.Close()
	var wg sync.WaitGroup
	for g := 0; g < writers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				fmt.Fprintf(w, "writer=%d seq=%04d %s\n", g, i, strings.Repeat("z", 40))
			}
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	matches, _ := filepath.Glob(path + "*")
	for _, p := range matches {
		b := []byte(readOrEmpty(t, p))
		if len(b) > 4096 {
			t.Errorf("%s: %d bytes over the limit", p, len(b))
		}
		for _, l := range bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")) {
			var g, i int
			var z string
			if n, _ := fmt.Sscanf(string(l), "writer=%d seq=%04d %s", &g, &i, &z); n != 3 || z != strings.Repeat("z", 40) {
				t.Fatalf("torn line %q in %s", l, p)
			}
			seen[string(l)] = true
		}
	}
	if len(seen) != writers*each {
		t.Errorf("%d distinct records, want %d", len(seen), writers*each)
	}
}

func TestLogFilesArePrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "tidings")
	w, err := NewRotatingWriter(filepath.Join(dir, "t.log"), 10, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.Write([]byte("0123456789"))
	w.Write([]byte("x")) // rotates
	for _, p := range []string{dir, filepath.Join(dir, "t.log"), filepath.Join(dir, "t.log.1")} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		want := os.FileMode(0o600)
		if fi.IsDir() {
			want = 0o700
		}
		if testkit.ModeBits && fi.Mode().Perm() != want {
			t.Errorf("%s: %v, want %v", p, fi.Mode().Perm(), want)
		}
	}
}
