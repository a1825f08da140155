// Package cli is the command line of tidings-server: serve, user, token and
// send. main only wires it to the process; tests run subcommands in-process
// with their own arguments, stdin and stdout.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// Env is what a command sees of its process.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// OnListen, when set, is called with the address serve listens on.
	OnListen func(net.Addr)
	// Logger overrides serve's logger (text on Stderr).
	Logger *slog.Logger
}

// Environment variables.
const (
	EnvData   = "TIDINGS_DATA"
	EnvAddr   = "TIDINGS_ADDR"
	EnvServer = "TIDINGS_SERVER"
	EnvToken  = "TIDINGS_TOKEN"
)

// errUsage makes Run print the usage and exit 2.
var errUsage = errors.New("cli: usage")

const usage = `usage: tidings-server COMMAND [flags]

  serve [--addr HOST:PORT] [--tls-cert FILE --tls-key FILE] [--verbose]
  user add NAME [--group G]...     password from stdin, or prompted on a terminal
  user del NAME
  user passwd NAME
  user list
  token add --publisher NAME       prints the new publisher token once
  send --server URL --token TOKEN (--to USER | --group G | --all)
       [--priority 1-5] [--url URL] [--topic T] [--markdown] [TITLE] BODY

Every command takes --data DIR (default: $TIDINGS_DATA, else the user data dir).
serve, user and token take the backend flags:
  --backend embedded|nats          default embedded (SQLite in --data)
  --nats URL[,URL…]                NATS JetStream shared by several instances
  --nats-creds FILE  --nats-tls-ca FILE (repeatable)  --nats-tls-cert F --nats-tls-key F
  --nats-replicas N                stream/bucket replicas (3 on a 3-node cluster)
Env: TIDINGS_DATA, TIDINGS_ADDR (serve), TIDINGS_SERVER, TIDINGS_TOKEN (send),
     TIDINGS_BACKEND, TIDINGS_NATS, TIDINGS_NATS_CREDS.
`

// Run runs one command and returns the process exit code.
func Run(ctx context.Context, args []string, env Env) int {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	if env.Stdin == nil {
		env.Stdin = strings.NewReader("")
	}
	var err error
	switch cmd, rest := first(args); cmd {
	case "serve":
		err = runServe(ctx, rest, env)
	case "user":
		err = runUser(ctx, rest, env)
	case "token":
		err = runToken(ctx, rest, env)
	case "send":
		err = runSend(ctx, rest, env)
	case "help", "-h", "--help":
		fmt.Fprint(env.Stdout, usage)
		return 0
	default:
		err = errUsage
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage), errors.Is(err, flag.ErrHelp):
		fmt.Fprint(env.Stderr, usage)
		return 2
	default:
		fmt.Fprintln(env.Stderr, "tidings-server:", err)
		return 1
	}
}

func first(args []string) (string, []string) {
	if len(args) == 0 {
		return "", nil
	}
	return args[0], args[1:]
}

// newFlags is a flag set with the --data flag every command takes.
func newFlags(name string, env Env) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	data := fs.String("data", "", "data directory")
	return fs, data
}

// parse parses flags and positional arguments in any order.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// dataDir resolves --data, then TIDINGS_DATA, then the per-OS default.
func dataDir(flagValue string, env Env) string {
	if flagValue != "" {
		return flagValue
	}
	if v := env.Getenv(EnvData); v != "" {
		return v
	}
	return DefaultDataDir(env.Getenv)
}

// DefaultDataDir is the per-OS user data directory + /tidings-server:
// %LocalAppData% on Windows, ~/Library/Application Support on macOS,
// $XDG_DATA_HOME or ~/.local/share elsewhere.
func DefaultDataDir(getenv func(string) string) string {
	home := getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	var base string
	switch runtime.GOOS {
	case "windows":
		base = getenv("LocalAppData")
		if base == "" {
			base = filepath.Join(home, "AppData", "Local")
		}
	case "darwin":
		base = filepath.Join(home, "Library", "Application Support")
	default:
		base = getenv("XDG_DATA_HOME")
		if base == "" || !filepath.IsAbs(base) {
			base = filepath.Join(home, ".local", "share")
		}
	}
	return filepath.Join(base, "tidings-server")
}

func orEnv(v string, env Env, name string) string {
	if v != "" {
		return v
	}
	return env.Getenv(name)
}
