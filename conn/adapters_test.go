package conn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

const (
	gotifySeed = `{"id":1,"appid":1,"message":"m","title":"t","priority":5,"extras":{"client::display":{"contentType":"text/markdown"}},"date":"2026-11-25T10:00:00.123456789Z"}`
	ntfySeed   = `{"id":"hwQ2YpKdmg","time":1700000000,"event":"message","topic":"alerts","message":"m","priority":4,"tags":["warning"],"click":"https://x"}`
)

func TestGotifyDecoderReadsRealFrames(t *testing.T) {
	a := NewGotifyAdapter()
	f, err := a.Decode([]byte(gotifySeed + "\n"))
	if err != nil || f.Kind != FrameMessage {
		t.Fatalf("decode: %v %v", f.Kind, err)
	}
	m := f.Message
	want := time.Date(2026, 11, 25, 10, 0, 0, 123456789, time.UTC)
	if m.ID != "1" || m.Title != "t" || m.Body != "m" || m.Priority != PriorityDefault || !m.Markdown || !m.Sent.Equal(want) {
		t.Errorf("got %+v", m)
	}
	click := `{"id":7,"appid":2,"message":"b","title":"","priority":10,"extras":{"client::notification":{"click":{"url":"https://example.com/x"}}},"date":"2026-01-02T03:04:05+01:00"}`
	f, err = a.Decode([]byte(click))
	if err != nil || f.Message.URL != "https://example.com/x" || f.Message.Priority != PriorityUrgent || f.Message.Markdown {
		t.Errorf("click frame: %+v %v", f.Message, err)
	}
}

func TestGotifyBadFramesAreErrorsWithoutContent(t *testing.T) {
	for _, frame := range []string{``, `nope secret-body`, `{"appid":1,"message":"secret-body"}`, `{"id":0,"message":"secret-body"}`,
		`{"id":-1,"message":"secret-body"}`, `{"id":"x","message":"secret-body"}`, `[1]`, `{"id":1,"message":5}`} {
		_, err := NewGotifyAdapter().Decode([]byte(frame))
		if !errors.Is(err, ErrBadFrame) {
			t.Errorf("%q: err %v, want ErrBadFrame", frame, err)
		} else if strings.Contains(err.Error(), "secret-body") {
			t.Errorf("%q: the error quotes the frame", frame)
		}
	}
	// Odd extras are ignored, not fatal: extras are free-form.
	f, err := NewGotifyAdapter().Decode([]byte(`{"id":3,"message":"m","extras":{"client::display":"x","client::notification":{"click":1}},"date":"garbage"}`))
	if err != nil || f.Message.URL != "" || f.Message.Markdown || !f.Message.Sent.IsZero() {
		t.Errorf("odd extras: %+v %v", f.Message, err)
	}
}

func TestGotifyPriorityMapsZeroToTenOntoOneToFive(t *testing.T) {
	want := map[float64]Priority{-3: PriorityMin, 0: PriorityDefault, 0.5: PriorityMin, 1: PriorityLow, 3: PriorityLow, 4: PriorityDefault,
		5: PriorityDefault, 7: PriorityDefault, 8: PriorityHigh, 9: PriorityHigh, 10: PriorityUrgent, 99: PriorityUrgent}
	for in, w := range want {
		if got := GotifyPriority(&in); got != w {
			t.Errorf("priority %v → %v, want %v", in, got, w)
		}
	}
	if GotifyPriority(nil) != PriorityDefault {
		t.Error("missing priority is not default")
	}
}

func TestGotifyEndpointUsesTheHeaderNeverTheQuery(t *testing.T) {
	u, _ := url.Parse("wss://push.example/gotify/")
	got, h := NewGotifyAdapter().Endpoint(u, NewSecret(testToken), "42")
	if got.String() != "wss://push.example/gotify/stream" || h.Get("X-Gotify-Key") != testToken || h.Get("Authorization") != "" {
		t.Errorf("endpoint %s, header %v", got, h)
	}
	if NewGotifyAdapter().Heartbeat() != "" || !NewGotifyAdapter().OrderedIDs() {
		t.Error("Gotify must send no client frames and has ordered ids")
	}
}

