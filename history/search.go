package history

import (
	"context"
	"math"
	"strings"
	"unicode"
)

// maxQueryTerms bounds the terms of one search, so a pasted novel does not
// become a thousand-term FTS query.
const maxQueryTerms = 16

// Search returns up to limit entries matching the user's text query,
// newest stored first, older than the entry with Seq beforeSeq (0 for the
// first page; then pass the last entry's Seq).
//
// The query is plain text, not FTS5 syntax: every word must occur (in the
// title, body or source), case and diacritics ignored, and the last word
// also matches as a prefix, so results follow typing. Quotes, operators
// (AND, OR, NOT, NEAR), column filters, '*' and '^' are taken literally, so
// no input produces a syntax error. A query with no letters or digits
// matches nothing.
func (s *Store) Search(ctx context.Context, query string, beforeSeq int64, limit int) ([]Entry, error) {
	expr := matchExpr(query)
	if expr == "" {
		return nil, nil
	}
	if beforeSeq <= 0 {
		beforeSeq = math.MaxInt64
	}
	return s.query(ctx, "search", `SELECT `+entryColumns+`
		FROM messages_fts f JOIN messages m ON m.seq = f.rowid
		WHERE messages_fts MATCH ? AND f.rowid < ?
		ORDER BY f.rowid DESC LIMIT ?`, expr, beforeSeq, clampLimit(limit))
}

// matchExpr turns user text into a safe FTS5 query: each word becomes a
// double-quoted string (an FTS5 phrase, inside which only '"' is special
// and is doubled), words are implicitly ANDed, and the last one gets a
// prefix '*' outside its quotes. Words without any letter or digit are
// dropped (the tokenizer would make them empty phrases); control
// characters are removed. The result is "" when nothing searchable is left.
func matchExpr(query string) string {
	var terms []string
	for _, w := range strings.FieldsFunc(query, unicode.IsSpace) {
		w = strings.Map(func(r rune) rune {
			if unicode.IsControl(r) || r == unicode.ReplacementChar {
				return -1
			}
			return r
		}, w)
		if !strings.ContainsFunc(w, isTokenRune) {
			continue
		}
		terms = append(terms, `"`+strings.ReplaceAll(w, `"`, `""`)+`"`)
		if len(terms) == maxQueryTerms {
			break
		}
	}
	if len(terms) == 0 {
		return ""
	}
	terms[len(terms)-1] += "*"
	return strings.Join(terms, " ")
}

// isTokenRune reports whether r is part of a token for FTS5's unicode61
// tokenizer: letters, numbers and private-use characters.
func isTokenRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.Is(unicode.Co, r)
}
