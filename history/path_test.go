package history

import (
	"errors"
	"path/filepath"
	"runtime"
	"testing"
)

func TestDefaultPathFollowsEachPlatformsConvention(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	cases := []struct {
		name    string
		goos    string
		getenv  func(string) string
		home    string
		want    string
		wantErr error
	}{
		{"linux with XDG_DATA_HOME", "linux", env("XDG_DATA_HOME", "/data"), "/home/u", filepath.Join("/data", "tidings", FileName), nil},
		{"linux default", "linux", env(), "/home/u", filepath.Join("/home/u", ".local", "share", "tidings", FileName), nil},
		{"linux ignores a relative XDG_DATA_HOME", "linux", env("XDG_DATA_HOME", "rel"), "/home/u", filepath.Join("/home/u", ".local", "share", "tidings", FileName), nil},
		{"freebsd is XDG too", "freebsd", env("XDG_DATA_HOME", "/x"), "/home/u", filepath.Join("/x", "tidings", FileName), nil},
		{"macOS", "darwin", env("XDG_DATA_HOME", "/ignored"), "/Users/u", filepath.Join("/Users/u", "Library", "Application Support", "Tidings", FileName), nil},
		{"windows AppData", "windows", env("AppData", `C:\Users\u\AppData\Roaming`), `C:\Users\u`, filepath.Join(`C:\Users\u\AppData\Roaming`, "Tidings", FileName), nil},
		{"windows without AppData", "windows", env(), `C:\Users\u`, filepath.Join(`C:\Users\u`, "AppData", "Roaming", "Tidings", FileName), nil},
		{"no home anywhere", "linux", env(), "", "", ErrNoDataDir},
		{"no home on macOS", "darwin", env(), "", "", ErrNoDataDir},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.home != "" && !filepath.IsAbs(tc.home) {
				t.Skipf("%s's paths are not absolute on %s, so they cannot be tested here", tc.goos, runtime.GOOS)
			}
			got, err := defaultPath(tc.goos, tc.getenv, tc.home)
			if got != tc.want || !errors.Is(err, tc.wantErr) {
				t.Fatalf("defaultPath = %q, %v; want %q, %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
	if p, err := DefaultPath(); err == nil && filepath.Base(p) != FileName {
		t.Fatalf("DefaultPath() = %q", p)
	}
}
