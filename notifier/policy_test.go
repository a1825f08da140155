package notifier

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tidings-app/tidings/conn"
)

func at(hhmm string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", "2026-03-14 "+hhmm, time.Local)
	if err != nil {
		panic(err)
	}
	return t
}

func tod(s string) TimeOfDay {
	t, err := ParseTimeOfDay(s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestEveryPolicyRuleDecidesWhetherAMessagePopsUp(t *testing.T) {
	night := DND{Enabled: true, Start: tod("22:00"), End: tod("07:00")}
	nightUrgentOK := night
	nightUrgentOK.AllowUrgent = true
	day := DND{Enabled: true, Start: tod("09:00"), End: tod("17:30")}
	const srv, other = "https://push.example|alice", "https://other.example|bob"
	cases := []struct {
		name   string
		pol    Policy
		server string
		source string
		pri    conn.Priority
		now    string
		want   Reason
	}{
		{"the zero policy lets everything through", Policy{}, srv, "backup", conn.PriorityMin, "12:00", Allowed},
		{"below the minimum priority is history only", Policy{MinPriority: conn.PriorityHigh}, srv, "b", conn.PriorityDefault, "12:00", ReasonBelowMinimum},
		{"at the minimum priority pops up", Policy{MinPriority: conn.PriorityHigh}, srv, "b", conn.PriorityHigh, "12:00", Allowed},
		{"an unset priority counts as default", Policy{MinPriority: conn.PriorityDefault}, srv, "b", 0, "12:00", Allowed},
		{"an unset priority is below high", Policy{MinPriority: conn.PriorityHigh}, srv, "b", 0, "12:00", ReasonBelowMinimum},
		{"DND wrapping midnight holds back late evening", Policy{DND: night}, srv, "b", conn.PriorityHigh, "23:30", ReasonDoNotDisturb},
		{"DND wrapping midnight holds back just after midnight", Policy{DND: night}, srv, "b", conn.PriorityHigh, "00:10", ReasonDoNotDisturb},
		{"DND wrapping midnight holds back its first minute", Policy{DND: night}, srv, "b", conn.PriorityDefault, "22:00", ReasonDoNotDisturb},
		{"DND wrapping midnight ends at its end minute", Policy{DND: night}, srv, "b", conn.PriorityDefault, "07:00", Allowed},
		{"DND wrapping midnight lets the afternoon through", Policy{DND: night}, srv, "b", conn.PriorityDefault, "15:00", Allowed},
		{"DND within a day holds back the middle", Policy{DND: day}, srv, "b", conn.PriorityDefault, "12:00", ReasonDoNotDisturb},
		{"DND within a day lets the evening through", Policy{DND: day}, srv, "b", conn.PriorityDefault, "17:30", Allowed},
		{"DND within a day lets the early morning through", Policy{DND: day}, srv, "b", conn.PriorityDefault, "08:59", Allowed},
		{"a disabled DND holds nothing", Policy{DND: DND{Start: tod("00:00"), End: tod("23:59")}}, srv, "b", conn.PriorityDefault, "12:00", Allowed},
		{"a DND with equal ends is empty", Policy{DND: DND{Enabled: true, Start: tod("08:00"), End: tod("08:00")}}, srv, "b", conn.PriorityDefault, "08:00", Allowed},
		{"urgent passes DND when allowed", Policy{DND: nightUrgentOK}, srv, "b", conn.PriorityUrgent, "02:00", Allowed},
		{"high does not pass DND even when urgent is allowed", Policy{DND: nightUrgentOK}, srv, "b", conn.PriorityHigh, "02:00", ReasonDoNotDisturb},
		{"urgent is held by DND when not allowed", Policy{DND: night}, srv, "b", conn.PriorityUrgent, "02:00", ReasonDoNotDisturb},
		{"a pause holds back everything until it ends", Policy{PausedUntil: at("13:00")}, srv, "b", conn.PriorityUrgent, "12:59", ReasonPaused},
		{"a pause ends at its time", Policy{PausedUntil: at("13:00")}, srv, "b", conn.PriorityDefault, "13:00", Allowed},
		{"a muted source is held", Policy{Muted: []Mute{{Server: srv, Source: "backup"}}}, srv, "backup", conn.PriorityUrgent, "12:00", ReasonMuted},
		{"the same source on another server is not muted", Policy{Muted: []Mute{{Server: srv, Source: "backup"}}}, other, "backup", conn.PriorityDefault, "12:00", Allowed},
		{"another source on the muted server is not muted", Policy{Muted: []Mute{{Server: srv, Source: "backup"}}}, srv, "alerts", conn.PriorityDefault, "12:00", Allowed},
		{"a muted server holds all its sources", Policy{Muted: []Mute{{Server: srv}}}, srv, "alerts", conn.PriorityDefault, "12:00", ReasonMuted},
		{"a source muted on every server", Policy{Muted: []Mute{{Source: "ci"}}}, other, "ci", conn.PriorityDefault, "12:00", ReasonMuted},
		{"an empty mute matches nothing", Policy{Muted: []Mute{{}}}, srv, "ci", conn.PriorityDefault, "12:00", Allowed},
		{"mute wins over every other rule", Policy{MinPriority: conn.PriorityUrgent, Muted: []Mute{{Source: "ci"}}}, srv, "ci", conn.PriorityLow, "12:00", ReasonMuted},
		{"minimum priority is reported before DND", Policy{MinPriority: conn.PriorityHigh, DND: night}, srv, "b", conn.PriorityLow, "23:00", ReasonBelowMinimum},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.pol.Check(c.server, c.source, c.pri, at(c.now)); got != c.want {
				t.Fatalf("Check at %s = %v, want %v", c.now, got, c.want)
			}
		})
	}
}

