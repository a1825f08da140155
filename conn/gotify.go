package conn

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Gotify defaults.
const (
	DefaultGotifyPageSize      = 200              // GET /message?limit= (Gotify allows 1–200)
	DefaultGotifyMaxCatchUp    = 1000             // messages a catch-up walk fetches at most
	DefaultGotifyBaselineSkew  = 2 * time.Second  // server clock allowance when a fresh login's first catch-up failed
	DefaultGotifyAppRefreshGap = 1 * time.Minute  // least time between two lookups of one unknown application
	DefaultGotifyAppMaxAge     = 10 * time.Minute // the names are fetched again when older, for renames
)

// GotifyAdapter speaks Gotify (server v2.9.x, PROTOCOLS.md §2):
//
//   - GET /stream with the client token in X-Gotify-Key (never ?token=,
//     query strings land in proxy logs). No client frames at all: Gotify
//     caps them at 64 bytes; liveness is the protocol pings both ways.
//   - One JSON frame per message: id, appid, message, title, priority
//     0–10, extras, date (RFC 3339).
//   - Catch-up walks GET /message?limit=&since= backwards (since returns
//     ids lower than since, newest first; paging.since is the oldest id
//     returned, 0 when there are no more) until it reaches the last id
//     seen. The engine connects first, then catches up, and drops repeats.
//   - Application names (and image URLs) come from GET /application,
//     cached: an application id the cache does not know is looked up at
//     once (each id at most once per AppRefreshGap, so an application
//     deleted on the server costs no storm), and the cache is fetched
//     again on the first message after it is AppMaxAge old, so a renamed
//     application shows its new name.
//
// Priority mapping (Gotify 0–10 → 1–5), following Gotify's own clients
// (0 silent, 1–3 quiet, 4–7 sound, 8–10 intrusive):
// 0 → min, 1–3 → low, 4–7 → default, 8–9 → high, 10 → urgent. Values
// outside 0–10 are clamped; a missing priority is default.
//
// Use NewGotifyAdapter (or a zero GotifyAdapter via a pointer); the adapter
// holds the application cache, so one *GotifyAdapter belongs to one account.
type GotifyAdapter struct {
	PageSize      int           // default DefaultGotifyPageSize, at most 200
	MaxCatchUp    int           // default DefaultGotifyMaxCatchUp
	AppRefreshGap time.Duration // default DefaultGotifyAppRefreshGap
	AppMaxAge     time.Duration // default DefaultGotifyAppMaxAge
	Now           func() time.Time

	mu       sync.Mutex
	apps     map[uint64]GotifyApp
	fetched  bool                 // the application list was fetched at least once
	lastPull time.Time            // when it was last fetched
	looked   map[uint64]time.Time // when an unknown id was last looked up
	baseline string               // the newest id at the first catch-up without a last id
	firstTry time.Time            // when that first catch-up was first tried
}

// GotifyApp is one Gotify application as GET /application describes it.
type GotifyApp struct {
	Name  string
	Image string // as the server sends it, relative to the server URL (e.g. "image/abc.png")
}

var (
	_ Adapter      = (*GotifyAdapter)(nil)
	_ CatchUpper   = (*GotifyAdapter)(nil)
	_ FetchDecoder = (*GotifyAdapter)(nil)
)

// NewGotifyAdapter returns an adapter with the defaults.
func NewGotifyAdapter() *GotifyAdapter { return &GotifyAdapter{} }

func (a *GotifyAdapter) pageSize() int {
	if a.PageSize <= 0 || a.PageSize > 200 {
		return DefaultGotifyPageSize
	}
	return a.PageSize
}

func (a *GotifyAdapter) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// Endpoint: GET /stream with X-Gotify-Key. last is not sent: Gotify does
// not replay on the socket; CatchUp does.
func (a *GotifyAdapter) Endpoint(server *url.URL, token Secret, _ string) (*url.URL, http.Header) {
	return endpoint(server, "/stream", "", "", "X-Gotify-Key", "", token)
}

