package ui

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/tidings-app/tidings/internal/atomicfile"
)

// StallProbe measures how long the UI thread keeps a fyne.Do callback
// waiting: every interval it schedules one (unless the last has not run
// yet) and records the delay until it ran. Once a second it rewrites path
// with one line per second seen so far, "<unix ms> <longest delay in that
// second, ms> <probes>", the last ProbeSeconds seconds. It is off unless the
// app is started with TIDINGS_UI_PROBE (the benchmarks use it); it costs one
// fyne.Do per interval.
type StallProbe struct {
	path     string
	interval time.Duration
	log      *slog.Logger
	stop     chan struct{}
	done     chan struct{}

	mu      sync.Mutex
	seconds []probeSecond
}

type probeSecond struct {
	at    int64 // unix seconds
	worst time.Duration
	n     int
}

// ProbeSeconds is how many seconds the probe file keeps.
const ProbeSeconds = 600

// StartStallProbe starts the probe; Stop ends it.
func StartStallProbe(path string, interval time.Duration, log *slog.Logger) *StallProbe {
	p := &StallProbe{path: path, interval: interval, log: log, stop: make(chan struct{}), done: make(chan struct{})}
	go p.run()
	return p
}

// Stop ends the probe and writes the file a last time.
func (p *StallProbe) Stop() {
	close(p.stop)
	<-p.done
}

func (p *StallProbe) run() {
	defer close(p.done)
	tick := time.NewTicker(p.interval)
	defer tick.Stop()
	flush := time.NewTicker(time.Second)
	defer flush.Stop()
	ran := make(chan struct{}, 1)
	ran <- struct{}{}
	for {
		select {
		case <-p.stop:
			p.write()
			return
		case <-flush.C:
			p.write()
		case <-tick.C:
			select {
			case <-ran: // the last probe has run: send the next
			default:
				continue // still waiting: its delay is being measured
			}
			sent := time.Now()
			go func() {
				// The driver's queue is closed once the app has quit; a
				// probe sent in that moment is simply lost.
				defer func() { _ = recover() }()
				Do(func() {
					p.record(sent, time.Since(sent))
					ran <- struct{}{}
				})
			}()
		}
	}
}

func (p *StallProbe) record(at time.Time, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	sec := at.Unix()
	if n := len(p.seconds); n == 0 || p.seconds[n-1].at != sec {
		p.seconds = append(p.seconds, probeSecond{at: sec})
		if len(p.seconds) > ProbeSeconds {
			p.seconds = p.seconds[1:]
		}
	}
	s := &p.seconds[len(p.seconds)-1]
	s.worst, s.n = max(s.worst, d), s.n+1
}

func (p *StallProbe) write() {
	p.mu.Lock()
	var b strings.Builder
	for _, s := range p.seconds {
		fmt.Fprintf(&b, "%d %.3f %d\n", s.at*1000, float64(s.worst)/float64(time.Millisecond), s.n)
	}
	p.mu.Unlock()
	if err := atomicfile.Write(p.path, []byte(b.String()), 0o600); err != nil {
		p.log.Warn("ui probe", "err", err)
	}
}