func TestPauseForAnHourEndsAnHourLaterAndResumeLiftsIt(t *testing.T) {
	now := at("10:00")
	p := Policy{}.Pause(now, time.Hour)
	if r := p.Check("s", "x", conn.PriorityUrgent, now.Add(59*time.Minute)); r != ReasonPaused {
		t.Fatalf("59 min later: %v, want paused", r)
	}
	if r := p.Check("s", "x", conn.PriorityDefault, now.Add(time.Hour)); r != Allowed {
		t.Fatalf("an hour later: %v, want allowed", r)
	}
	if r := p.Resume().Check("s", "x", conn.PriorityDefault, now); r != Allowed {
		t.Fatalf("after resume: %v", r)
	}
}

func TestTheStatusShowsEverySettingThatHidesPopups(t *testing.T) {
	p := Policy{MinPriority: conn.PriorityHigh, PausedUntil: at("23:15"),
		DND: DND{Enabled: true, Start: tod("22:00"), End: tod("07:00"), AllowUrgent: true}, Muted: []Mute{{Source: "ci"}}}
	s := p.Status(at("23:00"))
	if !s.Quiet() || s.HiddenBelow != conn.PriorityHigh || !s.Paused || !s.DND || !s.DNDUrgentOK || s.MutedCount != 1 {
		t.Fatalf("status = %+v", s)
	}
	if want := at("07:00").AddDate(0, 0, 1); !s.DNDUntil.Equal(want) {
		t.Fatalf("DND until %v, want the next morning %v", s.DNDUntil, want)
	}
	text := strings.Join(s.Lines(), " ")
	for _, want := range []string{"paused until 23:15", "until 07:00", "urgent messages still pop up", "below high priority", "in history", "1 muted"} {
		if !strings.Contains(text, want) {
			t.Errorf("status text %q lacks %q", text, want)
		}
	}
	if s := (Policy{}).Status(at("12:00")); s.Quiet() || len(s.Lines()) != 0 {
		t.Fatalf("the zero policy reports %+v", s)
	}
	if s := (Policy{MinPriority: conn.PriorityMin}).Status(at("12:00")); s.Quiet() {
		t.Fatal("a minimum of 'min' hides nothing but is reported")
	}
}

func TestThePolicyRoundTripsThroughJSON(t *testing.T) {
	p := Policy{MinPriority: conn.PriorityLow, PausedUntil: at("10:00").UTC(),
		DND: DND{Enabled: true, Start: tod("22:30"), End: tod("06:45"), AllowUrgent: true}, Muted: []Mute{{Server: "s", Source: "x"}}}
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var back Policy
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p, back) {
		t.Fatalf("%s came back as %+v", data, back)
	}
}

func TestTimesOfDayParseAndPrint(t *testing.T) {
	for _, s := range []string{"00:00", "07:05", "22:00", "23:59"} {
		if got := tod(s).String(); got != s {
			t.Errorf("%s printed as %s", s, got)
		}
	}
	for _, bad := range []string{"24:00", "7", "ab:cd", ""} {
		if _, err := ParseTimeOfDay(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestPrioritiesMapToUrgencies(t *testing.T) {
	want := map[conn.Priority]Urgency{0: UrgencyNormal, conn.PriorityMin: UrgencyLow, conn.PriorityLow: UrgencyLow,
		conn.PriorityDefault: UrgencyNormal, conn.PriorityHigh: UrgencyNormal, conn.PriorityUrgent: UrgencyCritical}
	for p, u := range want {
		if got := UrgencyFor(p); got != u {
			t.Errorf("priority %d → %v, want %v", p, got, u)
		}
	}
}