// Heartbeat is "": never send client frames to Gotify.
func (a *GotifyAdapter) Heartbeat() string { return "" }

// OrderedIDs: Gotify ids are auto-increment integers.
func (a *GotifyAdapter) OrderedIDs() bool { return true }

// gotifyMessage is model.MessageExternal as it travels.
type gotifyMessage struct {
	ID       *uint64                    `json:"id"`
	AppID    uint64                     `json:"appid"`
	Message  string                     `json:"message"`
	Title    string                     `json:"title"`
	Priority *float64                   `json:"priority"`
	Extras   map[string]json.RawMessage `json:"extras"`
	Date     string                     `json:"date"`
}

// Decode reads one stream frame using the cached application names.
func (a *GotifyAdapter) Decode(b []byte) (Frame, error) {
	m, appID, err := decodeGotify(trimFrame(b))
	if err != nil {
		return Frame{}, err
	}
	a.name(&m, appID)
	return Frame{Kind: FrameMessage, Message: m}, nil
}

// DecodeWith is Decode, refreshing the application list first when the
// frame names an application the cache does not know (rate-limited).
func (a *GotifyAdapter) DecodeWith(ctx context.Context, get Fetcher, b []byte) (Frame, error) {
	m, appID, err := decodeGotify(trimFrame(b))
	if err != nil {
		return Frame{}, err
	}
	if a.needLookup(appID) {
		a.refreshApps(ctx, get)
	}
	a.name(&m, appID)
	return Frame{Kind: FrameMessage, Message: m}, nil
}

func decodeGotify(b []byte) (Message, uint64, error) {
	var g gotifyMessage
	if err := json.Unmarshal(b, &g); err != nil {
		return Message{}, 0, fmt.Errorf("%w: not a Gotify message object", ErrBadFrame)
	}
	if g.ID == nil || *g.ID == 0 {
		return Message{}, 0, fmt.Errorf("%w: field \"id\" is missing or not a positive integer", ErrBadFrame)
	}
	m := Message{
		ID:       strconv.FormatUint(*g.ID, 10),
		Title:    g.Title,
		Body:     g.Message,
		Priority: GotifyPriority(g.Priority),
	}
	if t, err := time.Parse(time.RFC3339Nano, g.Date); err == nil {
		m.Sent = t
	}
	var display struct {
		ContentType string `json:"contentType"`
	}
	if raw, ok := g.Extras["client::display"]; ok && json.Unmarshal(raw, &display) == nil {
		m.Markdown = display.ContentType == "text/markdown"
	}
	var notif struct {
		Click struct {
			URL string `json:"url"`
		} `json:"click"`
		BigImageURL string `json:"bigImageUrl"`
	}
	if raw, ok := g.Extras["client::notification"]; ok && json.Unmarshal(raw, &notif) == nil {
		m.URL = notif.Click.URL
		if notif.BigImageURL != "" {
			m.Extra = &Extra{Image: notif.BigImageURL}
		}
	}
	return m, g.AppID, nil
}

// GotifyPriority maps Gotify's 0–10 (nil: not sent) onto Priority. 0 is
// what Gotify stores when the sender chose none (an application's default
// priority is 0, so a plain `curl -F message=…` arrives as 0): it is
// default, so it pops up like any message (gotify-tray #43); 1–3 are the
// sender's way of saying "quiet".
func GotifyPriority(p *float64) Priority {
	switch {
	case p == nil, *p == 0:
		return PriorityDefault
	case *p < 1:
		return PriorityMin
	case *p < 4:
		return PriorityLow
	case *p < 8:
		return PriorityDefault
	case *p < 10:
		return PriorityHigh
	default:
		return PriorityUrgent
	}
}

