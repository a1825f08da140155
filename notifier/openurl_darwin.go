package notifier

func openerArgv(u string) []string { return []string{"open", u} }
