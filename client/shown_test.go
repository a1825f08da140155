package client

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/tidings-app/tidings/conn"
	"github.com/tidings-app/tidings/history"
	"github.com/tidings-app/tidings/internal/testkit"
)

func TestTheShownLedgerCarriesKeysToTheNextStartAndGoesWithTheLastOne(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run", shownFileName)
	log := slog.New(slog.DiscardHandler)
	first := loadShown(path, log)
	a := conn.Message{Server: "alice@https://push.example", ID: "7"}
	b := conn.Message{Server: "alice@https://push.example", ID: "8"}
	first.note(history.Key{Server: a.Server, ID: a.ID}, history.Key{Server: b.Server, ID: b.ID})
	first.settled(history.Key{Server: b.Server, ID: b.ID}) // its mark was written after all
	if n, err := first.flush(); err != nil || n != 1 {
		t.Fatalf("flush = %d, %v; want 1 key", n, err)
	}
	if fi, err := os.Stat(path); err != nil || testkit.ModeBits && fi.Mode().Perm() != 0o600 {
		t.Fatalf("ledger file: %v %v", fi, err)
	}

	next := loadShown(path, log)
	if next.take(b) {
		t.Error("a settled message is in the ledger")
	}
	if !next.take(a) {
		t.Fatal("the shown message is not in the next start's ledger")
	}
	if next.take(a) {
		t.Error("a message was taken twice")
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("the ledger file stays after its last key: %v", err)
	}
	if n, err := next.flush(); err != nil || n != 0 {
		t.Errorf("an empty ledger wrote %d keys, %v", n, err)
	}
}

func TestADamagedShownLedgerIsIgnoredAndRemoved(t *testing.T) {
	for name, content := range map[string]string{
		"not json":      "{{{",
		"wrong version": `{"version":2,"shown":[{"Server":"s","ID":"1"}]}`,
		"wrong shape":   `{"version":1,"shown":"all"}`,
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), shownFileName)
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			l := loadShown(path, slog.New(slog.DiscardHandler))
			if l.take(conn.Message{Server: "s", ID: "1"}) {
				t.Error("a key came out of a damaged ledger")
			}
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Errorf("the damaged ledger is still there: %v", err)
			}
		})
	}
}

func FuzzDecodeShown(f *testing.F) {
	f.Add([]byte(`{"version":1,"shown":[{"Server":"a@b","ID":"1"}]}`))
	f.Add([]byte(`{"version":1,"shown":[{"Server":"","ID":""}]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		keys, err := decodeShown(b)
		if err != nil {
			return
		}
		for k := range keys {
			if k.Server == "" || k.ID == "" {
				t.Fatalf("an empty key came through: %+v", k)
			}
		}
	})
}