// gotifyPages is a Fetcher following Gotify's GET /message semantics over
// ids 1..n (minus deleted): since=S returns ids < S, newest first.
func gotifyPages(n int, deleted map[int]bool, calls *[]string) Fetcher {
	return func(_ context.Context, pq string) ([]byte, error) {
		*calls = append(*calls, pq)
		if strings.HasPrefix(pq, "/application") {
			return []byte(`[{"id":1,"name":"Backups","image":"image/b.png"}]`), nil
		}
		u, _ := url.Parse(pq)
		limit, _ := strconv.Atoi(u.Query().Get("limit"))
		since, _ := strconv.Atoi(u.Query().Get("since"))
		var msgs []map[string]any
		for id := n; id >= 1 && len(msgs) < limit+1; id-- {
			if (since == 0 || id < since) && !deleted[id] {
				msgs = append(msgs, map[string]any{"id": id, "appid": 1, "message": fmt.Sprint("m", id), "priority": 5, "date": "2026-01-01T00:00:00Z"})
			}
		}
		next := 0
		if len(msgs) > limit {
			msgs = msgs[:limit]
			next = msgs[limit-1]["id"].(int)
		}
		return json.Marshal(map[string]any{"paging": map[string]any{"since": next, "size": len(msgs), "limit": limit}, "messages": msgs})
	}
}

// Issue 19.2: a Gotify whose newest id is below the resume point (a reset
// or restored database) used to answer "nothing new" for ever, and every
// later message was skipped. The catch-up now says the ids restarted and
// returns what the server holds (up to the window, oldest first); the
// engine keeps out what is from before.
func TestAGotifyWhoseIDsRestartedLowerSaysSoAndReturnsWhatItHolds(t *testing.T) {
	tests := []struct {
		name       string
		n, last    int
		max        int
		first, cnt int
		short      bool
	}{
		{"fewer than the window", 50, 100, 1000, 1, 50, false},
		{"more than the window", 50, 100, 20, 31, 20, true},
		{"no message at all", 0, 100, 1000, 0, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls []string
			a := &GotifyAdapter{PageSize: 100, MaxCatchUp: tc.max}
			msgs, err := a.CatchUp(context.Background(), gotifyPages(tc.n, nil, &calls), strconv.Itoa(tc.last))
			var r *IDsRestarted
			if !errors.As(err, &r) || r.Newest != strconv.Itoa(tc.n) {
				t.Fatalf("err %v, want IDsRestarted with newest %d", err, tc.n)
			}
			var short *ShortCatchUp
			if errors.As(err, &short) != tc.short {
				t.Fatalf("short catch-up %v, want %v", short, tc.short)
			}
			if len(msgs) != tc.cnt {
				t.Fatalf("%d messages, want %d", len(msgs), tc.cnt)
			}
			for i, m := range msgs {
				if m.ID != strconv.Itoa(tc.first+i) {
					t.Fatalf("message %d has id %s, want %d", i, m.ID, tc.first+i)
				}
			}
		})
	}
}

func TestGotifyCatchUpFetchesTheGapAfterTheLastSeenIDInForwardWindows(t *testing.T) {
	tests := []struct {
		name      string
		n, last   int
		deleted   map[int]bool
		want      int // first id expected
		wantCount int
		pages     int
	}{
		{"three windows", 250, 10, nil, 11, 240, 4},
		{"one window", 250, 240, nil, 241, 10, 2},
		{"nothing new", 250, 250, nil, 0, 0, 1},
		{"last seen id deleted on the server", 250, 100, map[int]bool{100: true, 99: true}, 101, 150, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var calls []string
			a := &GotifyAdapter{PageSize: 100}
			msgs, err := a.CatchUp(context.Background(), gotifyPages(tc.n, tc.deleted, &calls), strconv.Itoa(tc.last))
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) != tc.wantCount {
				t.Fatalf("%d messages, want %d", len(msgs), tc.wantCount)
			}
			for i, m := range msgs {
				if m.ID != strconv.Itoa(tc.want+i) {
					t.Fatalf("message %d has id %s, want %d (oldest first, no gaps)", i, m.ID, tc.want+i)
				}
				if m.Source != "Backups" || m.Extra == nil || m.Extra.Icon != "image/b.png" {
					t.Fatalf("source %q extra %+v", m.Source, m.Extra)
				}
			}
			if pages := len(calls) - 1; pages != tc.pages {
				t.Errorf("%d message pages fetched (%v), want %d", pages, calls, tc.pages)
			}
		})
	}
}

