package history

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
)

// rawDB opens path with the store's DSN but no checks or migrations.
func rawDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", dsn(path, 0))
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestMigrationsBringEveryEarlierVersionToTheCurrentOneKeepingMessages(t *testing.T) {
	ctx := context.Background()
	for from := 0; from <= latestSchema; from++ {
		t.Run(fmt.Sprintf("from version %d", from), func(t *testing.T) {
			cfg := testConfig(t)
			s0 := openStore(t, cfg) // creates the directory
			s0.Close()
			if err := removeDB(cfg.Path); err != nil {
				t.Fatal(err)
			}
			// Build a database at version `from`, with two messages if it has
			// a table to hold them (inserted by hand, as that version would).
			db := rawDB(t, cfg.Path)
			if err := migrate(ctx, db, from); err != nil {
				t.Fatal(err)
			}
			rows := 0
			if from >= 1 {
				for i, id := range []string{"old1", "old2"} {
					if _, err := db.Exec(`INSERT INTO messages (server, msg_id, received, title, body, priority, url, source)
						VALUES ('s1', ?, ?, 'legacy title', 'kept across upgrades', 3, '', 'src')`, id, int64(i)); err != nil {
						t.Fatal(err)
					}
				}
				rows = 2
			}
			if v, _ := schemaVersion(ctx, db); v != from {
				t.Fatalf("setup at version %d, want %d", v, from)
			}
			db.Close()

			s := openStore(t, cfg)
			if s.MovedAside() != "" {
				t.Fatalf("a version-%d database was moved aside instead of migrated", from)
			}
			if v, _ := schemaVersion(ctx, s.db); v != latestSchema {
				t.Fatalf("user_version = %d, want %d", v, latestSchema)
			}
			if n, _ := s.Count(ctx); n != rows {
				t.Fatalf("Count = %d, want %d", n, rows)
			}
			if n, _ := s.UnreadCount(ctx); n != rows {
				t.Fatalf("UnreadCount = %d, want %d", n, rows)
			}
			if got, _ := s.Search(ctx, "upgrades", 0, 0); len(got) != rows {
				t.Fatalf("search finds %d old messages, want %d", len(got), rows)
			}
			wantPoint := ""
			if rows > 0 {
				wantPoint = "old2" // the last row a pre-4 database holds
			}
			if p, err := s.LastID(ctx, "s1"); err != nil || p != wantPoint {
				t.Fatalf("resume point after migration = %q, %v; want %q", p, err, wantPoint)
			}
			if ok, err := s.Insert(ctx, msg("new", 9)); !ok || err != nil {
				t.Fatalf("Insert after migration = %v, %v", ok, err)
			}
			if got, _ := s.Search(ctx, "new", 0, 0); len(got) != 1 {
				t.Fatalf("search finds %d new messages, want 1", len(got))
			}
			assertHealthy(t, s.db)
		})
	}
}

func TestReopeningACurrentDatabaseChangesNothing(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	s := openStore(t, cfg)
	insertN(t, s, 10)
	s.Close()
	s2 := openStore(t, cfg)
	if n, _ := s2.Count(ctx); n != 10 || s2.MovedAside() != "" {
		t.Fatalf("after reopen: Count %d, moved aside %q", n, s2.MovedAside())
	}
}

// assertHealthy checks PRAGMA integrity_check and the FTS index.
func assertHealthy(t testing.TB, db *sql.DB) {
	t.Helper()
	var res string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&res); err != nil || res != "ok" {
		t.Fatalf("integrity_check = %q, %v", res, err)
	}
	if _, err := db.Exec(`INSERT INTO messages_fts (messages_fts) VALUES ('integrity-check')`); err != nil {
		t.Fatalf("FTS integrity-check: %v", err)
	}
	var wrong int
	if err := db.QueryRow(`WITH
			actual AS (SELECT source, count(*) AS n FROM messages WHERE read = 0 GROUP BY source),
			kept AS (SELECT source, n FROM unread_counts WHERE n != 0)
		SELECT (SELECT count(*) FROM (SELECT * FROM actual EXCEPT SELECT * FROM kept))
		     + (SELECT count(*) FROM (SELECT * FROM kept EXCEPT SELECT * FROM actual))`).Scan(&wrong); err != nil || wrong != 0 {
		t.Fatalf("unread_counts disagrees with messages for %d sources (%v)", wrong, err)
	}
}
