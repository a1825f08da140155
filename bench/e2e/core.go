//go:build linux

package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/tidings-app/tidings/account"
	"github.com/tidings-app/tidings/client"
	"github.com/tidings-app/tidings/conn"
	"github.com/tidings-app/tidings/history"
	"github.com/tidings-app/tidings/internal/desktoptest"
	"github.com/tidings-app/tidings/notifier"
)

// benchCore repeats the 100 msg/s latency run with the app's Fyne-free core
// (the client package: connection, history, notifier, D-Bus) in the
// harness process instead of the tidings binary: the difference between
// the two is what the UI side of the app (tray refreshes, Fyne) costs.
func benchCore(ctx context.Context, t *tb, o opts, sc scale, rep *report) {
	r := newRigWith(t, "core", startDaemon(t, o.logDir))
	dir := t.TempDir()
	hist, err := history.Open(ctx, history.Config{Path: filepath.Join(dir, history.FileName)})
	if err != nil {
		t.Fatal(err)
	}
	defer hist.Close()
	mgr, err := account.NewManager(account.ManagerConfig{ConfigPath: filepath.Join(dir, "config.json")})
	if err != nil {
		t.Fatal(err)
	}
	connected := make(chan struct{}, 1)
	desk := notifier.NewDesktop(slog.New(slog.DiscardHandler))
	defer desk.Close()
	cl, err := client.New(client.Config{Accounts: mgr, History: hist, Notifier: desk, WakeWatchers: []conn.WakeWatcher{},
		OnStatus: func(s conn.Status) {
			if s.State == conn.StateConnected {
				select {
				case connected <- struct{}{}:
				default:
				}
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.Login(ctx, account.LoginInput{Server: r.srv.URL, Protocol: account.Native, Username: r.user, Password: account.NewSecret(password)}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-connected:
	case <-time.After(20 * time.Second):
		t.Fatal("the client did not connect")
	}
	r.srv.AddUser("floor", password)
	floor := startFloor(t, r.srv, sessionToken(t, r.srv, "floor"), desktoptest.Require(t).BusAddr, true)
	pairLatency(ctx, t, r.pub, r.bus, floor, r.user, "floor", 20, time.Second)
	const rate = 100
	fmt.Fprintf(os.Stderr, "  core: %d msg/s for %v\n", rate, sc.core)
	lr := pairLatency(ctx, t, r.pub, r.bus, floor, r.user, "floor", rate, sc.core)
	rep.add(figure{section: "latency", name: "core only (client package, no UI): p50 at 100 msg/s", value: ms(lr.app.p50), target: "–",
		baseline: ms(lr.floor.p50), ratio: ratio(float64(lr.app.p50), float64(lr.floor.p50))})
	rep.add(figure{section: "latency", name: "core only (client package, no UI): p99 at 100 msg/s", value: ms(lr.app.p99), target: "–",
		baseline: ms(lr.floor.p99), ratio: ratio(float64(lr.app.p99), float64(lr.floor.p99))})
	rep.note("latency", "Core only: the same 100 msg/s run for %v with the app's Fyne-free core (client package: conn, history, notifier with "+
		"the same D-Bus notifier) inside the harness process instead of the tidings binary, next to the floor client again; popups matched "+
		"%d (missing %d). Comparing it with the tidings row shows what the UI side of the app costs.", sc.core, lr.app.n, lr.app.missing)
}
