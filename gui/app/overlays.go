package app

import (
	"image/color"
	"strconv"
	"strings"

	"github.com/pgm-explorer/pgm-explorer/viz"
)

// box draws a centred overlay box of w x h and returns its inside.
func (a *App) box(name string, fw, fh, w, h int) viz.Rect {
	u := &a.ui
	w, h = min(w, fw-2*u.pad), min(h, fh-2*u.pad)
	r := viz.R((fw-w)/2, max((fh-h)/3, u.pad), w, h)
	l := &a.list
	l.BeginPanel(name, viz.R(0, 0, fw, fh))
	l.Fill(viz.R(0, 0, fw, fh), color.RGBA{0, 0, 0, 70})
	l.Fill(r, viz.ColPanel)
	l.Stroke(r, 2, viz.ColText)
	return r.Inset(2 * u.pad)
}

func (a *App) drawHelp(fw, fh int) {
	u := &a.ui
	keyW := 0
	for _, k := range KeyHelp {
		keyW = max(keyW, viz.Measure(viz.FaceMono, u.fs, k[0]))
	}
	descW := 0
	for _, k := range KeyHelp {
		descW = max(descW, viz.Measure(viz.FaceRegular, u.fs, k[1]))
	}
	h := (len(KeyHelp)+3)*u.lineH(u.fs) + 4*u.pad
	in := a.box("help", fw, fh, keyW+descW+6*u.pad, h)
	a.text(in.X, in.Y, viz.FaceBold, u.fs+2, viz.ColText, "Keys")
	y := in.Y + u.lineH(u.fs) + u.pad
	for _, k := range KeyHelp {
		a.text(in.X, y, viz.FaceMono, u.fs, viz.Blue, k[0])
		a.text(in.X+keyW+2*u.pad, y, viz.FaceRegular, u.fs, viz.ColText, k[1])
		y += u.lineH(u.fs)
	}
	a.text(in.X, y+u.pad/2, viz.FaceRegular, u.small, viz.ColDim, "Hover over anything for its details. Esc or ? closes this.")
}

func (a *App) drawPrompt(fw, fh int) {
	u := &a.ui
	pr := a.prompt
	w := min(u.px(720), fw-4*u.pad)
	in := a.box("prompt", fw, fh, w, 4*u.lineH(u.fs)+5*u.pad)
	a.text(in.X, in.Y, viz.FaceBold, u.fs, viz.ColText, pr.title)
	fr := viz.R(in.X, in.Y+u.lineH(u.fs)+u.pad/2, in.W, u.lineH(u.fs)+u.pad)
	a.list.Fill(fr, viz.ColHeader)
	a.list.Stroke(fr, 1, viz.Blue)
	tx := fr.X + u.pad/2
	shown := fit(viz.FaceMono, u.fs, fr.W-u.pad*2, pr.text)
	tw := a.text(tx, fr.Y+u.pad/2, viz.FaceMono, u.fs, viz.ColText, shown)
	a.list.Fill(viz.R(tx+tw+1, fr.Y+u.pad/2, 2, u.lineH(u.fs)-2), viz.ColText)
	if c := pr.errCol; c > 0 && c <= len(shown)+1 {
		// Underline the column the error is about.
		cx := tx + viz.Measure(viz.FaceMono, u.fs, shown[:min(c-1, len(shown))])
		cw := max(viz.Measure(viz.FaceMono, u.fs, "m"), u.px(6))
		a.list.Fill(viz.R(cx, fr.Bottom()-u.px(4), cw, u.px(3)), viz.Vermilion)
	}
	y := fr.Bottom() + u.pad/2
	if pr.err != "" {
		a.text(in.X, y, viz.FaceRegular, u.small, viz.Vermilion, fit(viz.FaceRegular, u.small, in.W, pr.err))
	} else {
		a.text(in.X, y, viz.FaceRegular, u.small, viz.ColDim, fit(viz.FaceRegular, u.small, in.W, pr.hint))
	}
}

