package autostart

import (
	"strings"
)

// execReserved are the characters the Desktop Entry Specification says
// force an argument of Exec= to be quoted.
const execReserved = " \t\n\"'\\><~|&;$*?#()`"

// QuoteExecArg quotes one argument for the Exec= key of a desktop entry,
// following the Desktop Entry Specification ("The Exec key"):
//
//   - an argument with a reserved character (space, quotes, backslash, $,
//     `, …) is put in double quotes, inside which ", `, $ and \ are
//     preceded by a backslash;
//   - % starts a field code, so a literal % is written %%;
//   - Exec= is a string value, whose own escape rule (\\ for a backslash)
//     applies before the quoting rule, so every backslash written by the
//     quoting step is doubled again: a literal \ in a path ends up as \\\\.
//
// An empty argument is written "".
func QuoteExecArg(s string) string {
	s = strings.ReplaceAll(s, "%", "%%")
	if s != "" && !strings.ContainsAny(s, execReserved) {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '`', '$':
			b.WriteString(`\\`) // quoting backslash, itself escaped for the string value
			b.WriteRune(r)
		case '\\':
			b.WriteString(`\\\\`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// ExecLine builds the value of Exec= for a program and its arguments.
//
// GLib (GNOME's session) looks the program up before it expands %%, so a
// program path containing % would not be found: such a path is started
// through /usr/bin/env, which GLib finds, and which then gets the path
// with %% already turned back into %.
func ExecLine(exe string, args []string) string {
	parts := make([]string, 0, 2+len(args))
	if strings.Contains(exe, "%") {
		parts = append(parts, "/usr/bin/env")
	}
	parts = append(parts, QuoteExecArg(exe))
	for _, a := range args {
		parts = append(parts, QuoteExecArg(a))
	}
	return strings.Join(parts, " ")
}

// escapeString applies the Desktop Entry escape rules for string values
// (\\ for a backslash); checkArgs already refused control characters.
func escapeString(s string) string {
	return strings.ReplaceAll(s, `\`, `\\`)
}

// DesktopEntry returns the content of the XDG autostart file for the app:
// Type=Application, the Exec line, TryExec (so the entry goes quiet if the
// program is uninstalled) and the GNOME/KDE enable keys.
func (a App) DesktopEntry(exe string, args []string) string {
	var b strings.Builder
	line := func(k, v string) { b.WriteString(k + "=" + v + "\n") }
	b.WriteString("[Desktop Entry]\n")
	line("Type", "Application")
	line("Version", "1.0")
	line("Name", escapeString(a.name()))
	if a.Comment != "" {
		line("Comment", escapeString(a.Comment))
	}
	line("Icon", a.ID)
	line("TryExec", escapeString(exe))
	line("Exec", ExecLine(exe, args))
	line("Terminal", "false")
	line("NoDisplay", "true")
	line("X-GNOME-Autostart-enabled", "true")
	line("X-KDE-autostart-after", "panel")
	return b.String()
}

// parseDesktopEntry reads the keys of the [Desktop Entry] group; enough
// to tell whether an autostart file is active.
func parseDesktopEntry(content string) map[string]string {
	keys := map[string]string{}
	inGroup := false
	for _, l := range strings.Split(content, "\n") {
		l = strings.TrimSpace(l)
		switch {
		case l == "" || strings.HasPrefix(l, "#"):
		case strings.HasPrefix(l, "["):
			inGroup = l == "[Desktop Entry]"
		case inGroup:
			if k, v, ok := strings.Cut(l, "="); ok {
				keys[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
		}
	}
	return keys
}

// entryActive applies the XDG autostart rules: Hidden=true means deleted,
// and GNOME's X-GNOME-Autostart-enabled=false switches it off.
func entryActive(content string) bool {
	k := parseDesktopEntry(content)
	return k["Hidden"] != "true" && k["X-GNOME-Autostart-enabled"] != "false"
}