// needLookup reports whether decoding a message of appID should fetch the
// names first: never fetched, the id unknown and not looked up within
// AppRefreshGap, or the cache older than AppMaxAge.
func (a *GotifyAdapter) needLookup(appID uint64) bool {
	gap, maxAge := a.AppRefreshGap, a.AppMaxAge
	if gap <= 0 {
		gap = DefaultGotifyAppRefreshGap
	}
	if maxAge <= 0 {
		maxAge = DefaultGotifyAppMaxAge
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	if !a.fetched { // never worked: try again, but not on every message
		return a.lastPull.IsZero() || now.Sub(a.lastPull) >= gap
	}
	if now.Sub(a.lastPull) >= maxAge {
		return true
	}
	if _, ok := a.apps[appID]; ok {
		return false
	}
	if t, ok := a.looked[appID]; ok && now.Sub(t) < gap {
		return false
	}
	if a.looked == nil || len(a.looked) > 1000 {
		a.looked = map[uint64]time.Time{}
	}
	a.looked[appID] = now
	return true
}

// name sets Source (and the icon) from the cache.
func (a *GotifyAdapter) name(m *Message, appID uint64) {
	a.mu.Lock()
	app, ok := a.apps[appID]
	a.mu.Unlock()
	if !ok {
		return
	}
	m.Source = app.Name
	if app.Image != "" {
		if m.Extra == nil {
			m.Extra = &Extra{}
		}
		m.Extra.Icon = app.Image
	}
}

// refreshApps fetches GET /application (the callers decide when). A
// failure leaves the cache as it was: names are a nicety, never a reason
// to drop a message.
func (a *GotifyAdapter) refreshApps(ctx context.Context, get Fetcher) {
	a.mu.Lock()
	a.lastPull = a.now()
	a.mu.Unlock()

	b, err := get(ctx, "/application")
	if err != nil {
		return
	}
	var list []struct {
		ID    uint64 `json:"id"`
		Name  string `json:"name"`
		Image string `json:"image"`
	}
	if json.Unmarshal(b, &list) != nil {
		return
	}
	apps := make(map[uint64]GotifyApp, len(list))
	for _, app := range list {
		apps[app.ID] = GotifyApp{Name: app.Name, Image: app.Image}
	}
	a.mu.Lock()
	a.apps, a.fetched = apps, true
	a.mu.Unlock()
}

// CatchUp returns the messages after last, oldest first.
//
// Gotify pages backwards only (since=S returns the ids below S, newest
// first), so a plain walk from the newest page must finish before anything
// can be shown: on a link that keeps dropping, a long walk never completes.
// CatchUp therefore asks for the newest id first (limit=1), then fetches
// the gap in forward windows: since = lo+PageSize+1 returns exactly the ids
// in (lo, lo+PageSize]. On an error the windows fetched so far are returned
// with it: a contiguous run right after last, which the engine delivers, so
// every attempt makes progress. At most MaxCatchUp of this user's
// messages are fetched: when the gap is wider than that in ids (Gotify's
// ids are shared by all users), walkBack counts the user's own messages
// back from the newest, and says with a *ShortCatchUp how many older ones
// it leaves.
//
// With last "" (nothing delivered yet, a fresh login) the server's history
// is not replayed as popups: the first call only notes the newest id as a
// baseline, and later calls with last "" (no message arrived since) catch
// up from that baseline, so nothing published after the first connect is
// lost to an early drop. If that first call fails, the one that sets the
// baseline returns what was dated since the first try (setBaseline).
func (a *GotifyAdapter) CatchUp(ctx context.Context, get Fetcher, last string) ([]Message, error) {
	a.mu.Lock()
	fetched, baseline, firstTry := a.fetched, a.baseline, a.firstTry
	if last == "" && baseline == "" && firstTry.IsZero() {
		a.firstTry = a.now()
	}
	a.mu.Unlock()
	if !fetched {
		a.refreshApps(ctx, get)
	}
	if last == "" {
		last = baseline
	}
	if last == "" {
		return a.setBaseline(ctx, get, firstTry)
	}
	newest, err := a.page(ctx, get, 1, 0, 0)
	if err != nil {
		return nil, err
	}
	top := uint64(0)
	if len(newest) > 0 {
		top, _ = strconv.ParseUint(newest[0].ID, 10, 64)
	}
	lastN, err := strconv.ParseUint(last, 10, 64)
	if err != nil || top == lastN {
		return nil, nil // nothing new, or not a Gotify id (the account changed protocol)
	}
	maxN := uint64(DefaultGotifyMaxCatchUp)
	if a.MaxCatchUp > 0 {
		maxN = uint64(a.MaxCatchUp)
	}
	if top < lastN {
		// The user's newest id is below the resume point: the database was
		// reset or restored (or every message deleted). What it holds now
		// is walked like a first catch-up; the engine rebases and keeps out
		// what is from before (IDsRestarted).
		var msgs []Message
		if top > 0 {
			msgs, err = a.walkBack(ctx, get, 0, top, int(maxN))
		}
		var short *ShortCatchUp
		if err != nil && !errors.As(err, &short) {
			return nil, err
		}
		return msgs, &IDsRestarted{Newest: strconv.FormatUint(top, 10), Err: err}
	}
	if top-lastN > maxN {
		// Wider than the window in ids, which Gotify shares among all
		// its users: count this user's messages instead.
		return a.walkBack(ctx, get, lastN, top, int(maxN))
	}
	lo := lastN
	limit := uint64(a.pageSize())
	var out []Message
	for lo < top {
		since := min(lo+limit, top) + 1
		win, err := a.page(ctx, get, int(limit), since, lo)
		switch {
		case errors.Is(err, ErrPageTooLarge) && limit > 1:
			limit = max(limit/2, 1) // big messages: smaller windows
			continue
		case err != nil:
			return out, err
		}
		out = append(out, win...)
		lo = since - 1
	}
	return out, nil
}

// gotifyPrefixID finds the first message's id and application in the start
// of a page: Gotify writes "paging" (no "id" key) and then each message
// with "id" and "appid" first.
var gotifyPrefixID = regexp.MustCompile(`"id"\s*:\s*([0-9]{1,19})\s*,\s*"appid"\s*:\s*([0-9]{1,19})`)

// oversized is the entry that stands for a message too large to fetch: it
// says so, in history and popup, instead of the message being skipped
// without a word or stalling the catch-up.
func (a *GotifyAdapter) oversized(prefix []byte, floor uint64) ([]Message, uint64, error) {
	sub := gotifyPrefixID.FindSubmatch(prefix)
	if sub == nil {
		return nil, 0, fmt.Errorf("%w: gotify catch-up: a message over the read limit, and its id is not in the first bytes", ErrPageTooLarge)
	}
	id, _ := strconv.ParseUint(string(sub[1]), 10, 64)
	if id <= floor {
		return nil, id, nil
	}
	appID, _ := strconv.ParseUint(string(sub[2]), 10, 64)
	m := Message{ID: strconv.FormatUint(id, 10), Priority: PriorityDefault,
		Title: "A message too large to show",
		Body:  fmt.Sprintf("Message %d is larger than Tidings reads (%d bytes at most). Open it in Gotify's web app.", id, len(prefix))}
	a.name(&m, appID)
	return []Message{m}, id, nil
}

// setBaseline notes the newest id as the point later catch-ups start from.
// If an earlier first call failed (firstTry set), messages may have been
// stored since then with no baseline to find them by: the newest page's
// messages dated from firstTry on (less DefaultGotifyBaselineSkew for the
// server's clock) are returned as new.
func (a *GotifyAdapter) setBaseline(ctx context.Context, get Fetcher, firstTry time.Time) ([]Message, error) {
	limit := 1
	if !firstTry.IsZero() {
		limit = a.pageSize()
	}
	page, err := a.page(ctx, get, limit, 0, 0)
	for errors.Is(err, ErrPageTooLarge) && limit > 1 { // big messages: a smaller page
		limit = max(limit/2, 1)
		page, err = a.page(ctx, get, limit, 0, 0)
	}
	if err != nil {
		return nil, err
	}
	top := uint64(0)
	var out []Message
	for _, m := range page { // oldest first
		top, _ = strconv.ParseUint(m.ID, 10, 64)
		if !firstTry.IsZero() && !m.Sent.IsZero() && !m.Sent.Before(firstTry.Add(-DefaultGotifyBaselineSkew)) {
			out = append(out, m)
		}
	}
	a.mu.Lock()
	a.baseline = strconv.FormatUint(top, 10)
	a.mu.Unlock()
	return out, nil
}

// walkBackPages bounds how many pages past the window walkBack reads only
// to count what it does not fetch.
const walkBackPages = 10

// walkBack fetches this user's newest maxN messages above lastN by walking
// Gotify's pages back from top (since=S returns the user's ids below S,
// newest first), oldest first. When there are more, it counts on a few
// pages and returns the messages with a *ShortCatchUp saying how many
// were missed. An error returns nothing: the next walk starts over.
func (a *GotifyAdapter) walkBack(ctx context.Context, get Fetcher, lastN, top uint64, maxN int) ([]Message, error) {
	limit := a.pageSize()
	var out []Message
	missed, cursor, pages := 0, top+1, 0
	for cursor > lastN+1 && pages <= walkBackPages {
		win, raw, lowest, err := a.pageRaw(ctx, get, limit, cursor, lastN)
		if errors.Is(err, ErrPageTooLarge) && limit > 1 {
			limit = max(limit/2, 1)
			continue
		}
		if err != nil {
			return nil, err
		}
		missed += len(win)
		for i := len(win) - 1; i >= 0 && len(out) < maxN; i-- { // newest first
			out = append(out, win[i])
		}
		if len(out) >= maxN {
			pages++ // counting only, from here
		}
		if raw < limit || lowest <= lastN+1 {
			break // the user's oldest message, or the last one seen, is reached
		}
		cursor = lowest
	}
	slices.Reverse(out)
	if missed > len(out) {
		return out, &ShortCatchUp{Fetched: len(out), Missed: missed, AtLeast: pages > walkBackPages}
	}
	return out, nil
}

// page fetches GET /message?limit=&since= and returns the messages with
// ids above floor, oldest first.
func (a *GotifyAdapter) page(ctx context.Context, get Fetcher, limit int, since, floor uint64) ([]Message, error) {
	msgs, _, _, err := a.pageRaw(ctx, get, limit, since, floor)
	return msgs, err
}

// pageRaw is page, also returning how many messages the server sent and
// the lowest id among them (before the floor and bad entries are dropped).
func (a *GotifyAdapter) pageRaw(ctx context.Context, get Fetcher, limit int, since, floor uint64) (msgs []Message, raw int, lowest uint64, err error) {
	q := "/message?limit=" + strconv.Itoa(limit)
	if since != 0 {
		q += "&since=" + strconv.FormatUint(since, 10)
	}
	b, err := get(ctx, q)
	if errors.Is(err, ErrPageTooLarge) && limit == 1 {
		msgs, id, err := a.oversized(b, floor)
		return msgs, 1, id, err
	}
	if err != nil {
		return nil, 0, 0, fmt.Errorf("gotify catch-up: %w", err)
	}
	var p struct {
		Messages []json.RawMessage `json:"messages"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, 0, 0, fmt.Errorf("%w: gotify catch-up: the message page is not the expected JSON", ErrBadFrame)
	}
	raw = len(p.Messages)
	lowest = ^uint64(0)
	for _, r := range p.Messages {
		var head struct {
			ID uint64 `json:"id"`
		}
		if json.Unmarshal(r, &head) == nil && head.ID > 0 {
			lowest = min(lowest, head.ID)
		}
		m, appID, err := decodeGotify(r)
		if err != nil {
			continue // one bad stored message must not block the rest
		}
		if n, _ := strconv.ParseUint(m.ID, 10, 64); n <= floor {
			continue
		}
		a.name(&m, appID)
		msgs = append(msgs, m)
	}
	slices.SortFunc(msgs, func(x, y Message) int {
		nx, _ := strconv.ParseUint(x.ID, 10, 64)
		ny, _ := strconv.ParseUint(y.ID, 10, 64)
		return cmp.Compare(nx, ny)
	})
	if lowest == ^uint64(0) {
		lowest = 0
	}
	return msgs, raw, lowest, nil
}
