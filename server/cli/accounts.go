package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/term"

	"github.com/tidings-app/tidings/server"
	"github.com/tidings-app/tidings/server/store"
)

// Errors of the account commands.
var (
	ErrEmptyPassword    = errors.New("cli: empty password")
	ErrPasswordTooLong  = errors.New("cli: password longer than 72 bytes")
	ErrPasswordMismatch = errors.New("cli: passwords do not match")
)

// bcryptCost is the cost of new password hashes; serve uses it for the
// dummy hash too, so unknown users cost what real ones do. Tests lower it.
var bcryptCost = bcrypt.DefaultCost

type groupList []string

func (g *groupList) String() string     { return strings.Join(*g, ",") }
func (g *groupList) Set(v string) error { *g = append(*g, strings.Split(v, ",")...); return nil }

func runUser(ctx context.Context, args []string, env Env) error {
	sub, args := first(args)
	fs, data := newFlags("user "+sub, env)
	bf := addBackendFlags(fs)
	var groups groupList
	if sub == "add" {
		fs.Var(&groups, "group", "group to join (repeatable, or comma-separated)")
	}
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	want := 1
	if sub == "list" {
		want = 0
	}
	if len(pos) != want {
		return errUsage
	}
	st, _, err := bf.open(ctx, dataDir(*data, env), env, store.Retention{}, env.Logger)
	if err != nil {
		return err
	}
	defer st.Close()
	switch sub {
	case "add", "passwd":
		name := pos[0]
		if !store.ValidName(name) {
			return fmt.Errorf("user name %q: use 1-64 letters, digits, '.', '_', '-' or '@'", name)
		}
		pw, err := readPassword(env)
		if err != nil {
			return err
		}
		hash, err := bcrypt.GenerateFromPassword([]byte(pw.Reveal()), bcryptCost)
		if err != nil {
			return fmt.Errorf("hash password: %w", err)
		}
		if sub == "add" {
			err = st.AddUser(ctx, name, hash, groups)
		} else {
			err = st.SetPassword(ctx, name, hash)
		}
		if err != nil {
			return fmt.Errorf("user %s: %w", name, err)
		}
		fmt.Fprintf(env.Stdout, "user %s: %s\n", name, map[string]string{"add": "added", "passwd": "password changed"}[sub])
	case "del":
		if err := st.DeleteUser(ctx, pos[0]); err != nil {
			return fmt.Errorf("user %s: %w", pos[0], err)
		}
		fmt.Fprintf(env.Stdout, "user %s: deleted\n", pos[0])
	case "list":
		users, err := st.Users(ctx)
		if err != nil {
			return err
		}
		for _, u := range users {
			fmt.Fprintf(env.Stdout, "%s\t%d messages sent\n", u.Name, u.LastID)
		}
	default:
		return errUsage
	}
	return nil
}

// readPassword prompts twice without echo when stdin is a terminal, and
// otherwise reads the first line of stdin.
func readPassword(env Env) (server.Secret, error) {
	var pw string
	if f, ok := env.Stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		read := func(prompt string) (string, error) {
			fmt.Fprint(env.Stderr, prompt)
			b, err := term.ReadPassword(int(f.Fd()))
			fmt.Fprintln(env.Stderr)
			return string(b), err
		}
		p1, err := read("Password: ")
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		p2, err := read("Repeat password: ")
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if p1 != p2 {
			return "", ErrPasswordMismatch
		}
		pw = p1
	} else {
		line, err := bufio.NewReader(env.Stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read password: %w", err)
		}
		pw = strings.TrimRight(line, "\r\n")
	}
	switch {
	case pw == "":
		return "", ErrEmptyPassword
	case len(pw) > 72:
		return "", ErrPasswordTooLong
	}
	return server.Secret(pw), nil
}

func runToken(ctx context.Context, args []string, env Env) error {
	sub, args := first(args)
	fs, data := newFlags("token "+sub, env)
	publisher := fs.String("publisher", "", "publisher name")
	bf := addBackendFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if sub != "add" || len(pos) != 0 || *publisher == "" {
		return errUsage
	}
	if !store.ValidName(*publisher) {
		return fmt.Errorf("publisher name %q: use 1-64 letters, digits, '.', '_', '-' or '@'", *publisher)
	}
	st, _, err := bf.open(ctx, dataDir(*data, env), env, store.Retention{}, env.Logger)
	if err != nil {
		return err
	}
	defer st.Close()
	tok := server.NewToken(server.PublisherPrefix)
	if err := st.AddToken(ctx, store.Token{Hash: server.HashToken(tok), Kind: store.KindPublisher, Name: *publisher}); err != nil {
		return fmt.Errorf("token: %w", err)
	}
	fmt.Fprintln(env.Stdout, tok.Reveal())
	return nil
}

var _ flag.Value = (*groupList)(nil)
