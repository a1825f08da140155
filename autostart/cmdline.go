package autostart

import "strings"

// WindowsCommandLine joins a program and its arguments into one command
// line that CommandLineToArgvW (and so the Go runtime's os.Args on
// Windows) splits back into the same strings: arguments with spaces, tabs
// or quotes are double-quoted, quotes are backslash-escaped and backslashes
// are doubled only where they precede a quote. The program path is always
// quoted, as the Run key needs for paths under "Program Files".
func WindowsCommandLine(exe string, args []string) string {
	parts := make([]string, 0, 1+len(args))
	parts = append(parts, `"`+exe+`"`) // a path cannot contain a quote on Windows
	for _, a := range args {
		parts = append(parts, windowsQuoteArg(a))
	}
	return strings.Join(parts, " ")
}

func windowsQuoteArg(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\"") {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	slashes := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\':
			slashes++
		case '"':
			b.WriteString(strings.Repeat(`\`, slashes+1))
			slashes = 0
		default:
			slashes = 0
		}
		b.WriteByte(c)
	}
	b.WriteString(strings.Repeat(`\`, slashes)) // before the closing quote
	b.WriteByte('"')
	return b.String()
}

// approvalDisabled reads a StartupApproved value: Task Manager writes
// 02 00 … for an enabled entry and 03 00 … (plus a timestamp) for one the
// user disabled; an odd first byte means disabled.
func approvalDisabled(v []byte) bool {
	return len(v) > 0 && v[0]&1 == 1
}
