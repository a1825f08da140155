package history

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tidings-app/tidings/conn"
	"github.com/tidings-app/tidings/internal/testkit"
)

// removeDB deletes a database and its companions.
func removeDB(path string) error {
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(path + suffix); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	return nil
}

// realDatabase writes a closed, checkpointed database with n messages at
// cfg.Path and returns its size.
func realDatabase(t *testing.T, cfg Config, n int) int64 {
	t.Helper()
	s, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Few rows with big single-token bodies: many pages for little SQL work
	// (the race detector makes every SQLite call slow).
	batch := make([]conn.Message, n)
	for i := range batch {
		batch[i] = msg(fmt.Sprint("m", i), i)
		batch[i].Body = strings.Repeat("x", 3000)
	}
	if _, err := s.InsertBatch(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(cfg.Path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cfg.Path + "-wal"); err == nil {
		t.Fatal("WAL left after Close; the damage below would not be seen")
	}
	return fi.Size()
}

func TestAnUnusableDatabaseIsMovedAsideAndReplacedByAFreshOne(t *testing.T) {
	cases := []struct {
		name   string
		damage func(t *testing.T, cfg Config)
	}{
		{"garbage bytes", func(t *testing.T, cfg Config) {
			os.MkdirAll(filepath.Dir(cfg.Path), 0o700)
			garbage := make([]byte, 10_000)
			rand.NewChaCha8([32]byte{1}).Read(garbage)
			writeFile(t, cfg.Path, garbage)
			writeFile(t, cfg.Path+"-wal", garbage[:100])
			writeFile(t, cfg.Path+"-shm", garbage[:100])
		}},
		{"text file", func(t *testing.T, cfg Config) {
			os.MkdirAll(filepath.Dir(cfg.Path), 0o700)
			writeFile(t, cfg.Path, []byte("this is not a database\n"))
		}},
		{"truncated real database", func(t *testing.T, cfg Config) {
			size := realDatabase(t, cfg, 100)
			if err := os.Truncate(cfg.Path, size/3); err != nil {
				t.Fatal(err)
			}
		}},
		{"truncated inside the header page", func(t *testing.T, cfg Config) {
			realDatabase(t, cfg, 10)
			if err := os.Truncate(cfg.Path, 60); err != nil {
				t.Fatal(err)
			}
		}},
		{"scribbled pages", func(t *testing.T, cfg Config) {
			size := realDatabase(t, cfg, 100)
			f, err := os.OpenFile(cfg.Path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			rng := rand.New(rand.NewPCG(3, 4))
			noise := rand.NewChaCha8([32]byte{3})
			const page = 4096
			junk := make([]byte, page)
			for range 8 { // whole pages of noise, never page 1 (the header)
				noise.Read(junk)
				p := 1 + rng.Int64N(size/page-1)
				if _, err := f.WriteAt(junk, p*page); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{"schema from a newer build", func(t *testing.T, cfg Config) {
			realDatabase(t, cfg, 5)
			db := rawDB(t, cfg.Path)
			defer db.Close()
			if _, err := db.Exec(`PRAGMA user_version = 99`); err != nil {
				t.Fatal(err)
			}
		}},
		{"foreign schema at version 1", func(t *testing.T, cfg Config) {
			os.MkdirAll(filepath.Dir(cfg.Path), 0o700)
			db := rawDB(t, cfg.Path)
			defer db.Close()
			if _, err := db.Exec(`CREATE TABLE other (x); PRAGMA user_version = 1`); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			var logs testkit.Buffer
			cfg := testConfig(t)
			cfg.Logger = textLogger(&logs)
			cfg.Now = func() time.Time { return t0 }
			tc.damage(t, cfg)
			before, _ := os.ReadFile(cfg.Path)
			beforeWAL, hadWAL := os.ReadFile(cfg.Path + "-wal")

			s := openStore(t, cfg)
			if s.Path() != cfg.Path {
				t.Fatalf("store runs on %q, want the fresh file %q", s.Path(), cfg.Path)
			}
			aside := s.MovedAside()
			if want := cfg.Path + ".corrupt-20260301T120000Z"; aside != want {
				t.Fatalf("moved aside to %q, want %q", aside, want)
			}
			if moved, _ := os.ReadFile(aside); string(moved) != string(before) {
				t.Fatal("the moved-aside file is not the original bytes")
			}
			if hadWAL == nil {
				// SQLite itself resets or deletes a WAL without valid frames
				// when it gives up on the file, so the check is only that
				// none of it sits next to the fresh database.
				if now, _ := os.ReadFile(cfg.Path + "-wal"); len(now) > 0 && string(now) == string(beforeWAL) {
					t.Fatal("the old -wal was left next to the fresh database")
				}
			}
			log := logs.String()
			if !strings.Contains(log, "level=WARN") || !strings.Contains(log, "moved it aside") || !strings.Contains(log, aside) {
				t.Fatalf("log does not say clearly what happened:\n%s", log)
			}
			if ok, err := s.Insert(ctx, msg("fresh", 0)); !ok || err != nil {
				t.Fatalf("Insert into the fresh database = %v, %v", ok, err)
			}
			if n, _ := s.Count(ctx); n != 1 {
				t.Fatalf("fresh database holds %d messages, want 1", n)
			}
			assertHealthy(t, s.db)
		})
	}
}

func TestMovingAsideTwiceInOneSecondKeepsBothFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	for i, content := range []string{"first", "second"} {
		writeFile(t, path, []byte(content))
		writeFile(t, path+"-wal", []byte(content+" wal"))
		got, err := moveAside(path, t0)
		if err != nil {
			t.Fatal(err)
		}
		want := path + ".corrupt-20260301T120000Z"
		if i == 1 {
			want += "-2"
		}
		if got != want {
			t.Fatalf("moved to %q, want %q", got, want)
		}
		if b, _ := os.ReadFile(got); string(b) != content {
			t.Fatalf("%s holds %q, want %q", got, b, content)
		}
		if b, _ := os.ReadFile(got + "-wal"); string(b) != content+" wal" {
			t.Fatalf("%s-wal holds %q", got, b)
		}
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatal("original still in place")
	}
}

func TestAnUnwritableDataDirectoryFallsBackToMemoryInsteadOfFailing(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root ignores directory permissions")
	}
	if runtime.GOOS == "windows" {
		t.Skip("Windows ignores a directory's read-only attribute: only an ACL stops writes")
	}
	ctx := context.Background()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	var logs testkit.Buffer
	s := openStore(t, Config{Path: filepath.Join(dir, "sub", FileName), Logger: textLogger(&logs), RetentionInterval: -1})
	if s.Path() != "" {
		t.Fatalf("Path = %q, want \"\" (in memory)", s.Path())
	}
	if !strings.Contains(logs.String(), "in memory") {
		t.Fatalf("log does not say history is in memory:\n%s", logs.String())
	}
	if ok, err := s.Insert(ctx, msg("1", 0)); !ok || err != nil {
		t.Fatalf("Insert = %v, %v", ok, err)
	}
	if got, err := s.Search(ctx, "message", 0, 0); err != nil || len(got) != 1 {
		t.Fatalf("Search = %v, %v", ids(got), err)
	}
}

func TestALockedDatabaseIsNotMovedAside(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	realDatabase(t, cfg, 5)
	// Another process (here another connection) holds an exclusive lock.
	holder := rawDB(t, cfg.Path)
	defer holder.Close()
	holder.SetMaxOpenConns(1)
	if _, err := holder.Exec(`PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE; UPDATE messages SET read = 1; COMMIT`); err != nil {
		t.Fatal(err)
	}
	cfg.BusyTimeout = 50 * time.Millisecond
	s := openStore(t, cfg)
	if s.MovedAside() != "" {
		t.Fatalf("a locked database was moved aside to %s", s.MovedAside())
	}
	if s.Path() != "" {
		t.Fatalf("Path = %q; want the in-memory fallback while locked", s.Path())
	}
	holder.Close()
	s.Close()
	s2 := openStore(t, cfg)
	if n, _ := s2.Count(ctx); n != 5 {
		t.Fatalf("after the lock is gone: Count = %d, want 5", n)
	}
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
