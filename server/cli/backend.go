package cli

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"strings"

	"github.com/tidings-app/tidings/server/hub"
	"github.com/tidings-app/tidings/server/natsjs"
	"github.com/tidings-app/tidings/server/store"
)

// Environment variables of the NATS backend.
const (
	EnvBackend   = "TIDINGS_BACKEND"
	EnvNATS      = "TIDINGS_NATS"
	EnvNATSCreds = "TIDINGS_NATS_CREDS"
)

// Backends.
const (
	BackendEmbedded = "embedded" // SQLite in --data + in-process fan-out
	BackendNATS     = "nats"     // NATS JetStream shared by several instances
)

// backendFlags selects and configures the backend of serve, user and token.
type backendFlags struct {
	kind     *string
	url      *string
	creds    *string
	ca       groupList
	cert     *string
	key      *string
	replicas *int
}

func addBackendFlags(fs *flag.FlagSet) *backendFlags {
	bf := &backendFlags{
		kind:     fs.String("backend", "", "embedded (default) or nats"),
		url:      fs.String("nats", "", "NATS server URL(s), comma-separated; implies --backend nats"),
		creds:    fs.String("nats-creds", "", "NATS credentials file"),
		cert:     fs.String("nats-tls-cert", "", "client certificate for NATS mutual TLS"),
		key:      fs.String("nats-tls-key", "", "client key for NATS mutual TLS"),
		replicas: fs.Int("nats-replicas", 0, "stream and bucket replicas (default 1; 3 on a 3-node cluster)"),
	}
	fs.Var(&bf.ca, "nats-tls-ca", "extra CA file for TLS to NATS (repeatable)")
	return bf
}

// open returns the store and broker the flags select. A nil broker means
// the server's in-process hub. retention is the server's, mirrored by the
// stream's limits.
func (bf *backendFlags) open(ctx context.Context, data string, env Env, retention store.Retention, log *slog.Logger) (store.Store, hub.Broker, error) {
	kind := orEnv(*bf.kind, env, EnvBackend)
	url := orEnv(*bf.url, env, EnvNATS)
	if kind == "" && url != "" {
		kind = BackendNATS
	}
	switch kind {
	case "", BackendEmbedded:
		if url != "" {
			return nil, nil, fmt.Errorf("%w: --nats needs --backend nats", errUsage)
		}
		st, err := store.OpenSQLite(ctx, data)
		return st, nil, err
	case BackendNATS:
		if url == "" {
			return nil, nil, fmt.Errorf("backend nats: --nats URL (or $%s) is required", EnvNATS)
		}
		b, err := natsjs.Open(ctx, natsjs.Config{
			URL: url, CredsFile: orEnv(*bf.creds, env, EnvNATSCreds), CAFiles: bf.ca,
			CertFile: *bf.cert, KeyFile: *bf.key, Replicas: *bf.replicas, Retention: retention,
		}, log)
		if err != nil {
			return nil, nil, err
		}
		return b, b, nil
	default:
		return nil, nil, fmt.Errorf("%w: unknown backend %q (%s)", errUsage, kind, strings.Join([]string{BackendEmbedded, BackendNATS}, ", "))
	}
}
