package ui

import (
	"slices"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/tidings-app/tidings/conn"
)

type settingsFixture struct {
	q     *uiQueue
	store *fakeSettings
	win   *SettingsWindow
	langs []string
	saved []Settings
}

func newSettingsFixture(t *testing.T, initial Settings) *settingsFixture {
	t.Helper()
	useLanguage(t, LangEnglish)
	f := &settingsFixture{q: installUIQueue(t), store: &fakeSettings{s: initial}}
	f.win = NewSettingsWindow(SettingsConfig{
		App: test.NewTempApp(t), Store: f.store, History: newFakeHistory(6),
		OnChange:   func(s Settings) { f.saved = append(f.saved, s) },
		OnLanguage: func(c string) { f.langs = append(f.langs, c) },
	})
	f.win.Show()
	f.q.until(t, "the source list", func() bool { return len(f.win.muteChecks) == 3 })
	return f
}

func TestSettingsWindowShowsWhatIsStored(t *testing.T) {
	f := newSettingsFixture(t, Settings{
		MinPopupPriority: conn.PriorityHigh,
		DND:              DNDSchedule{Enabled: true, From: 22 * time.Hour, To: 7*time.Hour + 30*time.Minute, AllowUrgent: true},
		MutedSources:     []string{"ci"}, ConnectionLostNotice: true, RetentionDays: 30,
		CAFile: "/etc/ca.pem", StartAtLogin: true, Language: LangChinese,
	})
	w := f.win
	switch {
	case w.minPrio.Selected != "High":
		t.Errorf("priority %q", w.minPrio.Selected)
	case !w.dndOn.Checked || w.dndFrom.Text != "22:00" || w.dndTo.Text != "07:30" || !w.dndUrgent.Checked:
		t.Errorf("dnd %v %q %q %v", w.dndOn.Checked, w.dndFrom.Text, w.dndTo.Text, w.dndUrgent.Checked)
	case w.days.Text != "30" || w.max.Text != "":
		t.Errorf("retention %q %q", w.days.Text, w.max.Text)
	case w.caFile.Text != "/etc/ca.pem" || !w.autostart.Checked || !w.lostNote.Checked:
		t.Errorf("ca %q autostart %v lost %v", w.caFile.Text, w.autostart.Checked, w.lostNote.Checked)
	case w.language.Selected != "简体中文":
		t.Errorf("language %q", w.language.Selected)
	}
	var muted []string
	for _, m := range w.muteChecks {
		if m.check.Checked {
			muted = append(muted, m.source)
		}
	}
	if !slices.Equal(muted, []string{"ci"}) {
		t.Errorf("muted %v", muted)
	}
	if f.store.saves != 0 {
		t.Errorf("showing the window saved %d times", f.store.saves)
	}
}

func TestEveryChangeIsSavedAtOnce(t *testing.T) {
	f := newSettingsFixture(t, Settings{})
	w := f.win
	w.minPrio.SetSelected("Urgent")
	if f.store.Load().MinPopupPriority != conn.PriorityUrgent {
		t.Fatalf("priority not saved: %+v", f.store.Load())
	}
	test.Tap(w.dndOn)
	w.dndFrom.SetText("")
	test.Type(w.dndFrom, "23:15")
	w.dndTo.SetText("06:00")
	test.Tap(w.dndUrgent)
	test.Tap(w.muteChecks[0].check)
	test.Tap(w.lostNote)
	test.Type(w.days, "14")
	test.Type(w.max, "5000")
	w.caFile.SetText("/home/me/ca.pem")
	test.Tap(w.autostart)

	s := f.store.Load()
	want := Settings{
		MinPopupPriority: conn.PriorityUrgent,
		DND:              DNDSchedule{Enabled: true, From: 23*time.Hour + 15*time.Minute, To: 6 * time.Hour, AllowUrgent: true},
		MutedSources:     []string{"alerts"}, ConnectionLostNotice: true, RetentionDays: 14, RetentionMax: 5000,
		CAFile: "/home/me/ca.pem", StartAtLogin: true,
	}
	if s.MinPopupPriority != want.MinPopupPriority || s.DND != want.DND || !slices.Equal(s.MutedSources, want.MutedSources) ||
		s.ConnectionLostNotice != want.ConnectionLostNotice || s.RetentionDays != 14 || s.RetentionMax != 5000 ||
		s.CAFile != want.CAFile || !s.StartAtLogin {
		t.Fatalf("saved\n%+v\nwant\n%+v", s, want)
	}
	if len(f.saved) == 0 || f.saved[len(f.saved)-1].RetentionMax != 5000 {
		t.Fatal("OnChange not told")
	}
	// A new window built from the store shows the same settings: they persist.
	again := NewSettingsWindow(SettingsConfig{App: test.NewTempApp(t), Store: f.store})
	again.Show()
	if again.dndFrom.Text != "23:15" || again.max.Text != "5000" || !again.autostart.Checked {
		t.Fatalf("reopened: %q %q %v", again.dndFrom.Text, again.max.Text, again.autostart.Checked)
	}
}

