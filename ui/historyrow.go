package ui

import (
	"image/color"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// runOnUI hands a function to the UI goroutine. It is Do (fyne.Do, after
// waking the UI loop if an Idler parked it); tests swap
// it for a queue they drain themselves, so background work and assertions
// never touch widgets at the same time.
var runOnUI = Do

// historyRow is one line of the history list: priority mark, title (bold
// while unread), source and time, and the body's first line.
type historyRow struct {
	widget.BaseWidget
	mark, title, when, source, body *widget.Label
	head, root                      *fyne.Container
}

func newHistoryRow() fyne.CanvasObject {
	r := &historyRow{
		mark:   widget.NewLabel(""),
		title:  widget.NewLabel(""),
		when:   widget.NewLabel(""),
		source: widget.NewLabel(""),
		body:   widget.NewLabel(""),
	}
	r.mark.Importance = widget.DangerImportance
	r.title.Truncation = fyne.TextTruncateEllipsis
	r.body.Truncation = fyne.TextTruncateEllipsis
	// Source and time in the caption size and the normal text colour:
	// LowImportance is Fyne's disabled grey, hard to read and lost on the
	// selected row.
	r.source.SizeName = theme.SizeNameCaptionText
	r.when.SizeName = theme.SizeNameCaptionText
	r.ExtendBaseWidget(r)
	return r
}

func (r *historyRow) CreateRenderer() fyne.WidgetRenderer {
	// The mark sits in a slot as wide as the widest mark, so titles line up.
	slot := canvas.NewRectangle(color.Transparent)
	slot.SetMinSize(widget.NewLabel(priorityMark(5)).MinSize())
	r.head = container.NewBorder(nil, nil, container.NewStack(slot, r.mark), container.NewHBox(r.source, r.when), r.title)
	r.root = container.NewVBox(r.head, r.body)
	return widget.NewSimpleRenderer(r.root)
}

// set shows e; now decides between a time and a date.
func (r *historyRow) set(e Entry, now time.Time) {
	r.mark.SetText(priorityMark(e.Priority))
	title := oneLine(e.Title)
	if title == "" {
		title = T("history.untitled")
	}
	r.title.TextStyle.Bold = !e.Read
	r.title.SetText(title)
	r.source.SetText(truncate(oneLine(e.Source), 24))
	r.when.SetText(shortTime(e.Sent, now))
	r.body.SetText(truncate(previewText(e.Body, e.Markdown), 200))
	r.body.Show()
	r.relayout()
}

// relayout lays the row out again: label widths change with their text.
func (r *historyRow) relayout() {
	if r.root != nil {
		r.head.Refresh()
		r.root.Refresh()
	}
}

// setPlaceholder shows a "loading" or "empty" line instead of a message.
func (r *historyRow) setPlaceholder(text string) {
	r.mark.SetText("")
	r.title.TextStyle.Bold = false
	r.title.SetText(text)
	r.source.SetText("")
	r.when.SetText("")
	r.body.SetText("")
	r.body.Hide()
	r.relayout()
}

// priorityMark is a symbol for high (!) and urgent (!!) messages.
func priorityMark[P ~int](p P) string {
	switch {
	case p >= 5:
		return "‼"
	case p == 4:
		return "!"
	}
	return " "
}

// shortTime is the clock time for today's messages, else the date.
func shortTime(t, now time.Time) string {
	t, now = t.Local(), now.Local()
	if t.Year() == now.Year() && t.YearDay() == now.YearDay() {
		return t.Format("15:04")
	}
	return t.Format("2006-01-02")
}
