package account

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"

	"github.com/tidings-app/tidings/internal/atomicfile"
)

// ConfigVersion is the schema version this code writes.
const ConfigVersion = 1

// Config is the non-secret settings file: accounts and options. It never
// holds a token or a password (Secret fields would encode as "REDACTED"
// anyway; there are none).
type Config struct {
	Version  int       `json:"version"`
	Accounts []Account `json:"accounts"`
	// Resume is the key of the account to connect at start: the one the
	// user logged in to last. Logging out of it empties it, and then
	// nothing is resumed. A file written before this field existed resumes
	// its last account (the most recently added).
	Resume string `json:"resume"`
	// Options are other components' settings (notifications, history…),
	// string-valued so this package need not know them.
	Options map[string]string `json:"options,omitempty"`
}

// Account is one configured server account.
type Account struct {
	Server   string   `json:"server"` // as NormalizeServerURL returns it
	Protocol Protocol `json:"protocol"`
	Username string   `json:"username,omitempty"` // empty for a pasted token
	Topics   []string `json:"topics,omitempty"`   // ntfy topics to subscribe to
	CAFile   string   `json:"ca_file,omitempty"`  // extra trusted CA, PEM
	// AllowInsecure records the user's explicit choice of http:// to a
	// host that is not this computer.
	AllowInsecure bool `json:"allow_insecure,omitempty"`
	// RevokeID is the revocation handle of the login (Gotify client id).
	RevokeID string `json:"revoke_id,omitempty"`
}

// Key is the account's keyring user name.
func (a Account) Key() string { return AccountKey(a.Username, a.Server) }

// ntfyTopic is ntfy's topic syntax.
var ntfyTopic = regexp.MustCompile(`^[-_A-Za-z0-9]{1,64}$`)

