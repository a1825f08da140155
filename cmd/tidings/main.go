// Command tidings is the desktop tray notifier. main only wires: it parses
// flags, opens the stores, builds the client and the UI, and runs the Fyne
// app.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/systray"

	"github.com/tidings-app/tidings/account"
	"github.com/tidings-app/tidings/assets"
	"github.com/tidings-app/tidings/client"
	"github.com/tidings-app/tidings/conn"
	"github.com/tidings-app/tidings/history"
	"github.com/tidings-app/tidings/notifier"
	"github.com/tidings-app/tidings/ui"
)

// AppID is the reverse-DNS application ID, the same as in FyneApp.toml.
const AppID = account.AppID

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	exit(run(os.Args[1:]))
}

type options struct {
	config, data, logLevel string
	hidden, version        bool
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("tidings", flag.ContinueOnError)
	fs.StringVar(&o.config, "config", "", "account settings file (default: the user config dir/tidings/config.json)")
	fs.StringVar(&o.data, "data", "", "directory of the message history (default: the user data dir/tidings)")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.BoolVar(&o.hidden, "hidden", false, "start in the tray with no window (autostart)")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	err := fs.Parse(args)
	return o, err
}

func run(args []string) int {
	o, err := parseFlags(args)
	if err != nil {
		return 2
	}
	if o.version {
		fmt.Println("tidings", version)
		return 0
	}
	log, closeLog, err := openLog(o.logLevel)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tidings: --log-level:", err)
		return 2
	}
	defer closeLog()
	log.Info("tidings starting", "version", version, "hidden", o.hidden)
	if path := os.Getenv("TIDINGS_CPUPROFILE"); path != "" { // benchmarks only: where the app's CPU goes
		if f, err := os.Create(path); err == nil && pprof.StartCPUProfile(f) == nil {
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}

	if path := os.Getenv("TIDINGS_MEMPROFILE"); path != "" { // benchmarks only: the heap at exit
		defer func() {
			if f, err := os.Create(path); err == nil {
				runtime.GC()
				_ = pprof.Lookup("heap").WriteTo(f, 0)
				f.Close()
			}
		}()
	}
	if o.config == "" {
		if o.config, err = account.DefaultConfigPath(); err != nil {
			log.Error("no config directory", "err", err)
			return 1
		}
	}
	histPath := filepath.Join(o.data, history.FileName)
	if o.data == "" {
		if histPath, err = history.DefaultPath(); err != nil {
			log.Error("no data directory", "err", err)
			return 1
		}
	}
	settings := loadSettings(filepath.Join(filepath.Dir(o.config), "settings.json"), log)
	defer settings.Flush()
	ctx := context.Background()
	maxAge, maxCount := retentionFrom(settings.Load())
	hist, err := history.Open(ctx, history.Config{Path: histPath, Logger: log, MaxAge: maxAge, MaxCount: maxCount})
	if err != nil {
		log.Error("history", "err", err)
		return 1
	}
	defer hist.Close()
	mgr, err := account.NewManager(account.ManagerConfig{ConfigPath: o.config, Logger: log})
	if err != nil {
		log.Error("accounts", "err", err)
		return 1
	}
	if on, err := loginItem.IsEnabled(); err == nil {
		settings.cur.StartAtLogin = on // the checkbox shows what the desktop will do
	}

	a := app.NewWithID(AppID)
	a.SetIcon(fyne.NewStaticResource("icon.png", assets.AppIcon))
	var ctrl *ui.Controller
	release, err := singleInstance(o.hidden, log, func() {
		ui.Do(func() {
			if ctrl != nil {
				ctrl.History.Show()
			}
		})
	})
	if errors.Is(err, errAlreadyRunning) {
		return 0
	} else if err != nil {
		log.Error("single instance", "err", err)
		tellAlreadyRunning(settings.cur.Language, log)
		return 1
	}
	defer release()
	desk := notifier.NewDesktop(log)
	desk.SetOpenLabel(ui.T("popup.open"))
	defer desk.Close()

	var cl *client.Client
	cl, err = client.New(client.Config{
		Accounts: mgr, History: hist, Notifier: desk, Logger: log,
		Policy:      policyFrom(settings.Load()),
		LinkNotices: settings.Load().ConnectionLostNotice,
		Dispatch:    func(dc *notifier.Config) { dc.Say = say },
		OnStatus: func(s conn.Status) {
			if ctrl != nil {
				acct, _ := cl.Account()
				ctrl.SetStatus(uiStatus(s, acct.Server))
			}
		},
		OnStorage: func(err error) {
			if ctrl != nil {
				ctrl.SetWarning(ui.WarnNotSaving, err != nil)
			}
		},
		OnWarning: func(problem error, on bool) {
			if ctrl == nil {
				return
			}
			switch {
			case errors.Is(problem, account.ErrNoKeyring):
				ctrl.SetWarning(ui.WarnNoKeyring, on)
			case errors.Is(problem, account.ErrConfigNotSaved):
				ctrl.SetWarning(ui.WarnSettingsNotSaved, on)
			}
		},
		NoKeyringNotice: client.Notice{Title: ui.T("notice.nokeyring.title"), Body: ui.T("notice.nokeyring.body")},
		SettingsNotice: client.Notice{Title: ui.T("notice.settingsnotsaved.title"),
			Body: ui.T("notice.settingsnotsaved.body", map[string]any{"Path": "%[1]s"})},
		StorageNotice: client.Notice{Title: ui.T("notice.notsaving.title"), Body: ui.T("notice.notsaving.body")},
		// a fmt format, filled in off the UI goroutine
		ShortNotice: client.Notice{Title: ui.T("notice.short.title"),
			Body: ui.T("notice.short.body", map[string]any{"Fetched": "%[1]d", "Missed": "%[2]d"})},
		HistoryFile:      histPath,
		ShownPath:        client.DefaultShownPath(),
		MovedAsideNotice: client.Notice{Title: ui.T("notice.movedaside.title"), Body: ui.T("notice.movedaside.body", map[string]any{"Path": "%[1]s"})},
		InMemoryNotice:   client.Notice{Title: ui.T("notice.notsaving.title"), Body: ui.T("notice.inmemory.body", map[string]any{"Path": "%[1]s"})},
	})
	if err != nil {
		log.Error("client", "err", err)
		return 1
	}
	defer cl.Close()
	settings.apply = func(s ui.Settings) {
		cl.Dispatcher().SetPolicy(policyFrom(s))
		cl.Dispatcher().SetLinkNotices(s.ConnectionLostNotice)
		hist.SetRetention(retentionFrom(s))
		applyStartAtLogin(s, log)
	}

	defaults := ui.LoginRequest{Protocol: ui.ProtocolTidings, Remember: true}
	if cfg, _ := account.LoadConfig(o.config); len(cfg.Accounts) > 0 {
		acct, _ := cfg.Latest()
		defaults = ui.LoginRequest{URL: acct.Server, Protocol: ui.Protocol(acct.Protocol), User: acct.Username, Topics: acct.Topics, Remember: true}
	}
	host, stopTray := trayHost(a, log)
	defer stopTray()
	ctrl = ui.NewController(ui.Config{
		App: a, Desk: host, Log: log,
		Accounts: uiAccounts{cl, settings}, Connection: uiConnection{cl}, History: uiHistory{hist}, Settings: settings,
		LoginDefaults: defaults, SetTrayTapped: systray.SetOnTapped,
	})
	defer ctrl.Close()
	if hist.Path() == "" {
		ctrl.SetWarning(ui.WarnNotSaving, true) // history is in memory for this session; the notice says why
	}
	if path := os.Getenv("TIDINGS_UI_PROBE"); path != "" { // benchmarks only: UI-thread stalls
		probe := ui.StartStallProbe(path, 10*time.Millisecond, log)
		defer probe.Stop()
	}

	go func() {
		ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		err := cl.Resume(ctx)
		if err == nil {
			return
		}
		log.Info("not connected at start", "err", err)
		ctrl.SetStatus(ui.Status{State: ui.StateStopped})
		switch {
		case o.hidden || !errors.Is(err, client.ErrNeedsLogin):
		case errors.Is(err, account.ErrNoKeyring):
			// the saved login could not be read: say why, not just ask
			ui.Do(func() { ctrl.Login.ShowError(ui.T("login.err.nokeyring")) })
		default:
			ui.Do(ctrl.Login.Show)
		}
	}()
	a.Run()
	ui.LoopEnded()
	return 0
}
