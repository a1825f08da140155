package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"

	"github.com/tidings-app/tidings/server"
)

func runServe(ctx context.Context, args []string, env Env) error {
	fs, data := newFlags("serve", env)
	addr := fs.String("addr", "", "listen address (default $TIDINGS_ADDR or "+server.DefaultAddr+")")
	cert := fs.String("tls-cert", "", "TLS certificate (PEM)")
	key := fs.String("tls-key", "", "TLS key (PEM)")
	verbose := fs.Bool("verbose", false, "debug logs")
	bf := addBackendFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 || (*cert == "") != (*key == "") {
		return errUsage
	}
	cfg := server.Config{Addr: orEnv(*addr, env, EnvAddr), TLSCert: *cert, TLSKey: *key, BcryptCost: bcryptCost}
	log := env.Logger
	if log == nil {
		level := slog.LevelInfo
		if *verbose {
			level = slog.LevelDebug
		}
		log = slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: level}))
	}
	st, broker, err := bf.open(ctx, dataDir(*data, env), env, server.Config{}.Defaults().Retention, log)
	if err != nil {
		return err
	}
	defer st.Close()
	srv, err := server.New(cfg, st, broker, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", srv.Config().Addr)
	if err != nil {
		srv.Shutdown(context.Background())
		return fmt.Errorf("listen: %w", err)
	}
	if env.OnListen != nil {
		env.OnListen(ln.Addr())
	}
	return srv.Serve(ctx, ln)
}