// Validate checks an account as the settings file may hold it.
func (a Account) Validate() error {
	if !a.Protocol.Valid() {
		return fmt.Errorf("%w %q", ErrBadProtocol, truncate(string(a.Protocol), 20))
	}
	norm, err := NormalizeServerURL(a.Server, a.AllowInsecure)
	if err != nil {
		return err
	}
	if norm != a.Server {
		return fmt.Errorf("%w: the server address is not in canonical form", ErrBadURL)
	}
	for _, t := range a.Topics {
		if !ntfyTopic.MatchString(t) {
			return &TopicError{Topic: truncate(t, 64), Err: ErrBadTopic}
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// DefaultConfig is the configuration of a first start.
func DefaultConfig() Config { return Config{Version: ConfigVersion, Accounts: []Account{}} }

// Find returns the account with the given key.
func (c *Config) Find(key string) (Account, bool) {
	for _, a := range c.Accounts {
		if a.Key() == key {
			return a, true
		}
	}
	return Account{}, false
}

// Resumable is the account to connect at start, if any: the one the user
// logged in to last and has not logged out of.
func (c *Config) Resumable() (Account, bool) {
	if c.Resume == "" {
		return Account{}, false
	}
	return c.Find(c.Resume)
}

// Latest is the account to prefill the login form with: the resumable one,
// else the one added last.
func (c *Config) Latest() (Account, bool) {
	if a, ok := c.Resumable(); ok {
		return a, true
	}
	if len(c.Accounts) == 0 {
		return Account{}, false
	}
	return c.Accounts[len(c.Accounts)-1], true
}

// Upsert adds a, or replaces the account with the same key.
func (c *Config) Upsert(a Account) {
	for i := range c.Accounts {
		if c.Accounts[i].Key() == a.Key() {
			c.Accounts[i] = a
			return
		}
	}
	c.Accounts = append(c.Accounts, a)
}

// Remove deletes the account with the given key; it reports whether it was there.
func (c *Config) Remove(key string) bool {
	n := len(c.Accounts)
	c.Accounts = slices.DeleteFunc(c.Accounts, func(a Account) bool { return a.Key() == key })
	return len(c.Accounts) != n
}

// DefaultConfigPath is os.UserConfigDir()/tidings/config.json.
func DefaultConfigPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "tidings", "config.json"), nil
}

// migrations[v] turns a version-v document into a version-v+1 one.
var migrations = map[int]func(doc map[string]json.RawMessage) error{
	0: migrateV0,
}

// migrateV0: the unversioned draft format had one flat account
// {"server","protocol","username"}.
func migrateV0(doc map[string]json.RawMessage) error {
	if _, ok := doc["accounts"]; !ok {
		var a Account
		if raw, ok := doc["server"]; ok {
			if err := json.Unmarshal(raw, &a.Server); err != nil {
				return err
			}
			_ = json.Unmarshal(doc["protocol"], &a.Protocol)
			_ = json.Unmarshal(doc["username"], &a.Username)
			if a.Protocol == "" {
				a.Protocol = Native
			}
			b, _ := json.Marshal([]Account{a})
			doc["accounts"] = b
		}
	}
	for _, k := range []string{"server", "protocol", "username"} {
		delete(doc, k)
	}
	return nil
}

// DecodeConfig parses and migrates a settings file. On any error it
// returns DefaultConfig and an error wrapping ErrBadConfig (or
// ErrConfigTooNew); the error never quotes the file's content.
func DecodeConfig(data []byte) (Config, error) {
	cfg, err := decodeConfig(data)
	if err != nil {
		return DefaultConfig(), err
	}
	return cfg, nil
}

func decodeConfig(data []byte) (Config, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil || doc == nil {
		return Config{}, fmt.Errorf("%w: %s", ErrBadConfig, describeJSON(err))
	}
	version := 0
	if raw, ok := doc["version"]; ok {
		if err := json.Unmarshal(raw, &version); err != nil || version < 0 {
			return Config{}, fmt.Errorf("%w: the version is not a whole number", ErrBadConfig)
		}
	}
	if version > ConfigVersion {
		return Config{}, fmt.Errorf("%w (version %d, this Tidings reads up to %d)", ErrConfigTooNew, version, ConfigVersion)
	}
	for v := version; v < ConfigVersion; v++ {
		if err := migrations[v](doc); err != nil {
			return Config{}, fmt.Errorf("%w: cannot migrate from version %d: %s", ErrBadConfig, v, describeJSON(err))
		}
	}
	doc["version"] = json.RawMessage(fmt.Sprint(ConfigVersion))
	b, err := json.Marshal(doc)
	if err != nil {
		return Config{}, fmt.Errorf("%w: %s", ErrBadConfig, describeJSON(err))
	}
	var cfg Config
	if err := json.Unmarshal(b, &cfg); err != nil {
		return Config{}, fmt.Errorf("%w: %s", ErrBadConfig, describeJSON(err))
	}
	if cfg.Accounts == nil {
		cfg.Accounts = []Account{}
	}
	if _, ok := doc["resume"]; !ok && len(cfg.Accounts) > 0 {
		cfg.Resume = cfg.Accounts[len(cfg.Accounts)-1].Key()
	}
	seen := map[string]bool{}
	for i, a := range cfg.Accounts {
		if err := a.Validate(); err != nil {
			return Config{}, fmt.Errorf("%w: account %d: %w", ErrBadConfig, i+1, err)
		}
		if seen[a.Key()] {
			return Config{}, fmt.Errorf("%w: account %d is listed twice", ErrBadConfig, i+1)
		}
		seen[a.Key()] = true
	}
	return cfg, nil
}

// describeJSON names a JSON error without echoing content.
func describeJSON(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case err == nil:
		return "not a JSON object"
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q has the wrong type", truncate(typ.Field, 40))
	}
	return "invalid JSON"
}

// LoadConfig reads the settings file at path. A missing file gives
// DefaultConfig and no error; an unreadable, corrupt or too new one gives
// DefaultConfig and an error for the user (Explain), never a panic. The bad
// file is left in place; SaveConfig moves it aside before writing.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return DefaultConfig(), nil
	}
	if err != nil {
		return DefaultConfig(), fmt.Errorf("%w: %w", ErrBadConfig, err)
	}
	return DecodeConfig(data)
}

// SaveConfig writes cfg to path atomically: a temporary file in the same
// directory, fsync, rename over the old file, fsync of the directory. The
// directory is created 0700 and the file is 0600. An existing file that does
// not decode is first renamed to path+".bad", so nothing the user had is
// lost.
func SaveConfig(path string, cfg Config) error {
	cfg.Version = ConfigVersion
	if cfg.Accounts == nil {
		cfg.Accounts = []Account{}
	}
	for i, a := range cfg.Accounts {
		if err := a.Validate(); err != nil {
			return fmt.Errorf("account: not saving account %d: %w", i+1, err)
		}
	}
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return fmt.Errorf("account: encode settings: %w", err)
	}
	data = append(data, '\n')
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("account: create settings directory: %w", err)
	}
	if old, err := os.ReadFile(path); err == nil && !bytes.Equal(old, data) {
		// Corrupt, or written by a newer Tidings: keep it for the user.
		if _, err := DecodeConfig(old); err != nil {
			if err := os.Rename(path, path+".bad"); err != nil {
				return fmt.Errorf("account: keep the unreadable settings file: %w", err)
			}
		}
	}
	return atomicfile.Write(path, data, 0o600)
}
