//go:build !windows && !darwin

package notifier

func openerArgv(u string) []string { return []string{"xdg-open", u} }
