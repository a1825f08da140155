package ui

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/tidings-app/tidings/conn"
)

// SettingsConfig configures the settings window.
type SettingsConfig struct {
	App     fyne.App
	Store   SettingsStore
	History History // for the list of sources to mute; may be nil
	// OnChange runs on the UI goroutine after every saved change.
	OnChange func(Settings)
	// OnLanguage runs on the UI goroutine when the language changed.
	OnLanguage func(choice string)
	// Timeout bounds the source-list query (default 5 s).
	Timeout time.Duration
	Log     *slog.Logger
}

// SettingsWindow edits Settings; every change is saved at once.
type SettingsWindow struct {
	cfg SettingsConfig
	win fyne.Window

	minPrio                    *widget.Select
	dndOn, dndUrgent, lostNote *widget.Check
	dndFrom, dndTo             *widget.Entry
	mutes                      *fyne.Container
	muteChecks                 []muteCheck
	days, max, caFile          *widget.Entry
	autostart                  *widget.Check
	language                   *widget.Select
	errLabel                   *widget.Label
	form                       *fyne.Container
	problems                   map[string]string // open input problems by field group
	building                   bool
}

// NewSettingsWindow makes the window, hidden; Show builds the form from the
// stored settings (see NewHistoryWindow for why not before).
func NewSettingsWindow(cfg SettingsConfig) *SettingsWindow {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	s := &SettingsWindow{cfg: cfg, win: cfg.App.NewWindow(T("settings.title"))}
	s.win.SetCloseIntercept(func() { hideWindow(s.win) })
	s.win.Resize(fyne.NewSize(480, 620))
	return s
}

// Window returns the Fyne window.
func (s *SettingsWindow) Window() fyne.Window { return s.win }

// Show reloads the settings into the form, refreshes the source list and
// shows the window.
func (s *SettingsWindow) Show() {
	s.build()
	s.loadSources()
	showWindow(s.win)
	s.win.RequestFocus()
}

// Relocalise rebuilds the window in the current language.
func (s *SettingsWindow) Relocalise() {
	s.win.SetTitle(T("settings.title"))
	if s.form == nil {
		return // built in the current language when first shown
	}
	s.build()
	s.loadSources()
}

// languageChoices pairs Settings.Language values with their labels.
var languageChoices = []string{LangSystem, LangEnglish, LangChinese}

func languageLabel(c string) string {
	switch c {
	case LangEnglish:
		return T("lang.en")
	case LangChinese:
		return T("lang.zh")
	}
	return T("lang.system")
}

