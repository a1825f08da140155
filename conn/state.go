package conn

import (
	"fmt"
	"time"
)

// State is where the Supervisor is in its life.
type State int

const (
	// StateStopped: not started yet, or Stop was called. Terminal after Stop.
	StateStopped State = iota
	// StateConnecting: a dial (TCP, TLS, upgrade) is under way.
	StateConnecting
	// StateConnected: the socket is open and proven alive.
	StateConnected
	// StateReconnecting: waiting before the next dial; Status.Attempt and
	// Status.NextRetry say which attempt and when.
	StateReconnecting
	// StateOffline: gave up after Config.MaxAttempts, or the server said
	// "do not reconnect". Waits for Kick (user, network-up, resume).
	StateOffline
	// StateAuthFailed: the server refused the credentials (401/403 on the
	// upgrade, close 4001). Waits for SetCredentials or Kick.
	StateAuthFailed
)

func (s State) String() string {
	switch s {
	case StateStopped:
		return "stopped"
	case StateConnecting:
		return "connecting"
	case StateConnected:
		return "connected"
	case StateReconnecting:
		return "reconnecting"
	case StateOffline:
		return "offline"
	case StateAuthFailed:
		return "auth failed"
	default:
		return fmt.Sprintf("State(%d)", int(s))
	}
}

// Status is a State with its details. It is a value; the Supervisor never
// changes a Status it has handed out.
type Status struct {
	State State
	// Attempt is the number of the next dial in a run of failures (1 for
	// the first retry after a drop). Set in Reconnecting and Connecting.
	Attempt int
	// NextRetry is when the next dial is due (Reconnecting only).
	NextRetry time.Time
	// Err is why the last session or dial ended (Connecting after a
	// failure, Reconnecting, Offline, AuthFailed). Use Explain(Err) for a sentence to show. It never holds
	// a secret or message content.
	Err error
	// Since is when the Supervisor entered this state.
	Since time.Time
}

func (s Status) String() string {
	switch {
	case s.State == StateReconnecting:
		return fmt.Sprintf("%s (attempt %d at %s): %v", s.State, s.Attempt, s.NextRetry.Format(time.TimeOnly), s.Err)
	case s.Err != nil:
		return fmt.Sprintf("%s: %v", s.State, s.Err)
	default:
		return s.State.String()
	}
}

// EventKind says what an Event carries.
type EventKind int

const (
	EventState   EventKind = iota + 1 // Event.Status is set
	EventMessage                      // Event.Message is set
	EventShort                        // Event.Short is set: a catch-up fetched less than was missed
	EventRebase                       // Event.Rebase is set: the server's ids restarted lower
)

// Event is what the Supervisor hands to its Sink.
type Event struct {
	Kind    EventKind
	Status  Status  // EventState
	Message Message // EventMessage
	Short   *ShortCatchUp
	Rebase  *Rebase
}

// ShortCatchUp says a catch-up fetched only the newest Fetched of the
// Missed messages (the catch-up window is bounded); Missed is a lower bound
// when AtLeast. The user is told: the older ones are not fetched.
type ShortCatchUp struct {
	Fetched, Missed int
	AtLeast         bool
}

// Error makes a ShortCatchUp the error a CatchUpper returns with its
// messages when it stopped at its bound; the engine reports it as an
// EventShort, not as a failure.
func (s *ShortCatchUp) Error() string {
	more := ""
	if s.AtLeast {
		more = " or more"
	}
	return fmt.Sprintf("conn: catch-up fetched the newest %d of %d%s missed messages", s.Fetched, s.Missed, more)
}

// Sink receives the Supervisor's events: every state change and every
// message.
//
// The contract:
//   - It is called from the Supervisor's goroutines (any of them), but never
//     concurrently: calls are serialised.
//   - It must not block. Hand the event to a queue (a buffered channel that
//     drops and logs when full, or fyne.Do) and return.
//   - Messages arrive in the server's order, each exactly once per
//     Supervisor lifetime (ids already delivered are dropped), and only
//     after the Supervisor has recorded their id as the resume point.
//   - The last call is an EventState with StateStopped, made by Stop; when
//     Stop returns the Sink will never be called again.
type Sink func(Event)