func TestInvalidInputIsExplainedAndNotSaved(t *testing.T) {
	f := newSettingsFixture(t, Settings{RetentionDays: 7})
	w := f.win
	w.dndFrom.SetText("25:00")
	if !w.errLabel.Visible() || w.errLabel.Text != "Enter times as HH:MM, for example 22:00." {
		t.Fatalf("error %q", w.errLabel.Text)
	}
	w.dndFrom.SetText("22:00")
	if w.errLabel.Visible() {
		t.Fatal("error stays after the fix")
	}
	w.days.SetText("a week")
	if w.errLabel.Text != "Enter a whole number, or leave it empty for no limit." || f.store.Load().RetentionDays != 7 {
		t.Fatalf("error %q, stored days %d", w.errLabel.Text, f.store.Load().RetentionDays)
	}
}

func TestChangingTheLanguageIsSavedAndAnnounced(t *testing.T) {
	f := newSettingsFixture(t, Settings{})
	f.win.language.SetSelected("简体中文")
	if f.store.Load().Language != LangChinese || !slices.Equal(f.langs, []string{LangChinese}) {
		t.Fatalf("stored %q, announced %v", f.store.Load().Language, f.langs)
	}
}

func TestClockParsing(t *testing.T) {
	for in, want := range map[string]time.Duration{"00:00": 0, "7:05": 7*time.Hour + 5*time.Minute, " 23:59 ": 23*time.Hour + 59*time.Minute} {
		if got, ok := parseClock(in); !ok || got != want {
			t.Errorf("parseClock(%q) = %v, %v", in, got, ok)
		}
	}
	for _, bad := range []string{"", "24:00", "12:60", "12", "12:5", "-1:00", "ab:cd"} {
		if _, ok := parseClock(bad); ok {
			t.Errorf("parseClock(%q) accepted", bad)
		}
	}
}

func TestAnEditInTheOpenWindowKeepsWhatTheTrayChanged(t *testing.T) {
	f := newSettingsFixture(t, Settings{})
	// The tray turns on start-at-login while the window is open.
	s := f.store.Load()
	s.StartAtLogin, s.DoNotDisturb = true, true
	_ = f.store.Save(s)
	test.Type(f.win.days, "3")
	if got := f.store.Load(); !got.StartAtLogin || !got.DoNotDisturb || got.RetentionDays != 3 {
		t.Fatalf("edit lost the tray's change: %+v", got)
	}
}

func TestAProblemStaysShownUntilItsFieldIsFixed(t *testing.T) {
	f := newSettingsFixture(t, Settings{})
	f.win.dndTo.SetText("7")
	test.Type(f.win.days, "3")
	if !f.win.errLabel.Visible() || f.win.errLabel.Text != "Enter times as HH:MM, for example 22:00." {
		t.Fatalf("DND problem hidden by another edit: %q", f.win.errLabel.Text)
	}
	if f.store.Load().RetentionDays != 3 {
		t.Fatal("a valid field was not saved while another was invalid")
	}
	f.win.dndTo.SetText("07:00")
	if f.win.errLabel.Visible() {
		t.Fatal("problem shown after the fix")
	}
}
