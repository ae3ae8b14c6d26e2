package app

import (
	"fmt"
	"image/color"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/pgm-explorer/pgm-explorer/analysis"
	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
	"github.com/pgm-explorer/pgm-explorer/viz"
)

// drawCompare draws the split screen over the panels between the mode
// bar and the timeline (which stays: it is the linked cursor): A, the
// configuration replayed, on the left, B on the right, each with the
// walk of the selected address, its pool and its cost so far; the
// statistics that differ with a delta column; and the cost of each over
// the timeline.
func (a *App) drawCompare() {
	c := a.ins.cmp
	mode, ok1 := a.panelRect("mode")
	tl, ok2 := a.panelRect("timeline")
	if !ok1 || !ok2 {
		return
	}
	u := &a.ui
	l := &a.list
	g := u.gap * 2
	area := viz.R(tl.X, mode.Bottom()+g, tl.W, tl.Y-g-mode.Bottom()-g)
	l.BeginPanel("compare", area)
	l.Fill(area, viz.ColBackground)
	curveH := max(area.H/6, 5*u.lineH(u.small))
	top, curves := area.CutBottom(curveH, g)
	cols, stats := top.CutBottom(top.H*2/5, g)
	left, right := cols.CutLeft((cols.W-g)/2, g)
	engs := c.engines(a.p)
	cfgs := [2]engine.Config{a.p.cfg, c.cfg}
	va, hasVA := a.model.SelectedVA()
	for i, r := range []viz.Rect{left, right} {
		a.drawSide(r, i, engs[i], cfgs[i], va, hasVA)
	}
	a.drawStatDeltas(stats, engs)
	a.drawCostCurves(curves)
}

func sideColor(i int) color.RGBA {
	if i == 0 {
		return viz.Blue
	}
	return viz.Orange
}

// drawSide draws one configuration's column.
func (a *App) drawSide(r viz.Rect, i int, eng *engine.Shadow, cfg engine.Config, va x86.GVA, hasVA bool) {
	u := &a.ui
	l := &a.list
	c := a.ins.cmp
	l.Fill(r, viz.ColPanel)
	l.Stroke(r, 2, sideColor(i))
	in := r.Inset(u.pad)
	lh := u.lineH(u.small)
	y := in.Y
	name := "A (shown)"
	if i == 1 {
		name = "B: " + c.spec
	}
	a.text(in.X, y, viz.FaceBold, u.fs, sideColor(i), fit(viz.FaceBold, u.fs, in.W, name))
	y += u.lineH(u.fs)
	a.text(in.X, y, viz.FaceMono, u.small, viz.ColDim, fit(viz.FaceMono, u.small, in.W, analysis.DescribeConfig(cfg)))
	y += lh
	if eng.Events() != a.p.pos() {
		a.text(in.X, y, viz.FaceRegular, u.small, viz.Vermilion, fmt.Sprintf("catching up: event %d of %d", eng.Events(), a.p.pos()))
	} else {
		a.text(in.X, y, viz.FaceRegular, u.small, viz.ColDim, fmt.Sprintf("at event %d", eng.Events()))
	}
	y += lh + u.gap
	// The walk of the selected address: the guest's, then this side's
	// shadow or nested levels.
	if hasVA {
		a.text(in.X, y, viz.FaceBold, u.small, viz.ColText, "Walk of "+hexs(uint64(va)))
		y += lh
		w := eng.GuestWalk(va, x86.Access{})
		for k := 0; k < w.N && y+lh < in.Bottom(); k++ {
			s := w.Steps[k]
			a.text(in.X, y, viz.FaceMono, u.small, viz.ColText, fit(viz.FaceMono, u.small, in.W,
				fmt.Sprintf("guest  %-5v [%3d] %#018x", s.Level, s.Index, uint64(s.Entry))))
			y += lh
		}
		word := "shadow"
		if cfg.Paging == engine.PagingNested {
			word = "nested"
		}
		steps := eng.ShadowWalk(va)
		if len(steps) == 0 {
			a.text(in.X, y, viz.FaceMono, u.small, viz.ColDim, word+": no entry for it")
			y += lh
		}
		for _, s := range steps {
			if y+lh >= in.Bottom()-2*lh {
				break
			}
			a.text(in.X, y, viz.FaceMono, u.small, sideColor(i), fit(viz.FaceMono, u.small, in.W,
				fmt.Sprintf("%-6s %-5v [%3d] %#018x", word, s.Level, s.Index, uint64(s.Entry))))
			y += lh
		}
	}
	// The pool, and the cost so far.
	p := eng.Pool()
	y = max(y+u.gap, in.Bottom()-2*lh)
	bar := viz.R(in.X, y+u.px(3), in.W/3, lh-u.px(6))
	l.Fill(bar, viz.ColEmpty)
	if p.Max > 0 {
		l.Fill(viz.R(bar.X, bar.Y, bar.W*min(p.Used, p.Max)/p.Max, bar.H), sideColor(i))
	}
	a.text(bar.Right()+u.pad, y, viz.FaceRegular, u.small, viz.ColText, fit(viz.FaceRegular, u.small, in.Right()-bar.Right()-u.pad,
		fmt.Sprintf("pool: %d of %d pages, peak %d, %d present entries", p.Used, p.Max, p.UsedHigh, p.Present)))
	y += lh
	if ca, cb, ok := c.costAt(a.p.pos()); ok {
		v := [2]float64{ca, cb}[i]
		a.text(in.X, y, viz.FaceBold, u.small, viz.ColText, "cost so far: "+cycles(v)+" (cost model: explorer compare)")
	} else if c.err != nil {
		a.text(in.X, y, viz.FaceRegular, u.small, viz.ColDim, fit(viz.FaceRegular, u.small, in.W, c.err.Error()))
	}
}

