package autostart

import (
	"strings"
	"testing"
)

// commandLineToArgv is an independent implementation of the rules of
// CommandLineToArgvW for the arguments after the program name.
func commandLineToArgv(s string) []string {
	var args []string
	var cur strings.Builder
	inArg, quoted := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			n := 0
			for i < len(s) && s[i] == '\\' {
				n++
				i++
			}
			if i < len(s) && s[i] == '"' {
				cur.WriteString(strings.Repeat(`\`, n/2))
				if n%2 == 1 {
					cur.WriteByte('"')
				} else {
					quoted = !quoted
				}
			} else {
				cur.WriteString(strings.Repeat(`\`, n))
				i--
			}
			inArg = true
		case c == '"':
			quoted = !quoted
			inArg = true
		case (c == ' ' || c == '\t') && !quoted:
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		default:
			cur.WriteByte(c)
			inArg = true
		}
	}
	if inArg {
		args = append(args, cur.String())
	}
	return args
}

func TestWindowsCommandLineSplitsBackIntoTheSameArguments(t *testing.T) {
	exe := `C:\Program Files\Tidings\tidings.exe`
	for _, args := range [][]string{
		{"--hidden"},
		{"--hidden", "a b", ""},
		{`say "hi"`, `trailing\`, `trail space\ `, `\\server\share`, `a\\"b`},
	} {
		line := WindowsCommandLine(exe, args)
		if !strings.HasPrefix(line, `"`+exe+`" `) {
			t.Errorf("program path not quoted first: %s", line)
		}
		got := commandLineToArgv(strings.TrimPrefix(line, `"`+exe+`" `))
		if strings.Join(got, "\x00") != strings.Join(args, "\x00") {
			t.Errorf("%s\n read back %q\n want %q", line, got, args)
		}
	}
	if got := WindowsCommandLine(exe, []string{"--hidden"}); got != `"C:\Program Files\Tidings\tidings.exe" --hidden` {
		t.Errorf("got %s", got)
	}
}

func TestTaskManagerApprovalValuesAreRead(t *testing.T) {
	for _, tc := range []struct {
		v        []byte
		disabled bool
	}{
		{nil, false},
		{[]byte{2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, false},
		{[]byte{3, 0, 0, 0, 0x10, 0x20, 0x30, 0x40, 0, 0, 0, 0}, true},
		{[]byte{6, 0}, false},
		{[]byte{7, 0}, true},
	} {
		if got := approvalDisabled(tc.v); got != tc.disabled {
			t.Errorf("approvalDisabled(% x) = %v, want %v", tc.v, got, tc.disabled)
		}
	}
}

func TestWindowsAbsolutePathsAreRecognisedOnAnyOS(t *testing.T) {
	for p, want := range map[string]bool{
		`C:\Program Files\x.exe`: true, `d:/x.exe`: true, `\\srv\share\x.exe`: true,
		`x.exe`: false, `C:x.exe`: false, `1:\x`: false,
	} {
		if got := isWindowsAbs(p); got != want {
			t.Errorf("isWindowsAbs(%q) = %v", p, got)
		}
	}
}