func TestGotifyCatchUpWithoutHistoryReplaysNothingAndIsBounded(t *testing.T) {
	var calls []string
	msgs, err := NewGotifyAdapter().CatchUp(context.Background(), gotifyPages(50, nil, &calls), "")
	if err != nil || len(msgs) != 0 || len(calls) != 2 {
		t.Errorf("fresh login: %d messages, calls %v, err %v", len(msgs), calls, err)
	}
	// Dropped before the first message arrived: catch up from the baseline.
	a := NewGotifyAdapter()
	a.CatchUp(context.Background(), gotifyPages(50, nil, &calls), "")
	msgs, _ = a.CatchUp(context.Background(), gotifyPages(53, nil, &calls), "")
	if len(msgs) != 3 || msgs[0].ID != "51" {
		t.Errorf("after the baseline: %d messages", len(msgs))
	}
	calls = nil
	msgs, _ = (&GotifyAdapter{PageSize: 200, MaxCatchUp: 300}).CatchUp(context.Background(), gotifyPages(5000, nil, &calls), "1")
	if len(msgs) != 300 || msgs[0].ID != "4701" || msgs[299].ID != "5000" {
		t.Errorf("bounded walk: %d messages, first %s", len(msgs), msgs[0].ID)
	}
}

func TestAFreshLoginWhoseFirstCatchUpFailedStillGetsWhatWasPublishedSince(t *testing.T) {
	first := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	a := &GotifyAdapter{Now: func() time.Time { return first }}
	n, down := 50, true
	get := func(_ context.Context, pq string) ([]byte, error) {
		if down {
			return nil, ErrConnLost
		}
		if strings.HasPrefix(pq, "/application") {
			return []byte(`[]`), nil
		}
		u, _ := url.Parse(pq)
		limit, _ := strconv.Atoi(u.Query().Get("limit"))
		var msgs []map[string]any
		for id := n; id >= 1 && len(msgs) < limit; id-- {
			date := first.Add(-time.Hour) // the history before the login
			if id > 50 {
				date = first.Add(time.Duration(id-50) * time.Second)
			}
			msgs = append(msgs, map[string]any{"id": id, "appid": 1, "message": "m", "date": date.Format(time.RFC3339Nano)})
		}
		return json.Marshal(map[string]any{"paging": map[string]any{"since": 0}, "messages": msgs})
	}
	if _, err := a.CatchUp(context.Background(), get, ""); err == nil {
		t.Fatal("the first try should fail")
	}
	down, n = false, 53 // three published while the first catch-up could not run
	msgs, err := a.CatchUp(context.Background(), get, "")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range msgs {
		ids = append(ids, m.ID)
	}
	if !slices.Equal(ids, []string{"51", "52", "53"}) {
		t.Errorf("got %v, want the three published since the first try and none of the history", ids)
	}
	n = 55
	msgs, _ = a.CatchUp(context.Background(), get, "")
	if len(msgs) != 2 || msgs[0].ID != "54" {
		t.Errorf("after the baseline: %d messages", len(msgs))
	}
}