// cycles prints a cycle count shortly: 1.2M cycles.
func cycles(v float64) string {
	switch {
	case v >= 1e9:
		return strconv.FormatFloat(v/1e9, 'f', 2, 64) + "G cycles"
	case v >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', 2, 64) + "M cycles"
	case v >= 1e3:
		return strconv.FormatFloat(v/1e3, 'f', 1, 64) + "k cycles"
	}
	return strconv.FormatFloat(v, 'f', 0, 64) + " cycles"
}

type statPair struct {
	name string
	v    [2]uint64
}

// statDeltas are the statistics whose values differ between the two
// engines, largest difference first.
func statDeltas(engs [2]*engine.Shadow) []statPair {
	idx := map[string]int{}
	var out []statPair
	for i, e := range engs {
		names := e.Stats().AppendNames(nil)
		vals := e.Stats().AppendValues(nil)
		for k, n := range names {
			j, ok := idx[n]
			if !ok {
				j = len(out)
				idx[n] = j
				out = append(out, statPair{name: n})
			}
			out[j].v[i] = vals[k]
		}
	}
	diff := out[:0]
	for _, s := range out {
		if s.v[0] != s.v[1] {
			diff = append(diff, s)
		}
	}
	mag := func(s statPair) uint64 { return min(s.v[0]-s.v[1], s.v[1]-s.v[0]) }
	sort.SliceStable(diff, func(i, j int) bool { return mag(diff[i]) > mag(diff[j]) })
	return diff
}

