package account

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// NormalizeServerURL checks a server address as the user typed it and
// returns its canonical form: scheme http or https (ws and wss are mapped to
// them, a missing scheme means https), lower-case host, the path kept (for
// servers behind a reverse proxy) without trailing slashes, no query, no
// fragment. Errors never echo the address, which may hold a password:
//
//   - ErrEmptyURL for an empty address;
//   - ErrBadURL for one that does not parse, has another scheme, no host, a
//     query or a fragment;
//   - ErrUserInfoInURL for user:pass@ in it;
//   - ErrInsecureURL for http:// (or ws://) to a host that is not loopback,
//     unless allowInsecure says the user chose it explicitly.
func NormalizeServerURL(raw string, allowInsecure bool) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", ErrEmptyURL
	}
	if strings.ContainsFunc(raw, func(r rune) bool { return r < 0x20 || r == 0x7f || r == ' ' }) {
		return "", fmt.Errorf("%w: it contains spaces or control characters", ErrBadURL)
	}
	if !strings.Contains(raw, "://") {
		// "push.example.com" or "push.example.com:8080/x": assume https.
		// A user:pass@ part is still caught below.
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error quotes the whole address: never pass it on. An
		// address with @ in its authority is most likely user:pass@host.
		if scheme, rest, ok := strings.Cut(raw, "://"); ok && scheme != "" {
			auth, _, _ := strings.Cut(rest, "/")
			if strings.Contains(auth, "@") {
				return "", ErrUserInfoInURL
			}
		}
		return "", fmt.Errorf("%w: it does not parse", ErrBadURL)
	}
	if u.User != nil {
		return "", ErrUserInfoInURL
	}
	switch strings.ToLower(u.Scheme) {
	case "https", "wss":
		u.Scheme = "https"
	case "http", "ws":
		u.Scheme = "http"
	default:
		return "", fmt.Errorf("%w: use an https:// address", ErrBadURL)
	}
	if u.Opaque != "" || u.Host == "" || u.Hostname() == "" {
		return "", fmt.Errorf("%w: it has no host name", ErrBadURL)
	}
	if u.RawQuery != "" || u.ForceQuery {
		return "", fmt.Errorf("%w: it must not contain a ?query", ErrBadURL)
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return "", fmt.Errorf("%w: it must not contain a #fragment", ErrBadURL)
	}
	if p := u.Port(); p != "" {
		if n := atoiPort(p); n < 1 || n > 65535 {
			return "", fmt.Errorf("%w: the port is not a number from 1 to 65535", ErrBadURL)
		}
	}
	u.Host = strings.ToLower(u.Host)
	if u.Scheme == "http" && !allowInsecure && !IsLoopback(u.Hostname()) {
		return "", ErrInsecureURL
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u.String(), nil
}

func atoiPort(p string) int {
	if len(p) > 5 {
		return -1
	}
	n := 0
	for _, c := range p {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// IsLoopback reports whether host (a name or an IP, without port) is this
// computer: localhost, *.localhost, 127.0.0.0/8 or ::1.
func IsLoopback(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// hostOf returns the host[:port] of a normalised server URL, for messages.
func hostOf(server string) string {
	u, err := url.Parse(server)
	if err != nil {
		return ""
	}
	return u.Host
}
