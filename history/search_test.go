package history

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tidings-app/tidings/conn"
)

// searchFixture stores a few messages with distinctive text.
func searchFixture(t *testing.T) *Store {
	t.Helper()
	s := openStore(t, testConfig(t))
	texts := []struct{ id, title, body, source string }{
		{"disk", "Disk full on nas", "95% used on /volume1", "monitor"},
		{"backup", "Backup finished", "3 files, 0 errors", "restic"},
		{"cafe", "Café ready", "Your order is ready", "shop"},
		{"uber", "Über alles", "umlaut test", "shop"},
		{"hyphen", "foo-bar baz", "", "misc"},
		{"quote", `say "hello"`, `a "quoted" body`, "misc"},
		{"ops", "AND OR NOT", "operators as words", "misc"},
		{"near", "near the door", "NEAR(a b) literally", "misc"},
		{"markup", "<b>bold</b>", "title:disk column syntax", "misc"},
	}
	var batch []conn.Message
	for i, x := range texts {
		m := msg(x.id, i)
		m.Title, m.Body, m.Source = x.title, x.body, x.source
		batch = append(batch, m)
	}
	if _, err := s.InsertBatch(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSearchFindsWordsPrefixesAndTakesHostileQueriesLiterally(t *testing.T) {
	s := searchFixture(t)
	cases := []struct {
		query string
		want  []string // newest first
	}{
		{"disk", []string{"markup", "disk"}},
		{"DISK FULL", []string{"disk"}},
		{"full disk", []string{"disk"}},
		{"fin", []string{"backup"}},             // prefix on the last word
		{"finished backup", []string{"backup"}}, // words in any order
		{"cafe", []string{"cafe"}},              // diacritics folded
		{"uber", []string{"uber"}},
		{"restic", []string{"backup"}}, // the source is searched too
		{"foo-bar", []string{"hyphen"}},
		{"hello", []string{"quote"}},
		{"volume1", []string{"disk"}},
		{"nothing-like-this", nil},
		{"", nil},
		{"   ", nil},
		{`"`, nil},
		{`""""`, nil},
		{`"hello`, []string{"quote"}},
		{`hello"`, []string{"quote"}},
		{`"say hello"`, []string{"quote"}},
		{"AND OR", []string{"ops"}},
		{"OR", []string{"ops", "cafe"}}, // "or" and the prefix of "order"
		{"NOT", []string{"ops"}},
		{"*", nil},
		{"disk*", []string{"markup", "disk"}},
		{"NEAR(", []string{"near"}},
		{"NEAR(a b)", []string{"near"}},
		{"title:disk", []string{"markup"}},
		{"^disk", []string{"markup", "disk"}},
		{"-disk", []string{"markup", "disk"}},
		{"((", nil},
		{"disk)", []string{"markup", "disk"}},
		{"{title body}: disk", nil}, // three literal words; none has all
		{"{title}: disk", []string{"markup"}},
		{"<b>bold</b>", []string{"markup"}},
		{"'", nil},
		{"\x00disk\x00", []string{"markup", "disk"}},
		{"\xff\xfe", nil},
		{"💩", nil},
		{strings.Repeat("disk ", 500), []string{"markup", "disk"}},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%q", tc.query), func(t *testing.T) {
			got, err := s.Search(context.Background(), tc.query, 0, 0)
			if err != nil {
				t.Fatalf("Search(%q) error: %v", tc.query, err)
			}
			if !slices.Equal(ids(got), tc.want) {
				t.Fatalf("Search(%q) = %v, want %v", tc.query, ids(got), tc.want)
			}
		})
	}
}

func TestSearchPagesByStoreOrderAndFollowsDeletes(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, testConfig(t))
	insertN(t, s, 25) // every body contains "message"
	var got []string
	var before int64
	for {
		p, err := s.Search(ctx, "message", before, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(p) == 0 {
			break
		}
		got = append(got, ids(p)...)
		before = p[len(p)-1].Seq
	}
	if len(got) != 25 || got[0] != "m24" || got[24] != "m0" {
		t.Fatalf("walked %d results from %v to %v; want 25 from m24 to m0", len(got), got[0], got[len(got)-1])
	}
	if _, err := s.Delete(ctx, Key{"s1", "m24"}); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.Search(ctx, "m24", 0, 0); len(p) != 0 {
		t.Fatalf("deleted message still found: %v", ids(p))
	}
	if _, err := s.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.Search(ctx, "message", 0, 0); len(p) != 0 {
		t.Fatalf("cleared messages still found: %v", ids(p))
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO messages_fts (messages_fts) VALUES ('integrity-check')`); err != nil {
		t.Fatalf("FTS index out of step with the table: %v", err)
	}
}

func TestMatchExpr(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", ""},
		{"disk", `"disk"*`},
		{"disk full", `"disk" "full"*`},
		{`say "hi"`, `"say" """hi"""*`},
		{"AND OR NOT", `"AND" "OR" "NOT"*`},
		{"NEAR(a b)", `"NEAR(a" "b)"*`},
		{"* ^ - ( )", ""},
		{"a\x00b", `"ab"*`},
		{"\t disk \n", `"disk"*`},
	}
	for _, tc := range cases {
		if got := matchExpr(tc.in); got != tc.want {
			t.Errorf("matchExpr(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
	if n := strings.Count(matchExpr(strings.Repeat("w ", 100)), `"w"`); n != maxQueryTerms {
		t.Errorf("terms kept = %d, want %d", n, maxQueryTerms)
	}
}

// FuzzMatchExpr checks that no user text makes an FTS5 syntax error: the
// sanitised expression is run against a real FTS5 table.
func FuzzMatchExpr(f *testing.F) {
	for _, seed := range []string{"", "disk", `"`, `""`, "AND OR", "*", "NEAR(", "NEAR(a b, 3)",
		"title:x", "{a b}:c", "^a", "a + b", "-a", "a NOT b", "(a OR b)", "\x00", "\xff", "é́", "'\"", "💩 x"} {
		f.Add(seed)
	}
	db, err := sql.Open("sqlite", "file::memory:")
	if err != nil {
		f.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	f.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`CREATE VIRTUAL TABLE t USING fts5(title, body, source, tokenize = 'unicode61 remove_diacritics 2');
		INSERT INTO t VALUES ('near and or not', 'hello world', 'src')`); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, q string) {
		expr := matchExpr(q)
		if expr == "" {
			return
		}
		if !utf8.ValidString(expr) && utf8.ValidString(q) {
			t.Fatalf("valid query %q gave invalid UTF-8 %q", q, expr)
		}
		rows, err := db.Query(`SELECT rowid FROM t WHERE t MATCH ?`, expr)
		if err == nil {
			for rows.Next() {
			}
			err = rows.Err()
			rows.Close()
		}
		if err != nil {
			t.Fatalf("query %q → expression %q → FTS5 error: %v", q, expr, err)
		}
	})
}