func (a *App) drawPicker(fw, fh int) {
	u := &a.ui
	pk := a.picker
	rowH := u.lineH(u.fs) + u.px(4)
	w := min(u.px(820), fw-4*u.pad)
	// The lines: section heads and items, in order; an item's line is
	// its index, a head's -1 (with its text).
	type line struct {
		item int
		head string
	}
	var lines []line
	last := pickKind(255)
	for i, it := range pk.items {
		switch {
		case it.kind == pickSample && last != pickSample:
			lines = append(lines, line{-1, "TRACES"})
		case it.kind == pickWorkload && last != pickWorkload:
			lines = append(lines, line{-1, "LIVE WORKLOADS (a guest model that reacts to each outcome)"})
		case it.kind == pickHost:
			lines = append(lines, line{-1, "CONFIGURATION (the same guest, another hypervisor)"})
		}
		last = it.kind
		lines = append(lines, line{i, ""})
	}
	// Title, lines, footer; in a small window the lines scroll to keep
	// the chosen one in sight.
	chrome := 2*rowH + 6*u.pad
	shown := min(len(lines), max((fh-4*u.pad-chrome)/rowH, 3))
	in := a.box("scenarios", fw, fh, w, shown*rowH+chrome)
	a.text(in.X, in.Y, viz.FaceBold, u.fs+u.px(2), viz.ColText, "Scenarios and configuration")
	first := 0
	if shown < len(lines) {
		for k, l := range lines {
			if l.item == pk.sel {
				first = min(max(k-shown/2, 0), len(lines)-shown)
			}
		}
	}
	y := in.Y + rowH + u.pad
	pk.rects = pk.rects[:0]
	for range pk.items {
		pk.rects = append(pk.rects, viz.Rect{})
	}
	for _, l := range lines[first : first+shown] {
		if l.item < 0 {
			a.text(in.X, y, viz.FaceBold, u.small, viz.ColDim, l.head)
			y += rowH
			continue
		}
		it := pk.items[l.item]
		rr := viz.R(in.X, y-u.px(2), in.W, rowH)
		pk.rects[l.item] = rr
		if l.item == pk.sel {
			a.list.Fill(rr, viz.Tint(viz.Blue, 0.8))
		}
		lw := a.text(in.X+u.pad, y, viz.FaceBold, u.fs, viz.ColText, it.label)
		note := it.note
		switch it.kind {
		case pickHost, pickPaging, pickPool:
			note = "◄ " + pk.configValue(it.kind, a.p.cfg) + " ►"
		}
		nx := in.X + max(lw+2*u.pad, in.W*2/5)
		a.text(nx, y, viz.FaceRegular, u.fs, viz.ColDim, fit(viz.FaceRegular, u.fs, in.Right()-nx, note))
		y += rowH
	}
	hint := "↑ ↓ choose · Enter opens · ← → change a setting · v compares with it side by side · Esc closes"
	if shown < len(lines) {
		hint = "↑ ↓ choose (the list scrolls: " + strconv.Itoa(len(pk.items)) + " entries) · Enter opens · ← → change a setting · v: side by side · Esc closes"
	}
	a.text(in.X, in.Bottom()-u.lineH(u.small)+u.gap, viz.FaceRegular, u.small, viz.ColDim, fit(viz.FaceRegular, u.small, in.W, hint))
}

// drawTooltip describes what is under the cursor.
func (a *App) drawTooltip(fw, fh int) {
	u := &a.ui
	var lines []string
	if a.hoverOK {
		lines = a.describe(a.hover)
	} else if a.gloss != "" {
		term, text, _ := strings.Cut(a.gloss, ": ")
		lines = append([]string{term}, wrap(viz.FaceMono, u.small+1, u.px(520), text)...)
		if text == "" {
			lines = wrap(viz.FaceMono, u.small+1, u.px(520), a.gloss)
		}
	}
	if len(lines) == 0 {
		return
	}
	w := 0
	for i, s := range lines {
		f := viz.FaceMono
		if i == 0 {
			f = viz.FaceBold
		}
		w = max(w, viz.Measure(f, u.small+1, s))
	}
	w += 2 * u.pad
	h := len(lines)*u.lineH(u.small+1) + u.pad
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
		l.Text(x+u.pad, y+u.pad/2+i*u.lineH(u.small+1), f, u.small+1, c, s)
	}
}

// drawMessages draws the last error and the latest notice at the top
// right, over the panels.
func (a *App) drawMessages(fw int) {
	u := &a.ui
	msg, col := a.toast, viz.ColText
	if a.err != "" {
		msg, col = a.err+"  (Esc)", viz.Vermilion
	} else if a.p.err != nil {
		msg, col = "the replay stopped: "+a.p.err.Error(), viz.Vermilion
	}
	if msg == "" {
		return
	}
	msg = fit(viz.FaceBold, u.fs, fw*2/3, msg)
	w := viz.Measure(viz.FaceBold, u.fs, msg) + 2*u.pad
	r := viz.R(fw-w-u.pad, a.barY-u.lineH(u.fs)-2*u.pad, w, u.lineH(u.fs)+u.pad)
	l := &a.list
	l.BeginPanel("message", r)
	l.Fill(r, col)
	l.Text(r.X+u.pad, r.Y+u.pad/2, viz.FaceBold, u.fs, viz.OnColor(col), msg)
}
