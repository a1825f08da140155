package desktoptest

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// grepTree lists the files under root whose content contains needle.
func grepTree(t testing.TB, root, needle string) []string {
	t.Helper()
	var hits []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(path)
		if err == nil && bytes.Contains(data, []byte(needle)) {
			hits = append(hits, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

// GrepTree is grepTree for other packages' secret-hygiene tests.
func GrepTree(t testing.TB, root, needle string) []string { return grepTree(t, root, needle) }

func itoa(i int) string { return strconv.Itoa(i) }
