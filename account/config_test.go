package account

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tidings-app/tidings/internal/testkit"
)

func sampleConfig() Config {
	return Config{Version: ConfigVersion, Accounts: []Account{
		{Server: "https://push.example.com", Protocol: Native, Username: "alice"},
		{Server: "https://gotify.example.com/g", Protocol: Gotify, Username: "alice", RevokeID: "7", CAFile: "/etc/ca.pem"},
		{Server: "http://192.168.1.5:8080", Protocol: Ntfy, Username: "bob", Topics: []string{"backup", "ci_builds"}, AllowInsecure: true},
	}, Options: map[string]string{"history.keep_days": "30"}}
}

func TestSettingsRoundTripThroughAnAtomicallyWrittenPrivateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tidings", "config.json")
	want := sampleConfig()
	if err := SaveConfig(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	st, err := os.Stat(path)
	if err != nil || testkit.ModeBits && st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v", st.Mode(), err)
	}
	if st, _ := os.Stat(filepath.Dir(path)); testkit.ModeBits && st.Mode().Perm() != 0o700 {
		t.Fatalf("dir mode %v", st.Mode())
	}
	// Save again over it: no temporary files left behind.
	want.Accounts = want.Accounts[:1]
	if err := SaveConfig(path, want); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries, want only config.json", len(entries))
	}
}

func TestAMissingSettingsFileGivesTheDefaults(t *testing.T) {
	got, err := LoadConfig(filepath.Join(t.TempDir(), "nope.json"))
	if err != nil || !reflect.DeepEqual(got, DefaultConfig()) {
		t.Fatalf("%+v %v", got, err)
	}
}

func TestACorruptSettingsFileGivesDefaultsAClearErrorAndIsKeptWhenSavingOverIt(t *testing.T) {
	cases := map[string]struct {
		content string
		want    error
	}{
		"truncated":       {`{"version":1,"accounts":[{"server":"https://a.example"`, ErrBadConfig},
		"not an object":   {`[1,2]`, ErrBadConfig},
		"null":            {`null`, ErrBadConfig},
		"binary":          {"\x00\x01\xff", ErrBadConfig},
		"bad version":     {`{"version":"one"}`, ErrBadConfig},
		"wrong type":      {`{"version":1,"accounts":{"server":1}}`, ErrBadConfig},
		"bad protocol":    {`{"version":1,"accounts":[{"server":"https://a.example","protocol":"irc"}]}`, ErrBadProtocol},
		"password in URL": {`{"version":1,"accounts":[{"server":"https://alice:hunter2@a.example","protocol":"ntfy"}]}`, ErrUserInfoInURL},
		"insecure":        {`{"version":1,"accounts":[{"server":"http://a.example","protocol":"ntfy"}]}`, ErrInsecureURL},
		"bad topic":       {`{"version":1,"accounts":[{"server":"https://a.example","protocol":"ntfy","topics":["a/b"]}]}`, ErrBadConfig},
		"duplicate":       {`{"version":1,"accounts":[{"server":"https://a.example","protocol":"ntfy"},{"server":"https://a.example","protocol":"ntfy"}]}`, ErrBadConfig},
		"from the future": {`{"version":99,"accounts":[]}`, ErrConfigTooNew},
		"not canonical":   {`{"version":1,"accounts":[{"server":"https://a.example/","protocol":"ntfy"}]}`, ErrBadURL},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.json")
			if err := os.WriteFile(path, []byte(c.content), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := LoadConfig(path)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if !errors.Is(err, ErrBadConfig) && !errors.Is(err, ErrConfigTooNew) {
				t.Fatalf("err = %v does not say the settings are bad", err)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("error echoes the file: %v", err)
			}
			if !reflect.DeepEqual(got, DefaultConfig()) {
				t.Fatalf("got %+v, want defaults", got)
			}
			if Explain(err) == "" || strings.Contains(Explain(err), "Something went wrong") {
				t.Fatalf("Explain = %q", Explain(err))
			}
			if err := SaveConfig(path, sampleConfig()); err != nil {
				t.Fatal(err)
			}
			kept, err := os.ReadFile(path + ".bad")
			if err != nil || string(kept) != c.content {
				t.Fatalf("the old file was not kept: %v", err)
			}
		})
	}
}

