package app

import (
	"image/color"
	"math"
	"strings"
	"time"

	"github.com/pgm-explorer/pgm-explorer/viz"
)

// MaxBusyFPS caps the pictures per second while the replay is bound by
// the CPU (see Frame).
const MaxBusyFPS = 15

// uiSizes are the sizes of the app's own parts of the frame (the control
// bar, the tour panel and the overlays) in frame pixels: sizes in CSS
// pixels (the browser's, or the desktop's logical pixels) times the
// device scale, so that text reads the same on a 2x screen. Nothing a
// person reads is under 11 CSS pixels.
type uiSizes struct {
	scale float64 // frame pixels per CSS pixel, at least 1
	fs    int     // body text
	small int     // hints and notes
	title int     // overlay titles
	pad   int
	gap   int // between lines
}

func newUISizes(scale float64) uiSizes {
	if !(scale >= 1) {
		scale = 1
	}
	px := func(v float64) int { return int(math.Round(v * scale)) }
	return uiSizes{scale: scale, fs: px(14), small: px(12), title: px(16), pad: px(8), gap: px(3)}
}

// px converts CSS pixels to frame pixels.
func (u *uiSizes) px(v int) int { return int(math.Round(float64(v) * u.scale)) }

// button is a clickable part of the control bar.
type button struct {
	r  viz.Rect
	do func(a *App)
}

func (a *App) barHeight() int {
	w, _ := a.frameW()
	return a.barRows(w) * a.barRowH()
}

func (u *uiSizes) lineH(size int) int { return viz.LineHeight(viz.FaceRegular, size) + u.gap }

// Frame returns the display list of the current frame and whether it
// changed since the last call: when it did not, there is nothing to
// draw. The list is the app's: valid until the next Update.
//
// While the replay is bound by the CPU, what it changes is redrawn at
// most MaxBusyFPS times a second: a picture costs milliseconds to lay
// out, rasterise, upload and present, which flat out would otherwise
// take from the replay sixty times a second, and nobody reads sixty
// pictures a second of a million events each. What the user does (a
// key, the mouse) is still drawn at once.
func (a *App) Frame() (*viz.List, bool) {
	now := time.Now()
	if a.stale && (!a.p.late || now.Sub(a.built) >= time.Second/MaxBusyFPS) {
		a.dirty = true
	}
	if !a.dirty {
		return &a.list, false
	}
	a.dirty, a.stale = false, false
	a.built = now
	a.frame++
	w, h := a.FrameSize()
	bar, th := a.barHeight(), a.tourHeight()
	a.vizH = h - bar - th
	a.layoutViz(w, a.vizH)
	l := &a.list
	l.Width, l.Height = w, h
	a.buttons = a.buttons[:0]
	if a.tour {
		a.drawLook()
	}
	y := a.vizH
	a.tourY = 0
	if th > 0 {
		a.tourY = y
		a.drawTour(viz.R(0, y, w, th))
		y += th
	}
	a.barY = y
	a.drawBar(viz.R(0, y, w, bar))
	if a.ins.cmp != nil {
		a.drawCompare()
	} else if a.ins.moment != nil {
		a.drawChanges()
	}
	if a.ins.hot != nil {
		a.drawHotSpots()
	}
	a.drawFocus()
	switch {
	case a.quiz != nil:
		a.drawQuiz(w, h)
	case a.prompt != nil:
		a.drawPrompt(w, h)
	case a.picker != nil:
		a.drawPicker(w, h)
	case a.help:
		a.drawHelp(w, h)
	case a.hoverOK || a.gloss != "":
		a.drawTooltip(w, h)
	}
	a.drawMessages(w)
	return l, true
}

// layoutViz lays the panels out into the list: the same display list
// `explorer render` draws for the same state and size.
func (a *App) layoutViz(w, h int) {
	m := &a.model
	m.Engine = a.p.eng
	m.Recent = a.p.recent
	m.Timeline = a.p.timeline
	m.History = a.p.history
	m.Counter = a.counter
	m.StatsFrom = a.p.statsFrom()
	m.View = a.view
	m.VA, m.HasVA = a.va, a.hasVA
	m.Width, m.Height = w, h
	m.Scale = a.ui.scale
	m.HideLabels = false
	if lab, ok := a.p.currentLabel(); ok && a.quiz != nil && a.quiz.chosen < 0 && a.tour {
		m.HideLabels, m.HideFrom = true, lab.Event
	}
	m.Title = a.p.src.Name()
	m.Marks = a.searchMarks()
	viz.Layout(m, &a.list)
	// Layout clamps to its minimum size; the bar goes below what it drew.
	a.vizH = a.list.Height
}

// VizModel is the model of the panels as the last frame showed them.
func (a *App) VizModel() *viz.Model { return &a.model }

// VizHeight is the height of the panels in the last frame (the rest is
// the tour panel and the control bar).
func (a *App) VizHeight() int { return a.vizH }

func (a *App) text(x, y int, f viz.Face, size int, c color.RGBA, s string) int {
	return a.list.Text(x, y, f, size, c, s)
}

// fit cuts s with an ellipsis to at most w pixels.
func fit(f viz.Face, size, w int, s string) string {
	if viz.Measure(f, size, s) <= w {
		return s
	}
	r := []rune(s)
	for len(r) > 0 && viz.Measure(f, size, string(r)+"…") > w {
		r = r[:len(r)-1]
	}
	if len(r) == 0 {
		return ""
	}
	return string(r) + "…"
}

// wrap breaks s into lines of at most w pixels.
func wrap(f viz.Face, size, w int, s string) []string {
	var lines []string
	var cur string
	for _, word := range strings.Fields(s) {
		try := word
		if cur != "" {
			try = cur + " " + word
		}
		if viz.Measure(f, size, try) <= w || cur == "" {
			cur = try
			continue
		}
		lines = append(lines, cur)
		cur = word
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return lines
}

// click handles a press of the left button at (x, y).
func (a *App) click(x, y int) {
	if a.prompt != nil {
		return
	}
	if a.picker != nil {
		for i, r := range a.picker.rects {
			if r.Contains(x, y) {
				a.picker.sel = i
				a.pick(i)
				return
			}
		}
		a.picker = nil
		a.dirty = true
		return
	}
	if a.help {
		a.help = false
		a.dirty = true
		return
	}
	if a.hotClick(x, y) {
		return
	}
	for _, b := range a.buttons {
		if b.r.Contains(x, y) {
			b.do(a)
			a.dirty = true
			return
		}
	}
	if y >= a.vizH {
		return
	}
	id, ok := a.list.HitTest(x, y)
	if !ok {
		return
	}
	switch id.Kind {
	case viz.HitTimeline:
		a.dragging = true
		a.Seek(id.Event)
	case viz.HitEntry:
		if id.Hier != viz.HierNested {
			a.Select(xva(id.Addr))
		}
	case viz.HitWalkLevel:
		// A level of the walk: what if it were different?
		if id.Hier == viz.HierGuest {
			a.whatLevel = id.Level
			a.openWhatIf()
		}
	case viz.HitOutcome:
		// Only accesses and invlpg name a virtual address: a cr3, cpl or
		// physical write row has none to follow.
		if o := a.recentOutcome(id.Event); o != nil && hasVA(o.Event.Kind) {
			a.Select(xva(id.Addr))
		}
	case viz.HitCounter:
		// A second click on the same counter puts the timeline back.
		if a.counter == id.Name {
			a.counter = ""
		} else {
			a.counter = id.Name
		}
		a.dirty = true
	}
}
