package autostart

import (
	"bytes"
	"encoding/xml"
)

// LaunchAgentPlist returns the property list of a macOS LaunchAgent that
// runs exe with args at login: Label, ProgramArguments, RunAtLoad and
// ProcessType Interactive (a GUI app; launchd does not throttle it). Every
// string goes through encoding/xml escaping, so a path with &, < or quotes
// stays one well-formed <string>.
func (a App) LaunchAgentPlist(exe string, args []string) []byte {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	b.WriteString(`<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">` + "\n")
	b.WriteString("<plist version=\"1.0\">\n<dict>\n")
	key := func(k string) { b.WriteString("\t<key>" + k + "</key>\n") }
	str := func(indent, s string) {
		b.WriteString(indent + "<string>")
		_ = xml.EscapeText(&b, []byte(s)) // writes to a bytes.Buffer: cannot fail
		b.WriteString("</string>\n")
	}
	key("Label")
	str("\t", a.ID)
	key("ProgramArguments")
	b.WriteString("\t<array>\n")
	str("\t\t", exe)
	for _, arg := range args {
		str("\t\t", arg)
	}
	b.WriteString("\t</array>\n")
	key("RunAtLoad")
	b.WriteString("\t<true/>\n")
	key("ProcessType")
	str("\t", "Interactive")
	b.WriteString("</dict>\n</plist>\n")
	return b.Bytes()
}