func (s *SettingsWindow) build() {
	s.building = true
	defer func() { s.building = false }()
	s.problems = map[string]string{}
	cur := s.cfg.Store.Load()

	prios := make([]string, 5)
	for i := range prios {
		prios[i] = priorityName(i + 1)
	}
	s.minPrio = widget.NewSelect(prios, func(string) { s.save("prio", s.readPriority) })
	p := int(cur.MinPopupPriority)
	if p < 1 || p > 5 {
		p = 1
	}
	s.minPrio.SetSelected(prios[p-1])

	s.dndOn = widget.NewCheck(T("settings.dnd.on"), func(bool) { s.save("dnd", s.readDND) })
	s.dndOn.Checked = cur.DND.Enabled
	s.dndFrom = widget.NewEntry()
	s.dndFrom.SetText(clock(cur.DND.From))
	s.dndTo = widget.NewEntry()
	s.dndTo.SetText(clock(cur.DND.To))
	s.dndFrom.OnChanged = func(string) { s.save("dnd", s.readDND) }
	s.dndTo.OnChanged = func(string) { s.save("dnd", s.readDND) }
	s.dndUrgent = widget.NewCheck(T("settings.dnd.urgent"), func(bool) { s.save("dnd", s.readDND) })
	s.dndUrgent.Checked = cur.DND.AllowUrgent

	s.mutes = container.NewVBox()
	s.setSources(cur.MutedSources, nil)

	s.lostNote = widget.NewCheck(T("settings.lostnotice"), func(on bool) {
		s.save("lost", func(st *Settings) string { st.ConnectionLostNotice = on; return "" })
	})
	s.lostNote.Checked = cur.ConnectionLostNotice

	s.days = widget.NewEntry()
	s.days.SetText(countText(cur.RetentionDays))
	s.days.SetPlaceHolder(T("settings.unlimited"))
	s.days.OnChanged = func(string) { s.save("days", s.readRetention) }
	s.max = widget.NewEntry()
	s.max.SetText(countText(cur.RetentionMax))
	s.max.SetPlaceHolder(T("settings.unlimited"))
	s.max.OnChanged = func(string) { s.save("days", s.readRetention) }

	s.caFile = widget.NewEntry()
	s.caFile.SetText(cur.CAFile)
	s.caFile.SetPlaceHolder(T("settings.ca.placeholder"))
	s.caFile.OnChanged = func(text string) {
		s.save("ca", func(st *Settings) string { st.CAFile = strings.TrimSpace(text); return "" })
	}
	browse := widget.NewButton(T("settings.ca.browse"), s.chooseCA)

	s.autostart = widget.NewCheck(T("settings.autostart"), func(on bool) {
		s.save("autostart", func(st *Settings) string { st.StartAtLogin = on; return "" })
	})
	s.autostart.Checked = cur.StartAtLogin

	langs := make([]string, len(languageChoices))
	for i, c := range languageChoices {
		langs[i] = languageLabel(c)
	}
	s.language = widget.NewSelect(langs, func(string) { s.save("lang", s.readLanguage) })
	s.language.SetSelected(languageLabel(cur.Language))

	s.errLabel = widget.NewLabel("")
	s.errLabel.Importance = widget.DangerImportance
	s.errLabel.Wrapping = fyne.TextWrapWord
	s.errLabel.Hide()

	heading := func(key string) *widget.Label {
		l := widget.NewLabel(T(key))
		l.TextStyle.Bold = true
		return l
	}
	s.form = container.NewVBox(
		heading("settings.notifications"),
		widget.NewLabel(T("settings.minprio")), s.minPrio,
		s.lostNote,
		heading("settings.dnd"),
		s.dndOn,
		container.NewGridWithColumns(4, widget.NewLabel(T("settings.dnd.from")), s.dndFrom,
			widget.NewLabel(T("settings.dnd.to")), s.dndTo),
		s.dndUrgent,
		heading("settings.mute"),
		s.mutes,
		heading("settings.history"),
		container.NewGridWithColumns(2, widget.NewLabel(T("settings.days")), s.days,
			widget.NewLabel(T("settings.max")), s.max),
		heading("settings.connection"),
		widget.NewLabel(T("settings.ca")),
		container.NewBorder(nil, nil, nil, browse, s.caFile),
		heading("settings.general"),
		s.autostart,
		widget.NewLabel(T("settings.language")), s.language,
		s.errLabel,
	)
	s.win.SetContent(container.NewVScroll(container.NewPadded(s.form)))
}

// setSources lists known (plus muted) sources with a check each.
func (s *SettingsWindow) setSources(muted, known []string) {
	all := append(slices.Clone(known), muted...)
	slices.Sort(all)
	all = slices.Compact(all)
	s.mutes.Objects, s.muteChecks = nil, nil
	if len(all) == 0 {
		s.mutes.Objects = append(s.mutes.Objects, widget.NewLabel(T("settings.mute.none")))
	}
	for _, src := range all {
		c := widget.NewCheck(T("settings.mute.source", map[string]any{"Source": oneLine(src)}), func(on bool) { s.save("mute", muteSource(src, on)) })
		c.Checked = slices.Contains(muted, src)
		s.mutes.Objects = append(s.mutes.Objects, c)
		s.muteChecks = append(s.muteChecks, muteCheck{c, src})
	}
	s.mutes.Refresh()
}

// muteCheck pairs a mute check with the raw source name.
type muteCheck struct {
	check  *widget.Check
	source string
}

func (s *SettingsWindow) loadSources() {
	h := s.cfg.History
	if h == nil {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout)
		defer cancel()
		known, err := h.Sources(ctx)
		if err != nil {
			s.cfg.Log.Warn("settings: sources", "err", err)
			return
		}
		runOnUI(func() {
			s.building = true
			s.setSources(s.cfg.Store.Load().MutedSources, known)
			s.building = false
			s.form.Refresh()
		})
	}()
}

