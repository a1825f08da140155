package notifier

import (
	"fmt"
	"strings"
	"time"

	"github.com/tidings-app/tidings/conn"
)

// Policy is the user's popup settings, a plain struct the caller persists
// (it marshals to JSON as is). The zero Policy pops up everything.
type Policy struct {
	// MinPriority is the lowest priority that pops up; messages below it
	// go to history only. 0 or PriorityMin means every message.
	MinPriority conn.Priority `json:"min_priority,omitempty"`
	// DND is the daily do-not-disturb schedule.
	DND DND `json:"dnd"`
	// PausedUntil pauses every popup until this time ("pause for 1 h").
	PausedUntil time.Time `json:"paused_until,omitzero"`
	// Muted sources never pop up.
	Muted []Mute `json:"muted,omitempty"`
}

// DND is a daily quiet period in local wall-clock time. Start > End wraps
// midnight (22:00–07:00); Start == End is an empty period.
type DND struct {
	Enabled bool      `json:"enabled"`
	Start   TimeOfDay `json:"start"`
	End     TimeOfDay `json:"end"`
	// AllowUrgent lets urgent messages through the quiet period.
	AllowUrgent bool `json:"allow_urgent"`
}

// TimeOfDay is minutes after midnight, 0–1439.
type TimeOfDay int

// ParseTimeOfDay reads "HH:MM" (24-hour clock).
func ParseTimeOfDay(s string) (TimeOfDay, error) {
	t, err := time.Parse("15:04", strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("notifier: time of day %q is not HH:MM: %w", s, err)
	}
	return TimeOfDay(t.Hour()*60 + t.Minute()), nil
}

func (t TimeOfDay) String() string {
	m := ((int(t) % 1440) + 1440) % 1440
	return fmt.Sprintf("%02d:%02d", m/60, m%60)
}

// Mute silences one source of one server; an empty Source mutes the whole
// server, an empty Server matches the source on every server.
type Mute struct {
	Server string `json:"server,omitempty"`
	Source string `json:"source,omitempty"`
}

func (m Mute) matches(server, source string) bool {
	return (m.Server == "" || m.Server == server) && (m.Source == "" || m.Source == source) &&
		(m.Server != "" || m.Source != "")
}

// Reason says why a message did not pop up.
type Reason int

const (
	Allowed Reason = iota
	ReasonMuted
	ReasonBelowMinimum
	ReasonPaused
	ReasonDoNotDisturb
	numReasons
)

func (r Reason) String() string {
	return [...]string{"allowed", "muted", "below minimum priority", "paused", "do not disturb"}[r]
}

// Check decides whether a message of this server, source and priority may
// pop up at now. The first rule that holds gives the reason: mute, minimum
// priority, pause, do-not-disturb.
func (p Policy) Check(server, source string, pri conn.Priority, now time.Time) Reason {
	for _, m := range p.Muted {
		if m.matches(server, source) {
			return ReasonMuted
		}
	}
	if pri <= 0 {
		pri = conn.PriorityDefault
	}
	if p.MinPriority > 0 && pri < p.MinPriority {
		return ReasonBelowMinimum
	}
	if now.Before(p.PausedUntil) {
		return ReasonPaused
	}
	if p.DND.ActiveAt(now) && !(p.DND.AllowUrgent && pri >= conn.PriorityUrgent) {
		return ReasonDoNotDisturb
	}
	return Allowed
}

// ActiveAt reports whether the quiet period covers now's wall-clock time.
func (d DND) ActiveAt(now time.Time) bool {
	if !d.Enabled || d.Start == d.End {
		return false
	}
	m := TimeOfDay(now.Hour()*60 + now.Minute())
	if d.Start < d.End {
		return m >= d.Start && m < d.End
	}
	return m >= d.Start || m < d.End
}

// endAfter returns when the quiet period covering now ends.
func (d DND) endAfter(now time.Time) time.Time {
	y, mo, day := now.Date()
	end := time.Date(y, mo, day, int(d.End)/60, int(d.End)%60, 0, 0, now.Location())
	if !end.After(now) {
		end = end.AddDate(0, 0, 1)
	}
	return end
}

// Pause returns a copy of p paused for d from now ("pause for 1 h").
func (p Policy) Pause(now time.Time, d time.Duration) Policy {
	p.PausedUntil = now.Add(d)
	return p
}

// Resume returns a copy of p with any pause lifted.
func (p Policy) Resume() Policy {
	p.PausedUntil = time.Time{}
	return p
}

// Status is what the policy is hiding right now, for the UI to show: hiding
// messages silently is what users resent most, so every rule that holds
// back popups is visible.
type Status struct {
	HiddenBelow conn.Priority // popups below this priority are history only; 0: none
	Paused      bool
	PausedUntil time.Time
	DND         bool // the quiet period is on now
	DNDUntil    time.Time
	DNDUrgentOK bool // urgent messages still pop up during it
	MutedCount  int
}

// Quiet reports whether any rule currently holds popups back.
func (s Status) Quiet() bool {
	return s.HiddenBelow > 0 || s.Paused || s.DND || s.MutedCount > 0
}

// Status describes the policy at now.
func (p Policy) Status(now time.Time) Status {
	s := Status{MutedCount: len(p.Muted)}
	if p.MinPriority > conn.PriorityMin {
		s.HiddenBelow = p.MinPriority
	}
	if now.Before(p.PausedUntil) {
		s.Paused, s.PausedUntil = true, p.PausedUntil
	}
	if p.DND.ActiveAt(now) {
		s.DND, s.DNDUntil, s.DNDUrgentOK = true, p.DND.endAfter(now), p.DND.AllowUrgent
	}
	return s
}

// Lines renders the status as short sentences for a settings page or the
// tray tooltip; none when nothing is held back.
func (s Status) Lines() []string {
	var out []string
	if s.Paused {
		out = append(out, "Popups paused until "+s.PausedUntil.Format("15:04")+".")
	}
	if s.DND {
		l := "Do not disturb until " + s.DNDUntil.Format("15:04")
		if s.DNDUrgentOK {
			l += " (urgent messages still pop up)"
		}
		out = append(out, l+".")
	}
	if s.HiddenBelow > 0 {
		out = append(out, fmt.Sprintf("Messages below %s priority do not pop up; they are in history.", priorityName(s.HiddenBelow)))
	}
	if s.MutedCount > 0 {
		out = append(out, fmt.Sprintf("%d muted source(s).", s.MutedCount))
	}
	return out
}

func priorityName(p conn.Priority) string {
	switch p {
	case conn.PriorityMin:
		return "minimum"
	case conn.PriorityLow:
		return "low"
	case conn.PriorityDefault:
		return "default"
	case conn.PriorityHigh:
		return "high"
	case conn.PriorityUrgent:
		return "urgent"
	}
	return fmt.Sprintf("level %d", p)
}
