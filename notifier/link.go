package notifier

import (
	"fmt"
	"time"

	"github.com/tidings-app/tidings/conn"
	"github.com/tidings-app/tidings/sanitize"
)

// linkState follows one server's connection for the optional "connection
// lost / restored" notices: lost only after the link stayed down longer than
// LinkGrace, at most one lost notice per LinkInterval, and restored only
// after a lost notice was shown.
type linkState struct {
	known     bool
	up        bool
	downSince time.Time
	lostDue   time.Time // zero: no lost notice pending
	lostShown bool
	lastLost  time.Time
}

// setLinkNotices turns the link notices on or off; off forgets every
// link, so nothing pending is shown.
func (e *engine) setLinkNotices(on bool) {
	if on == e.cfg.LinkNotices {
		return
	}
	e.cfg.LinkNotices = on
	if !on {
		clear(e.links)
		e.recompute()
	}
}

// link records a state change of server's connection.
func (e *engine) link(server string, up bool, pol Policy, now time.Time, out *outcome) {
	e.tick(now, pol, out)
	if !e.cfg.LinkNotices {
		return
	}
	l := e.links[server]
	if l == nil {
		l = &linkState{}
		e.links[server] = l
	}
	if l.known && l.up == up {
		return
	}
	wasKnown := l.known
	l.known, l.up = true, up
	if !up {
		l.downSince = now
		if wasKnown { // a first report of "down" at start-up is not a loss
			l.lostDue = now.Add(e.cfg.LinkGrace)
			e.note(l.lostDue)
		}
		return
	}
	l.lostDue = time.Time{}
	if l.lostShown {
		l.lostShown = false
		if pol.Check("", "", conn.PriorityDefault, now) == Allowed {
			out.popups = append(out.popups, Popup{Title: e.cfg.Say("popup.restored.title", nil),
				Body: sanitize.Body(e.cfg.Say("popup.restored.body", map[string]any{
					"Server": e.serverName(server), "After": roundDuration(now.Sub(l.downSince))})),
				Urgency: UrgencyLow, Group: "link:" + hashKey(server)})
		}
	}
}

func (e *engine) tickLinks(now time.Time, pol Policy, out *outcome) {
	for _, server := range sortedKeys(e.links) {
		l := e.links[server]
		if l.lostDue.IsZero() || now.Before(l.lostDue) {
			continue
		}
		l.lostDue = time.Time{} // one decision per outage
		if !l.lastLost.IsZero() && now.Sub(l.lastLost) < e.cfg.LinkInterval {
			continue
		}
		if pol.Check("", "", conn.PriorityDefault, now) != Allowed {
			continue
		}
		l.lostShown, l.lastLost = true, now
		out.popups = append(out.popups, Popup{Title: e.cfg.Say("popup.lost.title", nil),
			Body: sanitize.Body(e.cfg.Say("popup.lost.body", map[string]any{
				"Server": e.serverName(server), "Since": l.downSince.Format("15:04")})),
			Urgency: UrgencyNormal, Group: "link:" + hashKey(server)})
	}
}

func (e *engine) serverName(server string) string {
	if n := sourceName(conn.Message{Server: server}); n != AppName {
		return n
	}
	return e.cfg.Say("popup.theserver", nil)
}

func roundDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	}
	return fmt.Sprintf("%.1f h", d.Hours())
}
