// Package peak counts bursts in a set of instants, for the tests and
// benchmarks that judge how evenly clients reconnect.
package peak

import (
	"slices"
	"time"
)

// PerWindow is the largest number of the instants ts that fall within any
// window of length w (a sliding window, so no bucket edge hides a burst).
// ts is not modified.
func PerWindow(ts []time.Time, w time.Duration) int {
	ts = slices.Clone(ts)
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	most, j := 0, 0
	for i := range ts {
		for ts[i].Sub(ts[j]) >= w {
			j++
		}
		most = max(most, i-j+1)
	}
	return most
}