// Issue 21.8: an application created within a minute of the last fetch
// kept an empty source for good, and a renamed one its old name.
func TestGotifyApplicationNamesAreLookedUpAtOnceForNewAppsAndRefreshedForRenames(t *testing.T) {
	now := time.Unix(1000, 0)
	a := &GotifyAdapter{Now: func() time.Time { return now }, AppRefreshGap: time.Minute, AppMaxAge: 10 * time.Minute}
	n := 0
	apps := `[{"id":1,"name":"One"}]`
	get := func(_ context.Context, pq string) ([]byte, error) {
		n++
		return []byte(apps), nil
	}
	frame := func(app int) []byte { return fmt.Appendf(nil, `{"id":%d,"appid":%d,"message":"m"}`, n+1, app) }
	source := func(app int) string {
		f, err := a.DecodeWith(context.Background(), get, frame(app))
		if err != nil {
			t.Fatal(err)
		}
		return f.Message.Source
	}
	if s := source(1); s != "One" || n != 1 {
		t.Fatalf("source %q after %d fetches", s, n)
	}
	if source(1); n != 1 {
		t.Fatalf("a known app fetched again (%d)", n)
	}
	now = now.Add(time.Second) // an application made a second after the fetch
	apps = `[{"id":1,"name":"One"},{"id":2,"name":"Two"}]`
	if s := source(2); s != "Two" || n != 2 {
		t.Fatalf("a new application: source %q after %d fetches, want Two at once", s, n)
	}
	for range 5 { // an id the server does not list (deleted): no storm
		if s := source(3); s != "" {
			t.Fatalf("unknown app named %q", s)
		}
	}
	if n != 3 {
		t.Fatalf("%d fetches for one unknown id within the gap, want 1 more", n)
	}
	apps = `[{"id":1,"name":"One renamed"},{"id":2,"name":"Two"}]`
	now = now.Add(5 * time.Minute)
	if s := source(1); s != "One" || n != 3 {
		t.Fatalf("before the cache is old: %q, %d fetches", s, n)
	}
	now = now.Add(6 * time.Minute)
	if s := source(1); s != "One renamed" || n != 4 {
		t.Fatalf("a renamed application: %q after %d fetches", s, n)
	}
	failing := func(context.Context, string) ([]byte, error) { return nil, &HTTPError{Status: 500} }
	now = now.Add(2 * time.Minute)
	if f, err := a.DecodeWith(context.Background(), failing, frame(9)); err != nil || f.Kind != FrameMessage {
		t.Errorf("a failed name lookup dropped the message: %v", err)
	}
}

func TestNtfyDecoderReadsEveryField(t *testing.T) {
	f, err := NtfyAdapter{}.Decode([]byte(ntfySeed + "\n"))
	if err != nil || f.Kind != FrameMessage {
		t.Fatalf("%v %v", f.Kind, err)
	}
	m := f.Message
	if m.ID != "hwQ2YpKdmg" || m.Source != "alerts" || m.Body != "m" || m.Priority != PriorityHigh || m.URL != "https://x" ||
		!m.Sent.Equal(time.Unix(1700000000, 0)) || m.Extra == nil || len(m.Extra.Tags) != 1 || m.Extra.Tags[0] != "warning" {
		t.Errorf("got %+v %+v", m, m.Extra)
	}
	full := `{"id":"abcDEF123456","time":1700000001,"expires":1700043201,"event":"message","topic":"t","title":"T","message":"**b**",
	 "icon":"https://i/x.png","content_type":"text/markdown","actions":[{"id":"a1","action":"view","label":"Open","url":"https://o"}],
	 "attachment":{"name":"f.jpg","type":"image/jpeg","size":1234,"expires":1700043201,"url":"https://a/f.jpg"}}`
	f, err = NtfyAdapter{}.Decode([]byte(full))
	if err != nil {
		t.Fatal(err)
	}
	m = f.Message
	if m.Priority != PriorityDefault || !m.Markdown || m.Title != "T" || m.Extra.Icon != "https://i/x.png" ||
		len(m.Extra.Actions) != 1 || m.Extra.Actions[0] != (Action{"view", "Open", "https://o"}) ||
		m.Extra.Attachment.Size != 1234 || m.Extra.Attachment.URL != "https://a/f.jpg" {
		t.Errorf("got %+v %+v", m, m.Extra)
	}
}