func (s *SettingsWindow) chooseCA() {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil || r == nil {
			return
		}
		_ = r.Close()
		s.caFile.SetText(r.URI().Path()) // OnChanged saves
	}, s.win)
	d.Show()
}

// Each read function copies one group of fields from the form into st and
// returns a sentence when the input is invalid. Saving one group at a time
// keeps changes made elsewhere (the tray's toggles) that the open form
// does not know about.

func (s *SettingsWindow) readPriority(st *Settings) string {
	for i := 1; i <= 5; i++ {
		if s.minPrio.Selected == priorityName(i) {
			st.MinPopupPriority = conn.Priority(i)
		}
	}
	return ""
}

func (s *SettingsWindow) readDND(st *Settings) string {
	from, ok1 := parseClock(s.dndFrom.Text)
	to, ok2 := parseClock(s.dndTo.Text)
	if !ok1 || !ok2 {
		return T("settings.err.time")
	}
	st.DND = DNDSchedule{Enabled: s.dndOn.Checked, From: from, To: to, AllowUrgent: s.dndUrgent.Checked}
	return ""
}

func (s *SettingsWindow) readRetention(st *Settings) string {
	days, ok1 := parseCount(s.days.Text)
	maxN, ok2 := parseCount(s.max.Text)
	if !ok1 || !ok2 {
		return T("settings.err.number")
	}
	st.RetentionDays, st.RetentionMax = days, maxN
	return ""
}

func (s *SettingsWindow) readLanguage(st *Settings) string {
	for _, c := range languageChoices {
		if s.language.Selected == languageLabel(c) {
			st.Language = c
		}
	}
	return ""
}

func muteSource(src string, on bool) func(*Settings) string {
	return func(st *Settings) string {
		st.MutedSources = slices.DeleteFunc(st.MutedSources, func(m string) bool { return m == src })
		if on {
			st.MutedSources = append(st.MutedSources, src)
			slices.Sort(st.MutedSources)
		}
		return ""
	}
}

// save applies one group's change to the stored settings and saves them,
// or shows why the input is invalid. group names the field group so a
// problem stays shown until that group is fixed.
func (s *SettingsWindow) save(group string, read func(*Settings) string) {
	if s.building {
		return
	}
	old := s.cfg.Store.Load()
	next := old
	next.MutedSources = slices.Clone(old.MutedSources)
	if problem := read(&next); problem != "" {
		s.problems[group] = problem
		s.showProblems()
		return
	}
	delete(s.problems, group)
	if err := s.cfg.Store.Save(next); err != nil {
		s.cfg.Log.Warn("settings: save", "err", err)
		s.problems["save"] = T("settings.err.save")
		s.showProblems()
		return
	}
	delete(s.problems, "save")
	s.showProblems()
	if s.cfg.OnChange != nil {
		s.cfg.OnChange(next)
	}
	if next.Language != old.Language && s.cfg.OnLanguage != nil {
		s.cfg.OnLanguage(next.Language)
	}
}

// showProblems shows the first open problem under the form, in a fixed
// order, or hides the line.
func (s *SettingsWindow) showProblems() {
	text := ""
	for _, g := range []string{"dnd", "days", "save"} {
		if p := s.problems[g]; p != "" {
			text = p
			break
		}
	}
	s.showError(text)
}

// showError shows a sentence under the form, or hides it for "".
func (s *SettingsWindow) showError(text string) {
	s.errLabel.SetText(text)
	setVisible(s.errLabel, text != "")
	s.form.Refresh()
}

// clock formats an offset from midnight as HH:MM.
func clock(d time.Duration) string {
	m := int(d / time.Minute)
	return fmt.Sprintf("%02d:%02d", m/60%24, m%60)
}

// parseClock reads HH:MM (or H:MM) as an offset from midnight.
func parseClock(s string) (time.Duration, bool) {
	h, m, found := strings.Cut(strings.TrimSpace(s), ":")
	if !found {
		return 0, false
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || hh > 23 || mm < 0 || mm > 59 || len(m) != 2 {
		return 0, false
	}
	return time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute, true
}

// countText shows 0 (no limit) as an empty field.
func countText(n int) string {
	if n <= 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// parseCount reads a non-negative whole number; empty means 0 (no limit).
func parseCount(s string) (int, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, true
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 0
}
