//go:build windows

// Command keyget prints the token Tidings stored for one account in the
// Windows Credential Manager, through the same go-keyring call the app
// uses. internal/winetest runs it under Wine to check where the token went;
// it is a test tool and never shipped.
package main

import (
	"fmt"
	"os"

	"github.com/zalando/go-keyring"

	"github.com/tidings-app/tidings/account"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: keyget <account key>")
		os.Exit(2)
	}
	tok, err := keyring.Get(account.AppID, os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "keyget:", err)
		os.Exit(1)
	}
	fmt.Print(tok)
}