func TestNtfyControlAndUnknownEventsAreIgnored(t *testing.T) {
	for _, ev := range []string{`{"id":"a","time":1,"event":"open","topic":"t"}`, `{"id":"a","time":1,"event":"keepalive","topic":"t"}`,
		`{"id":"a","time":1,"event":"poll_request","topic":"t","message":"x"}`, `{"id":"a","event":"message_delete"}`, `{"x":1}`} {
		f, err := NtfyAdapter{}.Decode([]byte(ev))
		if err != nil || f.Kind != FrameIgnore {
			t.Errorf("%s: kind %v err %v", ev, f.Kind, err)
		}
	}
	for _, bad := range []string{`secret-body`, `{"event":"message","message":"secret-body"}`, `{"event":"message","id":"a b","message":"secret-body"}`,
		`{"event":"message","id":"ok","priority":"high","message":"secret-body"}`} {
		_, err := NtfyAdapter{}.Decode([]byte(bad))
		if !errors.Is(err, ErrBadFrame) || strings.Contains(err.Error(), "secret-body") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

func TestNtfyTopicsAreValidatedAndJoinedIntoThePath(t *testing.T) {
	for _, bad := range [][]string{nil, {""}, {"a/b"}, {"ok", "no way"}, {strings.Repeat("x", 65)}, {"ü"}} {
		if _, err := NewNtfyAdapter(bad); !errors.Is(err, ErrBadTopic) {
			t.Errorf("%q accepted", bad)
		}
	}
	a, err := NewNtfyAdapter([]string{" alerts", "back_ups-2", "alerts"})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse("wss://ntfy.example/base")
	got, h := a.Endpoint(u, NewSecret("tk_abc"), "hwQ2YpKdmg")
	if got.String() != "wss://ntfy.example/base/alerts,back_ups-2/ws?since=hwQ2YpKdmg" || h.Get("Authorization") != "Bearer tk_abc" {
		t.Errorf("%s %v", got, h)
	}
	got, _ = a.Endpoint(u, NewSecret("tk_abc"), "../x&y")
	if since := got.Query().Get("since"); strings.Contains(got.RawQuery, "x") || since == "" || strings.Trim(since, "0123456789") != "" {
		t.Errorf("a non-ntfy last id was sent, or not replaced by the unix time of the first dial: %s", got)
	}
	if topics, err := ParseNtfyTopics("alerts, backups\tx"); err != nil || len(topics) != 3 {
		t.Errorf("%v %v", topics, err)
	}
}

func TestNtfyUpgradeStatusesMapToWhatTheUserMustDo(t *testing.T) {
	tests := []struct {
		status int
		is     error
		act    action
	}{
		{http.StatusUnauthorized, nil, actAuth},
		{http.StatusForbidden, ErrNoTopicAccess, actAuth},
		{http.StatusTooManyRequests, nil, actBackoff},
		{http.StatusBadRequest, ErrBadRequest, actOffline},
		{http.StatusBadGateway, nil, actBackoff},
	}
	for _, tc := range tests {
		err := NtfyAdapter{}.UpgradeError(&HTTPError{Status: tc.status, RetryAfter: time.Second})
		var he *HTTPError
		if !errors.As(err, &he) || he.RetryAfter != time.Second {
			t.Errorf("%d: the HTTPError is not wrapped", tc.status)
		}
		if tc.is != nil && !errors.Is(err, tc.is) {
			t.Errorf("%d: %v is not %v", tc.status, err, tc.is)
		}
		if got := classify(err); got != tc.act {
			t.Errorf("%d: action %v, want %v", tc.status, got, tc.act)
		}
		if Explain(err) == "" {
			t.Errorf("%d: no explanation", tc.status)
		}
	}
	if !strings.Contains(Explain(NtfyAdapter{}.UpgradeError(&HTTPError{Status: 403})), "topic") {
		t.Error("403 does not explain the topic")
	}
}

func TestAdapterForPicksTheAdapterOfTheAccountProtocol(t *testing.T) {
	if a, err := AdapterFor("tidings", nil); err != nil || a != (NativeAdapter{}) {
		t.Errorf("tidings: %T %v", a, err)
	}
	if a, err := AdapterFor("gotify", nil); err != nil {
		t.Error(err)
	} else if _, ok := a.(*GotifyAdapter); !ok {
		t.Errorf("gotify: %T", a)
	}
	if a, err := AdapterFor("ntfy", []string{"alerts"}); err != nil || a.(NtfyAdapter).Topics()[0] != "alerts" {
		t.Errorf("ntfy: %v", err)
	}
	if _, err := AdapterFor("ntfy", nil); !errors.Is(err, ErrBadTopic) {
		t.Errorf("ntfy without topics: %v", err)
	}
	if _, err := AdapterFor("matrix", nil); !errors.Is(err, ErrUnknownProtocol) {
		t.Errorf("unknown: %v", err)
	}
}

func TestRecentIDsSeedTheDedupWindow(t *testing.T) {
	l := newLedger(false, 3, "c", "a", "b", "c")
	for _, id := range []string{"a", "b", "c"} {
		if !l.repeat(id) {
			t.Errorf("%s not remembered", id)
		}
	}
	if l.last != "c" || l.repeat("d") {
		t.Errorf("last %q", l.last)
	}
	l = newLedger(false, 2, "", "a", "b", "c")
	if l.repeat("a") || !l.repeat("c") {
		t.Error("the window keeps the newest RecentIDs")
	}
}

func fuzzDecoder(f *testing.F, a Adapter, seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := a.Decode(b)
		if err != nil {
			if !errors.Is(err, ErrBadFrame) {
				t.Fatalf("error not ErrBadFrame: %v", err)
			}
			if len(b) >= 8 && utf8.Valid(b) && strings.Contains(err.Error(), string(b)) {
				t.Fatalf("error quotes the frame")
			}
			return
		}
		if fr.Kind == FrameMessage {
			if fr.Message.ID == "" || fr.Message.Priority < PriorityMin || fr.Message.Priority > PriorityUrgent {
				t.Fatalf("bad message %+v", fr.Message)
			}
		}
	})
}

