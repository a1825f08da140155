package account

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tidings-app/tidings/proto"
)

// fakeServer is a push server on a real loopback socket that follows
// docs/protocol.md (native) or ../shared/docs/PROTOCOLS.md (Gotify, ntfy)
// for login and logout, with switches for misbehaviour.
type fakeServer struct {
	*httptest.Server
	proto    Protocol
	user, pw string

	mu      sync.Mutex
	tokens  map[string]string // live token → Gotify client id ("" otherwise)
	nextID  int
	origins []string // Origin headers seen (must stay empty)
	paths   []string // method + path of every request
	bodies  []string // request bodies seen
	release chan struct{}

	// Switches.
	html    bool            // answer every request with a 200 HTML page
	slow    bool            // never answer until the client gives up (or release)
	huge    bool            // answer login with a body over any sane limit
	noToken bool            // answer login with JSON without a token
	limited bool            // 429 with Retry-After: 30
	closed  map[string]bool // ntfy topics the user may not read
}

// accept makes tok a live token, as if the user had created it on the
// server and pasted it.
func (f *fakeServer) accept(tok string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokens[tok] = ""
}

func newFakeServer(t *testing.T, p Protocol) *fakeServer {
	t.Helper()
	f := &fakeServer{proto: p, user: "alice", pw: "correct horse battery", tokens: map[string]string{}, release: make(chan struct{})}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	t.Cleanup(func() { close(f.release) }) // runs first: unblocks slow handlers
	return f
}

