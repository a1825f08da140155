package natsjs

import (
	"context"
	"fmt"
	"time"
)

// Ready implements hub.Readiness: nil while connected to NATS (or
// disconnected for less than DisconnectGrace) and JetStream answers.
func (b *Backend) Ready() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.readyLocked()
}

func (b *Backend) readyLocked() error {
	if !b.connected && time.Since(b.lostAt) >= b.cfg.DisconnectGrace {
		return ErrDisconnected
	}
	return b.jsErr
}

// OnChange implements hub.Readiness.
func (b *Backend) OnChange(fn func()) {
	b.mu.Lock()
	b.onChange = append(b.onChange, fn)
	b.mu.Unlock()
}

func (b *Backend) notify() {
	b.mu.Lock()
	fns := append([]func(){}, b.onChange...)
	b.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
}

// setConnected follows the NATS connection's state.
func (b *Backend) setConnected(up bool, err error) {
	b.mu.Lock()
	if b.connected == up {
		b.mu.Unlock()
		return
	}
	b.connected = up
	if b.grace != nil {
		b.grace.Stop()
		b.grace = nil
	}
	if !up {
		b.lostAt = time.Now()
		if g := b.cfg.DisconnectGrace; g > 0 {
			b.grace = time.AfterFunc(g, b.notify)
		}
	}
	b.mu.Unlock()
	if up {
		b.log.Info("reconnected to NATS", "server", b.nc.ConnectedUrlRedacted())
		select {
		case b.kick <- struct{}{}:
		default:
		}
	} else {
		b.log.Warn("lost NATS", "err", err)
	}
	b.notify()
}

// prober checks JetStream every ProbeEvery: a connection can be up while
// the stream has no leader (a cluster without quorum).
func (b *Backend) prober() {
	defer b.bg.Done()
	t := time.NewTicker(b.cfg.ProbeEvery)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
			b.probe()
		case <-b.kick:
			b.probe()
		}
	}
}

func (b *Backend) probe() {
	ctx, cancel := context.WithTimeout(context.Background(), b.cfg.Timeout)
	defer cancel()
	go func() {
		select {
		case <-b.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	_, err := b.stream.Info(ctx)
	if err != nil {
		err = fmt.Errorf("%w: %v", ErrJetStream, err)
	}
	b.mu.Lock()
	changed := (err == nil) != (b.jsErr == nil)
	b.jsErr = err
	b.mu.Unlock()
	if changed {
		if err != nil {
			b.log.Warn("JetStream probe failed", "err", err)
		} else {
			b.log.Info("JetStream probe ok")
		}
		b.notify()
	}
}