func TestAnUnversionedDraftFileIsMigrated(t *testing.T) {
	cfg, err := DecodeConfig([]byte(`{"server":"https://push.example.com","protocol":"gotify","username":"alice","options":{"a":"b"}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Version: 1, Accounts: []Account{{Server: "https://push.example.com", Protocol: Gotify, Username: "alice"}}, Options: map[string]string{"a": "b"}}
	want.Resume = want.Accounts[0].Key() // its one account is resumed, as before
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("got %+v", cfg)
	}
	if cfg, err := DecodeConfig([]byte(`{}`)); err != nil || len(cfg.Accounts) != 0 || cfg.Version != 1 {
		t.Fatalf("empty object: %+v %v", cfg, err)
	}
}

func TestSavingRefusesAnInvalidAccountAndLeavesTheFileAlone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	if err := SaveConfig(path, sampleConfig()); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	bad := sampleConfig()
	bad.Accounts[0].Server = "http://remote.example"
	if err := SaveConfig(path, bad); !errors.Is(err, ErrInsecureURL) {
		t.Fatalf("err = %v", err)
	}
	after, _ := os.ReadFile(path)
	if string(before) != string(after) {
		t.Fatal("the file changed")
	}
}

func TestConfigHelpersFindUpsertAndRemoveByKey(t *testing.T) {
	c := sampleConfig()
	a := c.Accounts[1]
	a.RevokeID = "8"
	c.Upsert(a)
	if got, ok := c.Find(a.Key()); !ok || got.RevokeID != "8" || len(c.Accounts) != 3 {
		t.Fatal("upsert did not replace")
	}
	if !c.Remove(a.Key()) || c.Remove(a.Key()) || len(c.Accounts) != 2 {
		t.Fatal("remove")
	}
}

func FuzzDecodeConfig(f *testing.F) {
	b, _ := json.Marshal(sampleConfig())
	f.Add(b)
	f.Add([]byte(`{"server":"https://a.example","protocol":"ntfy"}`))
	f.Add([]byte(`{"version":0}`))
	f.Add([]byte(`{"version":1,"accounts":[{"server":"http://[::1]:1","protocol":"tidings","topics":["x"]}]}`))
	f.Add([]byte(`{"version":-1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := DecodeConfig(data)
		if err != nil {
			if !reflect.DeepEqual(cfg, DefaultConfig()) {
				t.Fatalf("error %v without defaults", err)
			}
			if !errors.Is(err, ErrBadConfig) && !errors.Is(err, ErrConfigTooNew) {
				t.Fatalf("error %v is not a settings error", err)
			}
			return
		}
		// What decodes, saves and decodes to the same thing.
		out, err := json.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		again, err := DecodeConfig(out)
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if !reflect.DeepEqual(normalizeNil(again), normalizeNil(cfg)) {
			t.Fatalf("round trip changed it:\n%+v\n%+v", cfg, again)
		}
	})
}

func normalizeNil(c Config) Config {
	if len(c.Options) == 0 {
		c.Options = nil
	}
	for i := range c.Accounts {
		if len(c.Accounts[i].Topics) == 0 {
			c.Accounts[i].Topics = nil
		}
	}
	return c
}

func TestTheResumeAccountFollowsLoginsAndAFileWithoutItResumesItsLastAccount(t *testing.T) {
	a := Account{Server: "https://a.example", Protocol: Native, Username: "anna"}
	for _, tc := range []struct {
		name, file string
		want       string // username resumed, "" for none
		latest     string
	}{
		{"a version 1 file from before the field resumes its last account",
			`{"version":1,"accounts":[{"server":"https://a.example","protocol":"tidings","username":"anna"},{"server":"https://b.example","protocol":"gotify","username":"bert"}]}`, "bert", "bert"},
		{"an empty resume means logged out",
			`{"version":1,"resume":"","accounts":[{"server":"https://a.example","protocol":"tidings","username":"anna"}]}`, "", "anna"},
		{"resume names the account",
			`{"version":1,"resume":"` + a.Key() + `","accounts":[{"server":"https://a.example","protocol":"tidings","username":"anna"},{"server":"https://b.example","protocol":"gotify","username":"bert"}]}`, "anna", "anna"},
		{"a resume naming no account resumes none",
			`{"version":1,"resume":"nobody@x","accounts":[{"server":"https://a.example","protocol":"tidings","username":"anna"}]}`, "", "anna"},
		{"no accounts", `{"version":1,"accounts":[]}`, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := DecodeConfig([]byte(tc.file))
			if err != nil {
				t.Fatal(err)
			}
			got, ok := cfg.Resumable()
			if ok != (tc.want != "") || got.Username != tc.want {
				t.Fatalf("Resumable = %q %v, want %q", got.Username, ok, tc.want)
			}
			if l, _ := cfg.Latest(); l.Username != tc.latest {
				t.Fatalf("Latest = %q, want %q", l.Username, tc.latest)
			}
		})
	}
}
