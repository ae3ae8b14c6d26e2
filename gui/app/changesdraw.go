package app

import (
	"fmt"
	"strings"

	"github.com/pgm-explorer/pgm-explorer/viz"
)

// drawChanges draws what changed since the marked moment: outlines on
// the hierarchy's entries and a panel over the statistics (the event
// log where the view has no statistics) with the counts and the
// statistics' deltas.
func (a *App) drawChanges() {
	m := a.changes()
	if m == nil {
		if mm := a.ins.moment; mm != nil && mm.p == a.p {
			s := fmt.Sprintf("moment marked at event %d: move to see what changed", mm.mark)
			if now := a.p.pos(); mm.rp != nil && now != mm.mark {
				s = fmt.Sprintf("what changed: replaying the trace to event %d (now at %d)…", max(mm.mark, now), mm.rp.progress())
			}
			a.drawMomentNote(s)
		}
		return
	}
	a.highlightChanges(m)
	u := &a.ui
	// Over the statistics, or where a view has none (or too small), the
	// event log, the memory map or the walk: not over the hierarchy,
	// whose outlines it explains.
	r, ok := a.hostPanel([]string{"stats", "log", "memory", "walk"}, 10*u.lineH(u.small))
	if !ok {
		return
	}
	l := &a.list
	l.BeginPanel("changes", r)
	l.Fill(r, viz.ColPanel)
	l.Stroke(r, 2, viz.Purple)
	in := r.Inset(u.pad)
	lh := u.lineH(u.small)
	d := m.diff
	a.text(in.X, in.Y, viz.FaceBold, u.fs, viz.ColText, fit(viz.FaceBold, u.fs, in.W, fmt.Sprintf("What changed: event %d → %d", d.From, d.To)))
	y := in.Y + u.lineH(u.fs)
	a.text(in.X, y, viz.FaceRegular, u.small, viz.ColDim, fit(viz.FaceRegular, u.small, in.W, "outlined in the tables: green added, purple changed, red removed · d: mark here instead"))
	y += lh + u.gap
	rows := max((in.Bottom()-y)/lh-4, 1)
	numW := viz.Measure(viz.FaceMono, u.small, "+1234567")
	for _, s := range changeLines(m, rows) {
		if y+lh > in.Bottom() {
			break
		}
		if delta, rest, ok := strings.Cut(s, "\t"); ok {
			// A statistic: its delta right-aligned, then its name.
			name, vals, _ := strings.Cut(rest, "\t")
			a.text(in.X+numW-viz.Measure(viz.FaceMono, u.small, delta), y, viz.FaceMono, u.small, viz.Blue, delta)
			nw := a.text(in.X+numW+u.pad, y, viz.FaceRegular, u.small, viz.ColText, fit(viz.FaceRegular, u.small, in.W*3/5, name))
			a.text(in.X+numW+2*u.pad+nw, y, viz.FaceMono, u.small, viz.ColDim, fit(viz.FaceMono, u.small, max(in.Right()-(in.X+numW+2*u.pad+nw), 0), vals))
		} else {
			a.text(in.X, y, viz.FaceRegular, u.small, viz.ColText, fit(viz.FaceRegular, u.small, in.W, s))
		}
		y += lh
	}
}

// drawMomentNote says why there is nothing to show yet: the marked
// moment is the one shown, or a trace file's replay is on its way.
func (a *App) drawMomentNote(s string) {
	r, ok := a.panelRect("timeline")
	if !ok {
		return
	}
	u := &a.ui
	w := viz.Measure(viz.FaceBold, u.small, s) + 2*u.pad
	br := viz.R(r.Right()-w-u.pad, r.Y+u.gap, w, u.lineH(u.small))
	a.list.BeginPanel("moment", br)
	a.list.Fill(br, viz.Tint(viz.Purple, 0.7))
	a.text(br.X+u.pad, br.Y, viz.FaceBold, u.small, viz.ColText, s)
}
