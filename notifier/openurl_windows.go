package notifier

// rundll32 hands the URL to the registered protocol handler; unlike
// "cmd /c start" no shell parses it.
func openerArgv(u string) []string { return []string{"rundll32", "url.dll,FileProtocolHandler", u} }
