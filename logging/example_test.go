package logging_test

import (
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/tidings-app/tidings/logging"
)

// Setting up the log in main from --log-level.
func Example() {
	fs := flag.NewFlagSet("tidings", flag.ContinueOnError)
	levelName := fs.String("log-level", "info", "log level: debug, info, warn or error")
	_ = fs.Parse(nil)

	level, err := logging.ParseLevel(*levelName)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	lg, err := logging.Open(logging.Config{App: "tidings", Level: level})
	if err != nil {
		// no writable state dir: log to stderr, still redacted
		slog.SetDefault(slog.New(logging.Redact(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))))
	} else {
		defer lg.Close()
		slog.SetDefault(lg.Logger)
		lg.Info("tidings starting", "version", "0.1.0", "log", lg.Path)
	}
	// later, from the settings window: lg.SetLevel(slog.LevelDebug)
}
