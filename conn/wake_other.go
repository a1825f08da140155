//go:build !linux

package conn

// platformWakeWatchers: no platform watcher yet outside Linux; the
// clock-jump detector covers resume everywhere.
func platformWakeWatchers() []WakeWatcher { return nil }
