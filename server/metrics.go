package server

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the server's Prometheus metrics, on a registry of its own so
// that several servers can live in one process (tests).
type metrics struct {
	reg       *prometheus.Registry
	clients   prometheus.Gauge
	published prometheus.Counter
	stored    prometheus.Counter
	delivered prometheus.Counter
	dropped   prometheus.Counter
	slow      prometheus.Counter
	latency   prometheus.Histogram
	batch     prometheus.Histogram
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		clients: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tidings_connected_clients", Help: "Open WebSocket connections."}),
		published: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tidings_messages_published_total", Help: "Publish requests accepted."}),
		stored: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tidings_messages_stored_total", Help: "Messages stored, one per recipient."}),
		delivered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tidings_messages_delivered_total", Help: "Message frames written to sockets (live and replayed)."}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tidings_messages_dropped_total", Help: "Live message frames dropped with a slow socket (still stored)."}),
		slow: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tidings_slow_consumers_total", Help: "Sockets closed with 4002 for not draining their queue."}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "tidings_publish_to_write_seconds",
			Help:    "Time from a publish request's arrival to the write of its frame on a socket.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}),
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "tidings_publish_batch_size",
			Help:    "Publish requests written to the store together (group commit).",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256},
		}),
	}
	m.reg.MustRegister(m.clients, m.published, m.stored, m.delivered, m.dropped, m.slow, m.latency, m.batch,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
