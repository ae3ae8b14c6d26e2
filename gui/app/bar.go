package app

import (
	"fmt"
	"strconv"

	"github.com/pgm-explorer/pgm-explorer/viz"
)

// The control bar: transport, speed, position and status on the left;
// views and menus on the right. When both do not fit on one row (a
// narrow window, a large text size) the right group wraps to a second
// row rather than draw over the status.

type barKind uint8

const (
	barButton barKind = iota // a button
	barAccent                // the main button (play)
	barTab                   // a view tab or a menu: selected or not
	barText                  // a value (speed, position)
	barDim                   // the status
)

type barItem struct {
	kind  barKind
	label string
	sel   bool
	face  viz.Face
	do    func(*App)
	key   string // the key that does the same, for the tooltip and the help
}

func (it *barItem) width(u *uiSizes) int {
	w := viz.Measure(it.face, u.fs, it.label)
	if it.kind <= barTab {
		w += 2 * u.pad
	}
	return w
}

// barItems are the bar's left and right groups, in drawing order (the
// right group from the right edge inwards).
func (a *App) barItems() (left, right []barItem) {
	p := a.p
	b := func(k barKind, label string, do func(*App), key string) {
		f := viz.FaceBold
		if k == barText {
			f = viz.FaceRegular
		}
		left = append(left, barItem{kind: k, label: label, face: f, do: do, key: key})
	}
	if p.playing {
		b(barAccent, "Pause", (*App).TogglePlay, "space")
	} else {
		b(barAccent, "Play", (*App).TogglePlay, "space")
	}
	b(barButton, "◄", func(a *App) { a.Step(-1) }, "←")
	b(barButton, "►", func(a *App) { a.Step(1) }, "→")
	b(barButton, "◄ fault", (*App).PrevFault, "F")
	b(barButton, "fault ►", func(a *App) { a.StepUntil(UntilFault) }, "f")
	if a.tour {
		b(barButton, "next step", func(a *App) { a.StepUntil(UntilLabel) }, "n")
	} else {
		b(barButton, "next label", func(a *App) { a.StepUntil(UntilLabel) }, "n")
	}
	b(barButton, "−", (*App).Slower, "[")
	b(barText, speedName(Speeds[p.speed]), nil, "")
	b(barButton, "+", (*App).Faster, "]")
	pos := "event " + group(p.pos())
	if p.totalKnown {
		pos += " of " + group(p.total)
	}
	left = append(left, barItem{kind: barText, label: pos, face: viz.FaceMono})
	left = append(left, barItem{kind: barDim, label: a.statusWord(), face: viz.FaceRegular})

	r := func(label string, sel bool, do func(*App), key string) {
		right = append(right, barItem{kind: barTab, label: label, sel: sel, face: viz.FaceRegular, do: do, key: key})
	}
	r("? help", a.help, (*App).ToggleHelp, "?")
	r("open a trace…", false, (*App).OpenFile, "")
	r("o scenarios", a.picker != nil, (*App).openPicker, "o")
	names := viz.ViewNames()
	for i := len(names) - 1; i >= 0; i-- {
		v := viz.View(i)
		r(strconv.Itoa(i+1)+" "+names[i], a.view == v, func(a *App) { a.SetView(v) }, strconv.Itoa(i+1))
	}
	return left, right
}

// statusWord says what the replay is doing.
func (a *App) statusWord() string {
	p := a.p
	switch {
	case p.loading != nil:
		phase, frac, _ := p.loadProgress()
		return fmt.Sprintf("%s… %d%%", phase, int(frac*100))
	case p.seeking:
		return "seeking…"
	case p.until != UntilNone:
		return "running to the next " + p.until.String() + "…"
	case p.err != nil:
		return "stopped: error"
	case p.ended:
		return "end of the trace"
	case p.waiting && p.playing:
		return "following: waiting for the guest's next stop"
	case p.playing:
		return "playing"
	}
	return "paused"
}

// barRows is the number of rows the bar needs at width w.
func (a *App) barRows(w int) int {
	u := &a.ui
	left, right := a.barItems()
	lw, rw := 0, 0
	for i := range left {
		lw += left[i].width(u) + u.pad/2
	}
	for i := range right {
		rw += right[i].width(u) + u.pad/2
	}
	if lw+rw+2*u.pad <= w {
		return 1
	}
	return 2
}

func (a *App) barRowH() int {
	u := &a.ui
	return viz.LineHeight(viz.FaceRegular, u.fs) + 2*u.pad
}

// drawBar draws the control bar in r.
func (a *App) drawBar(r viz.Rect) {
	u := &a.ui
	l := &a.list
	l.BeginPanel("controls", r)
	l.Fill(r, viz.ColPanel)
	l.Fill(viz.R(r.X, r.Y, r.W, 1), viz.ColBorder)
	left, right := a.barItems()
	rowH := a.barRowH()
	rows := a.barRows(r.W)
	place := func(it *barItem, x, y int) {
		w := it.width(u)
		br := viz.R(x, y+u.pad-u.px(2), w, rowH-2*u.pad+u.px(4))
		ty := y + u.pad
		switch it.kind {
		case barAccent:
			l.Fill(br, viz.Blue)
			l.Stroke(br, 1, viz.ColBorder)
			l.Text(x+u.pad, ty, it.face, u.fs, viz.OnColor(viz.Blue), it.label)
		case barButton:
			l.Fill(br, viz.ColHeader)
			l.Stroke(br, 1, viz.ColBorder)
			l.Text(x+u.pad, ty, it.face, u.fs, viz.ColText, it.label)
		case barTab:
			if it.sel {
				l.Fill(br, viz.Tint(viz.Blue, 0.8))
			}
			l.Stroke(br, 1, viz.ColBorder)
			l.Text(x+u.pad, ty, it.face, u.fs, viz.ColText, it.label)
		case barText:
			l.Text(x, ty, it.face, u.fs, viz.ColText, it.label)
		case barDim:
			l.Text(x, ty, it.face, u.fs, viz.ColDim, fit(it.face, u.fs, max(r.Right()-x-u.pad, 0), it.label))
		}
		if it.do != nil {
			a.buttons = append(a.buttons, button{br, it.do})
		}
	}
	x := r.X + u.pad
	for i := range left {
		place(&left[i], x, r.Y)
		x += left[i].width(u) + u.pad/2
	}
	rx, ry := r.Right()-u.pad, r.Y
	if rows > 1 {
		ry += rowH
	}
	for i := range right {
		rx -= right[i].width(u)
		place(&right[i], rx, ry)
		rx -= u.pad / 2
	}
}

// group writes n with thousands separators.
func group(n uint64) string {
	s := strconv.FormatUint(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
