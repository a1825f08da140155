package proto

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// HeaderDropSlot is the upgrade response header in which the server gives a
// socket its RestartHint for a drop without a close frame (the server's
// process died, the network went away): the first wait then counts from
// the moment the client noticed the drop.
const HeaderDropSlot = "Tidings-Drop-Slot"

// HeaderNewestID is the upgrade response header with the id of the newest
// message the server holds for the user (0 if none). A client whose since
// is above it knows the server's ids restarted lower (a reinstalled or
// restored server, the user deleted and added again, another backend);
// the server then replays from its start, and the client rebases.
const HeaderNewestID = "Tidings-Newest-Id"

// RestartHint is the reason text of a CloseServiceRestart close frame: when
// this client should dial again, and how often after that while the server
// is not back yet. The server gives each of its clients its own slot in one
// period, so that together they reconnect evenly spread instead of in a
// herd, and the period grows with the number of clients.
type RestartHint struct {
	RetryInMs int64 `json:"retry_in_ms"` // first dial this long after the close
	EveryMs   int64 `json:"every_ms"`    // then one dial per period
}

// MaxRestartEvery is the longest period a hint may give. Clients also set
// their own floor on the period (a hint comes from the network).
const MaxRestartEvery = 10 * time.Minute

// ErrBadHint: the close reason is not a usable RestartHint.
var ErrBadHint = errors.New("proto: malformed restart hint")

// maxCloseReason is the most a close frame's reason may hold (RFC 6455:
// 125-byte control payload minus the 2-byte code).
const maxCloseReason = 123

// String is the hint as close reason text.
func (h RestartHint) String() string {
	b, _ := json.Marshal(h) // two integers: cannot fail
	return string(b)
}

// RetryIn is the wait before the first dial.
func (h RestartHint) RetryIn() time.Duration { return time.Duration(h.RetryInMs) * time.Millisecond }

// Every is the period of the dials after the first.
func (h RestartHint) Every() time.Duration { return time.Duration(h.EveryMs) * time.Millisecond }

// ParseRestartHint reads a close reason. The period must be within
// [1 ms, MaxRestartEvery] and the first wait within [0, period);
// anything else is ErrBadHint (the client then backs off as usual). The
// error never contains the reason text.
func ParseRestartHint(reason string) (RestartHint, error) {
	if len(reason) == 0 || len(reason) > maxCloseReason {
		return RestartHint{}, fmt.Errorf("%w: %d bytes", ErrBadHint, len(reason))
	}
	var h RestartHint
	if err := json.Unmarshal([]byte(reason), &h); err != nil {
		return RestartHint{}, fmt.Errorf("%w: %s", ErrBadHint, describeJSONError(err))
	}
	if h.EveryMs < 1 || h.EveryMs > MaxRestartEvery.Milliseconds() {
		return RestartHint{}, fmt.Errorf("%w: period %d ms outside 1 ms–%v", ErrBadHint, h.EveryMs, MaxRestartEvery)
	}
	if h.RetryInMs < 0 || h.RetryInMs >= h.EveryMs {
		return RestartHint{}, fmt.Errorf("%w: first wait %d ms outside [0, %d)", ErrBadHint, h.RetryInMs, h.EveryMs)
	}
	return h, nil
}
