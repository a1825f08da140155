package testkit

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"testing"
)

// Disk is a small real file system (a tmpfs of a few MB) mounted on a
// directory, which a test fills to the last byte and frees again: a full
// disk as the application meets it (ENOSPC from the kernel), not a fake
// store that returns an error.
type Disk struct {
	t      testing.TB
	Dir    string
	filler string
}

// SmallDisk mounts a tmpfs of size bytes on dir (created if missing) and
// unmounts it when the test ends. It skips, saying why, where mounting is
// not possible (not Linux, not root).
func SmallDisk(t testing.TB, dir string, size int) *Disk {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("a full disk is simulated with a tmpfs mount, which needs Linux")
	}
	if os.Geteuid() != 0 {
		t.Skip("a full disk is simulated with a tmpfs mount, which needs root (CI runs as root)")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+strconv.Itoa(size)+",mode=0700", "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("cannot mount a tmpfs to simulate a full disk: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return &Disk{t: t, Dir: dir, filler: filepath.Join(dir, ".filler")}
}

// Fill writes a file until the file system has no byte left.
func (d *Disk) Fill() {
	d.t.Helper()
	f, err := os.OpenFile(d.filler, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		d.t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				break
			}
			d.t.Fatalf("filling %s: %v", d.Dir, err)
		}
	}
	// the last partial page
	for {
		if _, err := f.Write(chunk[:1]); err != nil {
			break
		}
	}
}

// Free removes what Fill wrote.
func (d *Disk) Free() {
	d.t.Helper()
	if err := os.Remove(d.filler); err != nil && !errors.Is(err, os.ErrNotExist) {
		d.t.Fatal(err)
	}
}
