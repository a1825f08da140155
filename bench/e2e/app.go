//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/tidings-app/tidings/account"
	"github.com/tidings-app/tidings/internal/desktoptest"
	"github.com/tidings-app/tidings/internal/servertest"
)

// proc is a program the harness started in the private desktop.
type proc struct {
	cmd     *exec.Cmd
	started time.Time
	log     string
	done    chan struct{}
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// output is what the program printed so far.
func (p *proc) output() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

// exited says whether the program has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop ends the program: SIGTERM to its group, SIGKILL after 5 s.
func (p *proc) stop() {
	if p.exited() {
		return
	}
	_ = syscall.Kill(-p.pid(), syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-p.pid(), syscall.SIGKILL)
		<-p.done
	}
}

// start runs a program in the desktop (the harness adopted its environment)
// in its own process group; it is stopped when t ends.
func start(t *tb, logDir, path string, args ...string) *proc {
	cmd := exec.Command(path, args...)
	cmd.Env = os.Environ()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	logf, err := os.CreateTemp(logDir, filepath.Base(path)+"-*.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	p := &proc{cmd: cmd, log: logf.Name(), done: make(chan struct{})}
	p.started = time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logf.Close()
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(p.stop)
	return p
}

// appDirs are one tidings instance's account file and history directory.
type appDirs struct{ config, data string }

func (d appDirs) args() []string {
	return []string{"--hidden", "--config", d.config, "--data", d.data}
}

func (d appDirs) historyPath() string { return filepath.Join(d.data, "history.db") }

// seedAccount logs user in once with the account package, as the login
// window would: the token goes to the private keyring, the account to the
// config file the app is then started with.
func seedAccount(t *tb, root string, srv *servertest.Server, user, password string) appDirs {
	d := appDirs{config: filepath.Join(root, "config", "config.json"), data: filepath.Join(root, "data")}
	mgr, err := account.NewManager(account.ManagerConfig{ConfigPath: d.config})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := mgr.Login(ctx, account.LoginInput{Server: srv.URL, Protocol: account.Native,
		Username: user, Password: account.NewSecret(password)}); err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	return d
}

// errTimeout: a wait ran out.
var errTimeout = errors.New("bench: timed out")

// waitTrayItem waits for a tray item of process pid whose menu has an entry
// containing text ("" = any non-empty menu) and returns it with the time it
// was first seen so.
func waitTrayItem(tray *desktoptest.TrayWatcher, pid int, text string, within time.Duration) (*desktoptest.TrayItem, time.Time, error) {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		changed := tray.Changed()
		for _, it := range tray.Items() {
			if p, err := it.PID(); err != nil || int(p) != pid {
				continue
			}
			menu, err := it.Menu()
			if err != nil || len(menu) == 0 {
				continue
			}
			if _, ok := desktoptest.Find(menu, text); ok || text == "" {
				return it, time.Now(), nil
			}
		}
		select {
		case <-changed:
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil, time.Time{}, fmt.Errorf("%w: no tray item of pid %d with %q within %v", errTimeout, pid, text, within)
}

// waitConnected waits until the app's tray menu says it is connected.
func waitConnected(t *tb, tray *desktoptest.TrayWatcher, app *proc, srv *servertest.Server, within time.Duration) time.Time {
	_, at, err := waitTrayItem(tray, app.pid(), "Connected to "+srv.Addr, within)
	if err != nil {
		t.Fatalf("%v; app output:\n%s", err, tail(app.output(), 2000))
	}
	return at
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return strings.TrimSpace(s)
}
