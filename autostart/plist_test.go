package autostart

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"testing"
)

// plistDict decodes the top-level <dict> of a property list into key →
// values (strings of a <string>, the element name of <true/>, the strings
// of an <array>), failing on anything that is not well-formed XML.
func plistDict(t *testing.T, data []byte) map[string][]string {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(string(data)))
	d.Strict = true
	out := map[string][]string{}
	var path []string
	var key, text string
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("plist is not well-formed XML: %v\n%s", err, data)
		}
		switch v := tok.(type) {
		case xml.StartElement:
			path = append(path, v.Name.Local)
			text = ""
			if v.Name.Local == "true" || v.Name.Local == "false" {
				out[key] = append(out[key], v.Name.Local)
			}
		case xml.CharData:
			text += string(v)
		case xml.EndElement:
			p := strings.Join(path, "/")
			switch p {
			case "plist/dict/key":
				key = text
			case "plist/dict/string", "plist/dict/array/string":
				out[key] = append(out[key], text)
			}
			path = path[:len(path)-1]
		}
	}
	if len(path) != 0 {
		t.Fatalf("unclosed elements %v", path)
	}
	return out
}

func TestLaunchAgentPlistParsesWithTheRightKeys(t *testing.T) {
	exe := `/Users/jo & "co" <dev>/Applications/Tidings.app/Contents/MacOS/tidings`
	args := []string{"--hidden", "it's <b>&amp;"}
	data := testApp.LaunchAgentPlist(exe, args)
	got := plistDict(t, data)
	want := map[string][]string{
		"Label":            {testApp.ID},
		"ProgramArguments": append([]string{exe}, args...),
		"RunAtLoad":        {"true"},
		"ProcessType":      {"Interactive"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("plist decodes to\n%q\nwant\n%q\n%s", got, want, data)
	}
	if !strings.Contains(string(data), `<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN"`) {
		t.Errorf("plist lacks the Apple DOCTYPE:\n%s", data)
	}
}
