package server

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/tidings-app/tidings/proto"
	"github.com/tidings-app/tidings/server/store"
)

const msgBadLogin = "wrong username or password"

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, reason string) {
	writeJSON(w, status, proto.ErrorResponse{Error: reason})
}

func writeLimited(w http.ResponseWriter, wait time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(retryAfter(wait)))
	writeError(w, http.StatusTooManyRequests, "too many attempts, retry later")
}

// readBody reads at most MaxRequest bytes; over that it answers 413.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(s.cfg.MaxRequest)))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			writeError(w, http.StatusRequestEntityTooLarge, "request body over "+strconv.Itoa(s.cfg.MaxRequest)+" bytes")
		} else {
			writeError(w, http.StatusBadRequest, "could not read the request body")
		}
		return nil, false
	}
	return body, true
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// handleLogin: POST /api/login. Unknown users and wrong passwords get the
// same answer after the same bcrypt work.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	if s.unavailable(w) {
		return
	}
	ip := clientIP(r)
	if ok, wait := s.perIP.allow(ip); !ok {
		s.log.Warn("login rate limited", "ip", ip)
		writeLimited(w, wait)
		return
	}
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	var req proto.LoginRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, http.StatusBadRequest, "malformed login request: "+describeJSONError(err))
		return
	}
	if req.Username == "" || req.Password == "" {
		writeError(w, http.StatusBadRequest, "username and password are required")
		return
	}
	if ok, wait := s.perUser.allow(req.Username); !ok {
		s.log.Warn("login rate limited", "ip", ip, "user", safeName(req.Username))
		writeLimited(w, wait)
		return
	}
	u, err := s.store.User(r.Context(), req.Username)
	hash := u.PasswordHash
	if err != nil {
		hash = s.dummyHash
	}
	cmp := bcrypt.CompareHashAndPassword(hash, []byte(req.Password))
	if err != nil || cmp != nil {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			s.log.Error("login lookup", "err", err)
			writeError(w, http.StatusInternalServerError, "internal error")
			return
		}
		s.log.Info("login failed", "ip", ip, "user", safeName(req.Username))
		writeError(w, http.StatusUnauthorized, msgBadLogin)
		return
	}
	tok := NewToken(SessionPrefix)
	if err := s.store.AddToken(r.Context(), store.Token{Hash: HashToken(tok), Kind: store.KindSession, User: u.Name}); err != nil {
		s.log.Error("login store token", "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
		return
	}
	s.log.Info("login", "ip", ip, "user", u.Name)
	writeJSON(w, http.StatusOK, proto.LoginResponse{Token: tok.Reveal()})
}

// safeName is a user name fit for logs: names that are not valid (and so
// might be a password typed into the wrong field) are not logged.
func safeName(n string) string {
	if store.ValidName(n) {
		return n
	}
	return "(invalid name)"
}

// handleLogout: POST /api/logout revokes the session token and closes its
// sockets with 4001.
// sessionToken finds the request's bearer session token, answering 401
// itself when there is none.
func (s *Server) sessionToken(w http.ResponseWriter, r *http.Request) (store.Token, store.TokenHash, bool) {
	tok, ok := bearer(r)
	if !ok {
		writeError(w, http.StatusUnauthorized, "missing bearer token")
		return store.Token{}, store.TokenHash{}, false
	}
	h := HashToken(tok)
	t, err := s.store.Token(r.Context(), h)
	if err != nil || t.Kind != store.KindSession {
		writeError(w, http.StatusUnauthorized, "unknown token")
		return store.Token{}, store.TokenHash{}, false
	}
	return t, h, true
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if s.unavailable(w) {
		return
	}
	t, h, ok := s.sessionToken(w, r)
	if !ok {
		return
	}
	if err := s.store.DeleteToken(r.Context(), h); err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log.Error("logout", "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
		return
	}
	s.closeToken(h, proto.CloseTokenRevoked, "logged out")
	s.log.Info("logout", "user", t.User)
	w.WriteHeader(http.StatusNoContent)
}

// handleMe: GET /api/me with a session token names its user, so a client
// can try a pasted token before keeping it.
func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	if s.unavailable(w) {
		return
	}
	t, _, ok := s.sessionToken(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, proto.MeResponse{Username: t.User})
}

// handlePublish: POST /api/publish with a publisher token.
func (s *Server) handlePublish(w http.ResponseWriter, r *http.Request) {
	if s.unavailable(w) {
		return
	}
	start := s.now()
	tok, ok := bearer(r)
	if !ok {
		writeError(w, http.StatusUnauthorized, "missing bearer token")
		return
	}
	t, err := s.store.Token(r.Context(), HashToken(tok))
	if err != nil || t.Kind != store.KindPublisher {
		writeError(w, http.StatusUnauthorized, "not a publisher token")
		return
	}
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	req, err := DecodePublish(body, s.cfg)
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, ErrTooLarge) {
			status = http.StatusRequestEntityTooLarge
		}
		writeError(w, status, reason(err))
		return
	}
	n, err := s.publish(r, start, req)
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "no such user or group")
	case err != nil:
		s.log.Error("publish", "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
	default:
		s.log.Debug("published", "publisher", t.Name, "recipients", n)
		writeJSON(w, http.StatusOK, proto.PublishResponse{Recipients: n})
	}
}

// reason strips the package prefix from a request error.
func reason(err error) string {
	const p = "server: "
	msg := err.Error()
	if len(msg) > len(p) && msg[:len(p)] == p {
		return msg[len(p):]
	}
	return msg
}
