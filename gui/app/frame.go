package app

import (
	"fmt"
	"image/color"
	"strconv"
	"strings"
	"time"

	"github.com/pgm-explorer/pgm-explorer/viz"
)

// MaxBusyFPS caps the pictures per second while the replay is bound by
// the CPU (see Frame).
const MaxBusyFPS = 15

// Sizes of the app's own parts of the frame (the control bar, the tour
// panel and the overlays), in pixels at the smallest frame.
const (
	fs      = 13 // body text
	fsSmall = 11
	pad     = 8
)

// button is a clickable part of the control bar.
type button struct {
	r  viz.Rect
	do func(a *App)
}

func (a *App) barHeight() int { return viz.LineHeight(viz.FaceRegular, fs) + 2*pad }

// tourHeight is the height of the explanation panel: four lines of text
// when the tour is on and a label has been reached.
func (a *App) tourHeight() int {
	if !a.tour || a.p == nil || len(a.p.labels) == 0 {
		return 0
	}
	return 4*lineH(fs) + lineH(fsSmall) + 3*pad
}

func lineH(size int) int { return viz.LineHeight(viz.FaceRegular, size) + 3 }

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
	y := a.vizH
	a.tourY = 0
	if th > 0 {
		a.tourY = y
		a.drawTour(viz.R(0, y, w, th))
		y += th
	}
	a.barY = y
	a.drawBar(viz.R(0, y, w, bar))
	switch {
	case a.prompt != nil:
		a.drawPrompt(w, h)
	case a.picker != nil:
		a.drawPicker(w, h)
	case a.help:
		a.drawHelp(w, h)
	case a.hoverOK:
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
	m.StatsFrom = 0
	if a.p.seng != nil && a.p.eng == a.p.seng.cur {
		m.StatsFrom = a.p.seng.since
	}
	m.View = a.view
	m.VA, m.HasVA = a.va, a.hasVA
	m.Width, m.Height = w, h
	m.Title = a.p.src.Name()
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

// drawBar draws the control bar: transport buttons, the position, the
// speed, the views and the menus.
func (a *App) drawBar(r viz.Rect) {
	l := &a.list
	l.BeginPanel("controls", r)
	l.Fill(r, viz.ColPanel)
	l.Fill(viz.R(r.X, r.Y, r.W, 1), viz.ColBorder)
	p := a.p
	x := r.X + pad
	bh := r.H - 2*pad + 4
	by := r.Y + pad - 2
	ty := r.Y + pad
	btn := func(label string, accent bool, do func(*App)) {
		w := viz.Measure(viz.FaceBold, fs, label) + 2*pad
		br := viz.R(x, by, w, bh)
		bg, fg := viz.ColHeader, viz.ColText
		if accent {
			bg, fg = viz.Blue, viz.OnColor(viz.Blue)
		}
		l.Fill(br, bg)
		l.Stroke(br, 1, viz.ColBorder)
		l.Text(x+pad, ty, viz.FaceBold, fs, fg, label)
		a.buttons = append(a.buttons, button{br, do})
		x += w + pad/2
	}
	if p.playing {
		btn("Pause", true, (*App).TogglePlay)
	} else {
		btn("Play", true, (*App).TogglePlay)
	}
	btn("◄", false, func(a *App) { a.Step(-1) })
	btn("►", false, func(a *App) { a.Step(1) })
	btn("next fault", false, func(a *App) { a.StepUntil(UntilFault) })
	btn("next label", false, func(a *App) { a.StepUntil(UntilLabel) })
	btn("−", false, (*App).Slower)
	x += a.text(x, ty, viz.FaceRegular, fs, viz.ColText, speedName(Speeds[p.speed])) + pad/2
	btn("+", false, (*App).Faster)
	x += pad
	pos := "event " + group(p.pos())
	if p.totalKnown {
		pos += " of " + group(p.total)
	}
	x += a.text(x, ty, viz.FaceMono, fs, viz.ColText, pos) + 2*pad
	status := ""
	switch {
	case p.loading != nil:
		phase, frac, _ := p.loadProgress()
		status = fmt.Sprintf("%s… %d%%", phase, int(frac*100))
	case p.seeking:
		status = "seeking…"
	case p.until != UntilNone:
		status = "running to the next " + p.until.String() + "…"
	case p.err != nil:
		status = "stopped: error"
	case p.ended:
		status = "end of the trace"
	case p.playing:
		status = "playing"
	default:
		status = "paused"
	}
	x += a.text(x, ty, viz.FaceRegular, fs, viz.ColDim, status) + 2*pad
	// Right-aligned: views and menus.
	rx := r.Right() - pad
	rbtn := func(label string, sel bool, do func(*App)) {
		w := viz.Measure(viz.FaceRegular, fs, label) + 2*pad
		rx -= w
		br := viz.R(rx, by, w, bh)
		if sel {
			l.Fill(br, viz.Tint(viz.Blue, 0.8))
		}
		l.Stroke(br, 1, viz.ColBorder)
		l.Text(rx+pad, ty, viz.FaceRegular, fs, viz.ColText, label)
		a.buttons = append(a.buttons, button{br, do})
		rx -= pad / 2
	}
	rbtn("? help", a.help, (*App).ToggleHelp)
	rbtn("o scenarios", a.picker != nil, (*App).openPicker)
	names := viz.ViewNames()
	for i := len(names) - 1; i >= 0; i-- {
		v := viz.View(i)
		rbtn(strconv.Itoa(i+1)+" "+names[i], a.view == v, func(a *App) { a.SetView(v) })
	}
	_ = x
}

// group writes n with thousands separators.
func group(n uint64) string {
	s := strconv.FormatUint(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// drawTour draws the explanation of the current label.
func (a *App) drawTour(r viz.Rect) {
	l := &a.list
	l.BeginPanel("tour", r)
	l.Fill(r, viz.Tint(viz.SkyBlue, 0.85))
	l.Fill(viz.R(r.X, r.Y, r.W, 1), viz.ColBorder)
	in := r.Inset(pad)
	lab, ok := a.p.currentLabel()
	n, idx := len(a.p.labels), 0
	for i, x := range a.p.labels {
		if x.Event == lab.Event {
			idx = i
		}
	}
	head := "Step " + strconv.Itoa(idx+1) + " of " + strconv.Itoa(n)
	body := lab.Text
	if !ok {
		head = "Guided tour"
		body = "Press space (or n) to start. The replay stops at each step of the tour so that you can read what changed; the panels above show the guest's page tables, the shadow tables the hypervisor builds from them, and how the last address was translated."
	}
	hw := a.text(in.X, in.Y, viz.FaceBold, fs, viz.ColText, head)
	if ok {
		if tip := tourTip(lab.Text); tip != "" {
			a.text(in.X+hw+2*pad, in.Y, viz.FaceRegular, fs, viz.Blue, fit(viz.FaceRegular, fs, in.W-hw-2*pad, "Look at: "+tip))
		}
	}
	y := in.Y + lineH(fs)
	lines := wrap(viz.FaceRegular, fs, in.W, body)
	for i, s := range lines {
		if i == 3 {
			break
		}
		if i == 2 && len(lines) > 3 {
			s = fit(viz.FaceRegular, fs, in.W, s+" "+strings.Join(lines[3:], " "))
		}
		a.text(in.X, y, viz.FaceRegular, fs, viz.ColText, s)
		y += lineH(fs)
	}
	a.text(in.X, in.Bottom()-lineH(fsSmall)+3, viz.FaceRegular, fsSmall, viz.ColDim,
		"space: play to the next step · p: previous step · t: hide these explanations · ?: all keys")
}

// box draws a centred overlay box of w x h and returns its inside.
func (a *App) box(name string, fw, fh, w, h int) viz.Rect {
	w, h = min(w, fw-2*pad), min(h, fh-2*pad)
	r := viz.R((fw-w)/2, max((fh-h)/3, pad), w, h)
	l := &a.list
	l.BeginPanel(name, viz.R(0, 0, fw, fh))
	l.Fill(viz.R(0, 0, fw, fh), color.RGBA{0, 0, 0, 70})
	l.Fill(r, viz.ColPanel)
	l.Stroke(r, 2, viz.ColText)
	return r.Inset(2 * pad)
}

func (a *App) drawHelp(fw, fh int) {
	keyW := 0
	for _, k := range KeyHelp {
		keyW = max(keyW, viz.Measure(viz.FaceMono, fs, k[0]))
	}
	descW := 0
	for _, k := range KeyHelp {
		descW = max(descW, viz.Measure(viz.FaceRegular, fs, k[1]))
	}
	h := (len(KeyHelp)+3)*lineH(fs) + 4*pad
	in := a.box("help", fw, fh, keyW+descW+6*pad, h)
	a.text(in.X, in.Y, viz.FaceBold, fs+2, viz.ColText, "Keys")
	y := in.Y + lineH(fs) + pad
	for _, k := range KeyHelp {
		a.text(in.X, y, viz.FaceMono, fs, viz.Blue, k[0])
		a.text(in.X+keyW+2*pad, y, viz.FaceRegular, fs, viz.ColText, k[1])
		y += lineH(fs)
	}
	a.text(in.X, y+pad/2, viz.FaceRegular, fsSmall, viz.ColDim, "Hover over anything for its details. Esc or ? closes this.")
}

func (a *App) drawPrompt(fw, fh int) {
	pr := a.prompt
	w := min(720, fw-4*pad)
	in := a.box("prompt", fw, fh, w, 4*lineH(fs)+5*pad)
	a.text(in.X, in.Y, viz.FaceBold, fs, viz.ColText, pr.title)
	fr := viz.R(in.X, in.Y+lineH(fs)+pad/2, in.W, lineH(fs)+pad)
	a.list.Fill(fr, viz.ColHeader)
	a.list.Stroke(fr, 1, viz.Blue)
	tx := fr.X + pad/2
	tw := a.text(tx, fr.Y+pad/2, viz.FaceMono, fs, viz.ColText, fit(viz.FaceMono, fs, fr.W-pad*2, pr.text))
	a.list.Fill(viz.R(tx+tw+1, fr.Y+pad/2, 2, lineH(fs)-2), viz.ColText)
	y := fr.Bottom() + pad/2
	if pr.err != "" {
		a.text(in.X, y, viz.FaceRegular, fsSmall, viz.Vermilion, fit(viz.FaceRegular, fsSmall, in.W, pr.err))
	} else {
		a.text(in.X, y, viz.FaceRegular, fsSmall, viz.ColDim, fit(viz.FaceRegular, fsSmall, in.W, pr.hint))
	}
}

func (a *App) drawPicker(fw, fh int) {
	pk := a.picker
	rowH := lineH(fs) + 4
	w := min(820, fw-4*pad)
	// Title, rows, three section heads with their gaps, the footer.
	in := a.box("scenarios", fw, fh, w, (len(pk.items)+6)*rowH+7*pad)
	a.text(in.X, in.Y, viz.FaceBold, fs+2, viz.ColText, "Scenarios and configuration")
	y := in.Y + rowH + pad
	pk.rects = pk.rects[:0]
	section := func(s string) {
		a.text(in.X, y, viz.FaceBold, fsSmall, viz.ColDim, s)
	}
	last := pickKind(255)
	for i, it := range pk.items {
		head := ""
		switch {
		case it.kind == pickSample && last != pickSample:
			head = "TRACES"
		case it.kind == pickWorkload && last != pickWorkload:
			head = "LIVE WORKLOADS (a guest model that reacts to each outcome)"
		case it.kind == pickHost:
			head = "CONFIGURATION (the same guest, another hypervisor)"
		}
		if head != "" && i > 0 {
			y += pad / 2
		}
		if head != "" {
			section(head)
			y += rowH
		}
		last = it.kind
		rr := viz.R(in.X, y-2, in.W, rowH)
		pk.rects = append(pk.rects, rr)
		if i == pk.sel {
			a.list.Fill(rr, viz.Tint(viz.Blue, 0.8))
		}
		lw := a.text(in.X+pad, y, viz.FaceBold, fs, viz.ColText, it.label)
		note := it.note
		switch it.kind {
		case pickHost, pickPaging, pickPool:
			note = "◄ " + pk.configValue(it.kind, a.p.cfg) + " ►"
		}
		nx := in.X + max(lw+2*pad, in.W*2/5)
		a.text(nx, y, viz.FaceRegular, fs, viz.ColDim, fit(viz.FaceRegular, fs, in.Right()-nx, note))
		y += rowH
	}
	a.text(in.X, y+pad/2, viz.FaceRegular, fsSmall, viz.ColDim, "↑ ↓ choose · Enter opens · ← → change a setting · Esc closes")
}

// drawTooltip describes what is under the cursor.
func (a *App) drawTooltip(fw, fh int) {
	lines := a.describe(a.hover)
	if len(lines) == 0 {
		return
	}
	w := 0
	for i, s := range lines {
		f := viz.FaceMono
		if i == 0 {
			f = viz.FaceBold
		}
		w = max(w, viz.Measure(f, fsSmall+1, s))
	}
	w += 2 * pad
	h := len(lines)*lineH(fsSmall+1) + pad
	x, y := a.mx+16, a.my+18
	if x+w > fw {
		x = max(0, a.mx-w-8)
	}
	if y+h > fh {
		y = max(0, a.my-h-8)
	}
	r := viz.R(x, y, w, h)
	l := &a.list
	l.BeginPanel("tooltip", r)
	l.Fill(r, viz.Alpha(viz.ColText, 235))
	for i, s := range lines {
		f, c := viz.FaceMono, viz.ColPanel
		if i == 0 {
			f = viz.FaceBold
		}
		l.Text(x+pad, y+pad/2+i*lineH(fsSmall+1), f, fsSmall+1, c, s)
	}
}

// drawMessages draws the last error and the latest notice at the top
// right, over the panels.
func (a *App) drawMessages(fw int) {
	msg, col := a.toast, viz.ColText
	if a.err != "" {
		msg, col = a.err+"  (Esc)", viz.Vermilion
	} else if a.p.err != nil {
		msg, col = "the replay stopped: "+a.p.err.Error(), viz.Vermilion
	}
	if msg == "" {
		return
	}
	msg = fit(viz.FaceBold, fs, fw*2/3, msg)
	w := viz.Measure(viz.FaceBold, fs, msg) + 2*pad
	r := viz.R(fw-w-pad, a.barY-lineH(fs)-2*pad, w, lineH(fs)+pad)
	l := &a.list
	l.BeginPanel("message", r)
	l.Fill(r, col)
	l.Text(r.X+pad, r.Y+pad/2, viz.FaceBold, fs, viz.OnColor(col), msg)
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