// drawStatDeltas draws the statistics table: name, A, B, B − A.
func (a *App) drawStatDeltas(r viz.Rect, engs [2]*engine.Shadow) {
	u := &a.ui
	l := &a.list
	l.Fill(r, viz.ColPanel)
	l.Stroke(r, 1, viz.ColBorder)
	in := r.Inset(u.pad)
	lh := u.lineH(u.small)
	ds := statDeltas(engs)
	a.text(in.X, in.Y, viz.FaceBold, u.fs, viz.ColText, fmt.Sprintf("Statistics that differ: %d", len(ds)))
	y := in.Y + u.lineH(u.fs)
	numW := max(in.W/7, viz.Measure(viz.FaceMono, u.small, "-123456789"))
	nameW := in.W - 3*numW
	cell := func(k int, s string, f viz.Face, col color.RGBA) {
		x := in.X + nameW + (k+1)*numW - viz.Measure(f, u.small, s) - u.gap
		a.text(x, y, f, u.small, col, s)
	}
	// Two columns of rows when the table is wide enough.
	l.Fill(viz.R(in.X, y, in.W, lh), viz.ColHeader)
	a.text(in.X+u.gap, y, viz.FaceBold, u.small, viz.ColText, "statistic")
	cell(0, "A", viz.FaceBold, sideColor(0))
	cell(1, "B", viz.FaceBold, sideColor(1))
	cell(2, "B − A", viz.FaceBold, viz.ColText)
	y += lh
	for _, s := range ds {
		if y+lh > in.Bottom() {
			break
		}
		a.text(in.X+u.gap, y, viz.FaceRegular, u.small, viz.ColText, fit(viz.FaceRegular, u.small, nameW-u.pad, strings.TrimPrefix(s.name, "/PGM/")))
		cell(0, strconv.FormatUint(s.v[0], 10), viz.FaceMono, viz.ColText)
		cell(1, strconv.FormatUint(s.v[1], 10), viz.FaceMono, viz.ColText)
		d := int64(s.v[1] - s.v[0])
		col := viz.Green
		if d > 0 {
			col = viz.Vermilion
		}
		cell(2, strconv.FormatInt(d, 10), viz.FaceMono, col)
		y += lh
	}
}

// drawCostCurves draws each side's cumulative cost over the whole
// trace, on the timeline's horizontal scale, with the cursor.
func (a *App) drawCostCurves(r viz.Rect) {
	c := a.ins.cmp
	u := &a.ui
	l := &a.list
	l.Fill(r, viz.ColPanel)
	l.Stroke(r, 1, viz.ColBorder)
	in := r.Inset(u.pad)
	lh := u.lineH(u.small)
	title := "Cost over the timeline (cumulative cycles, the cost model of explorer compare)"
	if c.cmp != nil && !c.done && c.err == nil {
		title += fmt.Sprintf(" · computing: %d events", c.cmp.Events)
	}
	if c.err != nil {
		title = c.err.Error()
	}
	a.text(in.X, in.Y, viz.FaceBold, u.small, viz.ColText, fit(viz.FaceBold, u.small, in.W, title))
	plot := viz.R(in.X, in.Y+lh, in.W, in.H-lh)
	if len(c.curve[0]) == 0 || plot.H < 4 {
		return
	}
	total := max(a.p.timeline.Events, a.p.pos(), 1)
	if a.p.totalKnown {
		total = max(a.p.total, 1)
	}
	peak := 1.0
	for i := range c.curve {
		peak = math.Max(peak, c.curve[i][len(c.curve[i])-1])
	}
	for i := range c.curve {
		px, py := plot.X, plot.Bottom()
		for k, v := range c.curve[i] {
			x := plot.X + int(uint64(plot.W)*uint64(k+1)*c.per/total)
			y := plot.Bottom() - int(float64(plot.H-2)*v/peak)
			l.Line(px, py, min(x, plot.Right()), y, max(2, u.px(2)), sideColor(i))
			px, py = min(x, plot.Right()), y
		}
	}
	cx := plot.X + int(uint64(plot.W-2)*a.p.pos()/total)
	l.Fill(viz.R(cx, plot.Y, 2, plot.H), viz.ColText)
	if ca, cb, ok := c.costAt(a.p.pos()); ok && ca > 0 {
		s := fmt.Sprintf("here: A %s, B %s (B/A %.2f)", cycles(ca), cycles(cb), cb/ca)
		if c.done {
			n := len(c.curve[0]) - 1
			s += fmt.Sprintf(" · whole trace: A %s, B %s (B/A %.2f)", cycles(c.curve[0][n]), cycles(c.curve[1][n]), c.curve[1][n]/math.Max(c.curve[0][n], 1))
		}
		w := viz.Measure(viz.FaceRegular, u.small, s)
		a.text(in.Right()-w, in.Y, viz.FaceRegular, u.small, viz.ColDim, s)
	}
}