func (f *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	var body strings.Builder
	if r.Body != nil {
		_, _ = io.Copy(&body, io.LimitReader(r.Body, 64<<10))
	}
	f.mu.Lock()
	if o := r.Header.Get("Origin"); o != "" {
		f.origins = append(f.origins, o)
	}
	f.paths = append(f.paths, r.Method+" "+r.URL.Path)
	f.bodies = append(f.bodies, body.String())
	html, slow, huge, noToken, limited := f.html, f.slow, f.huge, f.noToken, f.limited
	f.mu.Unlock()
	switch {
	case slow:
		select {
		case <-r.Context().Done():
		case <-f.release:
		}
		return
	case html:
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<!doctype html><html><body>Welcome to nginx!</body></html>"))
		return
	case limited:
		w.Header().Set("Retry-After", "30")
		http.Error(w, `{"error":"rate limited"}`, http.StatusTooManyRequests)
		return
	}
	switch f.proto {
	case Native:
		f.native(w, r, body.String(), huge, noToken)
	case Gotify:
		f.gotify(w, r, body.String(), huge, noToken)
	case Ntfy:
		f.ntfy(w, r, body.String(), huge, noToken)
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeServer) mint(prefix, id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	tok := prefix + "secret-token-" + strconv.Itoa(f.nextID) + "-Zq9"
	f.tokens[tok] = id
	return tok
}

func (f *fakeServer) live(tok string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.tokens[tok]
	return ok
}

func (f *fakeServer) revoke(tok string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.tokens[tok]
	delete(f.tokens, tok)
	return ok
}

func (f *fakeServer) loginAnswer(w http.ResponseWriter, huge, noToken bool, answer map[string]any) {
	switch {
	case huge:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"token":"tk_x","pad":"` + strings.Repeat("x", 1<<20) + `"}`))
	case noToken:
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "version": "1.0"})
	default:
		writeJSON(w, http.StatusOK, answer)
	}
}

func bearerOf(r *http.Request) string {
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return tok
}

// native: docs/protocol.md "Log in and out".
func (f *fakeServer) native(w http.ResponseWriter, r *http.Request, body string, huge, noToken bool) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == proto.PathLogin:
		var req proto.LoginRequest
		if err := json.Unmarshal([]byte(body), &req); err != nil {
			writeJSON(w, http.StatusBadRequest, proto.ErrorResponse{Error: "malformed JSON"})
			return
		}
		if req.Username != f.user || req.Password != f.pw {
			writeJSON(w, http.StatusUnauthorized, proto.ErrorResponse{Error: "wrong username or password"})
			return
		}
		f.loginAnswer(w, huge, noToken, map[string]any{"token": f.mint("tdt_", "")})
	case r.Method == http.MethodPost && r.URL.Path == proto.PathLogout:
		if !f.revoke(bearerOf(r)) {
			writeJSON(w, http.StatusUnauthorized, proto.ErrorResponse{Error: "unauthorized"})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodGet && r.URL.Path == proto.PathMe:
		if !f.live(bearerOf(r)) {
			writeJSON(w, http.StatusUnauthorized, proto.ErrorResponse{Error: "unknown token"})
			return
		}
		writeJSON(w, http.StatusOK, proto.MeResponse{Username: f.user})
	case r.URL.Path == "/ws": // stands in for the connection: 200 for a live token
		if !f.live(bearerOf(r)) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	default:
		http.NotFound(w, r)
	}
}

// gotify: PROTOCOLS.md §2 Login.
func (f *fakeServer) gotify(w http.ResponseWriter, r *http.Request, body string, huge, noToken bool) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/client":
		u, p, ok := r.BasicAuth()
		if !ok || u != f.user || p != f.pw {
			writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "Unauthorized", "errorCode": 401, "errorDescription": "you need to provide a valid access token or user credentials to access this api"})
			return
		}
		var req struct{ Name string }
		if json.Unmarshal([]byte(body), &req) != nil || req.Name == "" {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "Bad Request"})
			return
		}
		f.mu.Lock()
		id := strconv.Itoa(f.nextID + 1)
		f.mu.Unlock()
		tok := f.mint("C", id)
		n, _ := strconv.Atoi(id)
		f.loginAnswer(w, huge, noToken, map[string]any{"id": n, "token": tok, "name": req.Name})
	case r.Method == http.MethodGet && r.URL.Path == "/current/user":
		if !f.live(r.Header.Get("X-Gotify-Key")) {
			writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "Unauthorized", "errorCode": 401})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"id": 1, "name": f.user, "admin": true})
	case r.Method == http.MethodGet && r.URL.Path == "/client":
		tok := r.Header.Get("X-Gotify-Key")
		if !f.live(tok) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		f.mu.Lock()
		var list []map[string]any
		for t, id := range f.tokens {
			n, _ := strconv.Atoi(id)
			list = append(list, map[string]any{"id": n, "token": t, "name": "x"})
		}
		f.mu.Unlock()
		writeJSON(w, http.StatusOK, list)
	case r.Method == http.MethodDelete && strings.HasPrefix(r.URL.Path, "/client/"):
		tok := r.Header.Get("X-Gotify-Key")
		if !f.live(tok) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		id := strings.TrimPrefix(r.URL.Path, "/client/")
		f.mu.Lock()
		found := ""
		for t, cid := range f.tokens {
			if cid == id {
				found = t
			}
		}
		f.mu.Unlock()
		if found == "" {
			writeJSON(w, http.StatusNotFound, map[string]any{"error": "Not Found"})
			return
		}
		f.revoke(found)
		w.WriteHeader(http.StatusOK)
	default:
		http.NotFound(w, r)
	}
}

// ntfy: PROTOCOLS.md §3 Login.
func (f *fakeServer) ntfy(w http.ResponseWriter, r *http.Request, body string, huge, noToken bool) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v1/account/token":
		u, p, ok := r.BasicAuth()
		if !ok || u != f.user || p != f.pw {
			writeJSON(w, http.StatusUnauthorized, map[string]any{"code": 40101, "http": 401, "error": "unauthorized"})
			return
		}
		var req struct {
			Label   string `json:"label"`
			Expires *int64 `json:"expires"`
		}
		if json.Unmarshal([]byte(body), &req) != nil || req.Expires == nil || *req.Expires != 0 {
			// Without expires 0 the token would die after 72 h: fail loudly.
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "expected expires 0"})
			return
		}
		f.loginAnswer(w, huge, noToken, map[string]any{"token": f.mint("tk_", ""), "label": req.Label, "expires": 0})
	case r.Method == http.MethodGet && r.URL.Path == "/v1/account":
		if !f.live(bearerOf(r)) {
			writeJSON(w, http.StatusUnauthorized, map[string]any{"code": 40101, "http": 401, "error": "unauthorized"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"username": f.user, "role": "user"})
	case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/auth"):
		f.mu.Lock()
		closed := f.closed[strings.Trim(strings.TrimSuffix(r.URL.Path, "/auth"), "/")]
		f.mu.Unlock()
		if !f.live(bearerOf(r)) || closed {
			writeJSON(w, http.StatusForbidden, map[string]any{"code": 40301, "http": 403, "error": "forbidden"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"success": true})
	case r.Method == http.MethodDelete && r.URL.Path == "/v1/account/token":
		if !f.revoke(bearerOf(r)) {
			writeJSON(w, http.StatusUnauthorized, map[string]any{"code": 40101, "http": 401, "error": "unauthorized"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"success": true})
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"code": 40401, "http": 404, "error": "page not found"})
	}
}

func (f *fakeServer) set(fn func(*fakeServer)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeServer) seenOrigins() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.origins...)
}

func (f *fakeServer) liveTokens() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.tokens)
}