func FuzzGotifyDecode(f *testing.F) {
	fuzzDecoder(f, NewGotifyAdapter(), gotifySeed,
		`{"id":25,"appid":5,"message":"**Backup** was successfully finished.","title":"Backup","priority":2,"date":"2018-02-27T19:36:10.5045044+01:00"}`,
		`{"id":7,"appid":2,"message":"b","title":"","priority":10,"extras":{"client::notification":{"click":{"url":"https://example.com/x"},"bigImageUrl":"https://i"}},"date":"2026-01-02T03:04:05Z"}`)
}

func FuzzNtfyDecode(f *testing.F) {
	fuzzDecoder(f, NtfyAdapter{}, ntfySeed,
		`{"id":"SLiKI64DOt","time":1635528757,"event":"open","topic":"mytopic"}`,
		`{"id":"hwQ2YpKdmg","time":1635528741,"event":"keepalive","topic":"mytopic"}`,
		`{"id":"xE73Iyuabi","time":1673542291,"expires":1673585491,"event":"message","topic":"t","message":"Look","attachment":{"name":"f.jpg","type":"image/jpeg","size":15398,"expires":1673553091,"url":"https://ntfy.sh/file/xE73Iyuabi.jpg"},"actions":[{"id":"x","action":"view","label":"Open","url":"https://o","clear":false}],"content_type":"text/markdown"}`)
}

func TestGotifyCatchUpInterruptedReturnsTheContiguousRunAfterLast(t *testing.T) {
	var calls []string
	pages := gotifyPages(500, nil, &calls)
	n := 0
	flaky := func(ctx context.Context, pq string) ([]byte, error) {
		if strings.HasPrefix(pq, "/message") {
			if n++; n == 3 { // the newest id and one window succeed
				return nil, &HTTPError{Status: 502}
			}
		}
		return pages(ctx, pq)
	}
	msgs, err := (&GotifyAdapter{PageSize: 100}).CatchUp(context.Background(), flaky, "50")
	if err == nil || len(msgs) != 100 || msgs[0].ID != "51" || msgs[99].ID != "150" {
		t.Fatalf("%d messages from %v, err %v", len(msgs), msgs[0].ID, err)
	}
}
