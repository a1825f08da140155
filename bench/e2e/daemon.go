//go:build linux

package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/tidings-app/tidings/internal/desktoptest"
)

// endpoint is where a latency measurement ends: Notify calls with the time
// they reached the notification server.
type endpoint interface {
	Len() int
	Changed() <-chan struct{}
	All() []desktoptest.Notification
}

// daemonEnd is a real notification daemon (dunst, in C, drawing on the
// Xvfb display) with dbus-monitor watching the session bus: each Notify
// method call is timestamped by dbus-monitor as the bus hands it over.
// The harness's own recorder (godbus) is not the end point here: godbus
// decodes through reflection and costs more than the path it would time
// (a 16 KiB image-data hint took ~10 ms a message).
type daemonEnd struct {
	mu     sync.Mutex
	got    []desktoptest.Notification
	signal chan struct{}
}

func (d *daemonEnd) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.got)
}

func (d *daemonEnd) Changed() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.signal
}

func (d *daemonEnd) All() []desktoptest.Notification {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]desktoptest.Notification(nil), d.got...)
}

// startDaemon runs dunst and dbus-monitor in the desktop until t ends.
func startDaemon(t *tb, logDir string) *daemonEnd {
	env := desktoptest.Require(t)
	for _, tool := range []string{"dunst", "dbus-monitor"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed: run scripts/deps", tool)
		}
	}
	conf := filepath.Join(t.TempDir(), "dunstrc")
	// an empty format: dunst takes each Notify, answers it and draws
	// nothing (drawing on Xvfb at 100 popups/s is not what is measured);
	// no history kept, short timeouts
	if err := os.WriteFile(conf, []byte("[global]\n    format = \"\"\n    notification_limit = 5\n    sticky_history = no\n    history_length = 0\n"+
		"[urgency_low]\n    timeout = 1\n[urgency_normal]\n    timeout = 1\n[urgency_critical]\n    timeout = 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	start(t, logDir, "dunst", "-config", conf)
	bus, err := dbus.Connect(env.BusAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer bus.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var has bool
		_ = bus.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, "org.freedesktop.Notifications").Store(&has)
		if has {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("dunst did not take org.freedesktop.Notifications")
		}
		time.Sleep(20 * time.Millisecond)
	}
	d := &daemonEnd{signal: make(chan struct{})}
	cmd := exec.Command("dbus-monitor", "--session", "type='method_call',interface='org.freedesktop.Notifications',member='Notify'")
	cmd.Env = os.Environ()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { d.parse(out); close(done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		_ = cmd.Wait()
		<-done
	})
	time.Sleep(300 * time.Millisecond) // dbus-monitor's BecomeMonitor; a benchmark program may pace itself
	return d
}

// parse reads dbus-monitor's text: "method call time=SEC.USEC …" then the
// arguments, top-level ones indented by three spaces: app name, replaces
// id, icon, summary, body, ….
func (d *daemonEnd) parse(out interface{ Read([]byte) (int, error) }) {
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	var cur *desktoptest.Notification
	var strs int
	flush := func() {
		if cur != nil && strs >= 3 {
			d.mu.Lock()
			d.got = append(d.got, *cur)
			close(d.signal)
			d.signal = make(chan struct{})
			d.mu.Unlock()
		}
		cur, strs = nil, 0
	}
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "method call time="); ok {
			flush()
			ts, _, _ := strings.Cut(rest, " ")
			sec, frac, _ := strings.Cut(ts, ".")
			s, _ := strconv.ParseInt(sec, 10, 64)
			us, _ := strconv.ParseInt((frac + "000000")[:6], 10, 64)
			cur = &desktoptest.Notification{At: time.Unix(s, us*1000)}
			continue
		}
		if cur == nil || strs >= 3 {
			continue
		}
		if v, ok := strings.CutPrefix(line, "   string \""); ok {
			v = strings.TrimSuffix(v, "\"")
			switch strs {
			case 0:
				cur.AppName = v
			case 2:
				cur.Summary = v
			}
			strs++
			if strs == 3 {
				flush()
			}
		}
	}
	flush()
}

// quiet waits until no Notify has arrived for a second (at most 60 s), so
// a run does not inherit the previous one's backlog.
func quiet(ctx context.Context, bus endpoint) {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		select {
		case <-bus.Changed():
		case <-time.After(time.Second):
			return
		}
	}
}
