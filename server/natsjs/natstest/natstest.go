// Package natstest runs real NATS servers, JetStream on, inside the calling
// process: one node or a cluster of nodes routed on loopback, each with its
// own store directory, which can be stopped and restarted on the same port.
// It is for tests and benchmarks only; tidings-server itself never links
// the NATS server.
package natstest

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// ErrNotReady means a node did not accept connections in time.
var ErrNotReady = errors.New("natstest: server not ready")

// Node is one embedded NATS server.
type Node struct {
	opts *server.Options
	srv  *server.Server
}

// StartNode starts a single node with JetStream storing under dir, on a
// free loopback port.
func StartNode(dir string) (*Node, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	return start(&server.Options{
		ServerName: "n1", Host: "127.0.0.1", Port: port,
		JetStream: true, StoreDir: dir, NoSigs: true, NoLog: true,
	})
}

func start(opts *server.Options) (*Node, error) {
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("natstest: %w", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return nil, ErrNotReady
	}
	return &Node{opts: opts, srv: srv}, nil
}

// URL is the node's client URL.
func (n *Node) URL() string { return fmt.Sprintf("nats://%s:%d", n.opts.Host, n.opts.Port) }

// Name is the node's server name.
func (n *Node) Name() string { return n.opts.ServerName }

// Running reports whether the node is up.
func (n *Node) Running() bool { return n.srv != nil && n.srv.Running() }

// Stop shuts the node down and waits until it is gone. Idempotent.
func (n *Node) Stop() {
	if n.srv == nil {
		return
	}
	n.srv.Shutdown()
	n.srv.WaitForShutdown()
	n.srv = nil
}

// Restart starts a stopped node again with the same name, ports and store.
func (n *Node) Restart() error {
	if n.srv != nil {
		return nil
	}
	opts := n.opts.Clone()
	m, err := start(opts)
	if err != nil {
		return err
	}
	n.srv = m.srv
	return nil
}

// Cluster is size nodes routed to each other on loopback.
type Cluster struct {
	Nodes []*Node
}

// StartCluster starts size nodes named n1…, storing under dir/n1…, and
// returns once every node accepts connections. JetStream needs a moment
// more to elect its meta leader; clients should retry their first request.
func StartCluster(dir string, size int) (*Cluster, error) {
	ports := make([]int, 2*size)
	for i := range ports {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		ports[i] = p
	}
	var routes []*url.URL
	for i := range size {
		routes = append(routes, &url.URL{Scheme: "nats", Host: fmt.Sprintf("127.0.0.1:%d", ports[size+i])})
	}
	c := &Cluster{}
	type result struct {
		n   *Node
		err error
	}
	res := make(chan result, size)
	for i := range size {
		name := fmt.Sprintf("n%d", i+1)
		opts := &server.Options{
			ServerName: name, Host: "127.0.0.1", Port: ports[i],
			JetStream: true, StoreDir: filepath.Join(dir, name), NoSigs: true, NoLog: true,
			Cluster: server.ClusterOpts{Name: "tidings-test", Host: "127.0.0.1", Port: ports[size+i]},
			Routes:  routes,
		}
		go func() { n, err := start(opts); res <- result{n, err} }()
	}
	var errs []error
	for range size {
		r := <-res
		if r.err != nil {
			errs = append(errs, r.err)
			continue
		}
		c.Nodes = append(c.Nodes, r.n)
	}
	if err := errors.Join(errs...); err != nil {
		c.Stop()
		return nil, err
	}
	slices.SortFunc(c.Nodes, func(a, b *Node) int { return strings.Compare(a.Name(), b.Name()) })
	return c, nil
}

// URLs is every node's client URL, comma-separated (the nats.go form).
func (c *Cluster) URLs() string {
	var us []string
	for _, n := range c.Nodes {
		us = append(us, n.URL())
	}
	return strings.Join(us, ",")
}

// Stop stops every node.
func (c *Cluster) Stop() {
	for _, n := range c.Nodes {
		n.Stop()
	}
}

// freePort asks the kernel for a free loopback TCP port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("natstest: free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
