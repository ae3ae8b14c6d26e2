package app

import (
	"fmt"
	"strconv"

	"github.com/pgm-explorer/pgm-explorer/analysis"
	"github.com/pgm-explorer/pgm-explorer/viz"
)

// panelRect is where the last layout put the panel of that name.
func (a *App) panelRect(name string) (viz.Rect, bool) {
	for _, p := range a.list.Panels {
		if p.Name == name {
			return p.R, true
		}
	}
	return viz.Rect{}, false
}

// hostPanel is where an overlay draws: the first of names whose panel is
// at least minH high, else the last of them on screen; ok is false when
// none is.
func (a *App) hostPanel(names []string, minH int) (r viz.Rect, ok bool) {
	for _, name := range names {
		if pr, found := a.panelRect(name); found {
			r, ok = pr, true
			if pr.H >= minH {
				break
			}
		}
	}
	return r, ok
}

// cellRect is the rectangle of cell k of a grid region.
func cellRect(r *viz.Region, k int) viz.Rect {
	return viz.R(r.R.X+k%r.Cols*r.Pitch, r.R.Y+k/r.Cols*r.Pitch, r.Pitch, r.Pitch)
}

// hotColumns are the table's figures, as `explorer analyze` prints
// them (the engine's work summed, the pool's evictions).
var hotColumns = []struct {
	name string
	get  func(c *analysis.Counts) uint64
}{
	{"events", func(c *analysis.Counts) uint64 { return c.Events }},
	{"accesses", func(c *analysis.Counts) uint64 { return c.Accesses }},
	{"faults", func(c *analysis.Counts) uint64 { return c.Faults }},
	{"work", func(c *analysis.Counts) uint64 { return c.Work() }},
	{"evictions", func(c *analysis.Counts) uint64 { return c.Evictions }},
	{"memrefs", func(c *analysis.Counts) uint64 { return c.MemRefs }},
}

// drawHotSpots draws the hot spots panel over the event log (the walk
// view) or the memory map (pool pages), beside what a row leads to.
func (a *App) drawHotSpots() {
	h := a.ins.hot
	u := &a.ui
	// Over the event log beside the walk (the memory map beside the
	// pool for pool pages); in a view without it, over the first panel
	// tall enough for a dozen rows, the last one whatever its size.
	hosts := []string{"log", "walk", "stats", "memory", "mappings", "hierarchy"}
	if h.by == analysis.ByPoolPage {
		a.ringPoolPage(h.ring)
		hosts = []string{"memory", "hierarchy", "walk", "log"}
	}
	r, ok := a.hostPanel(hosts, 16*u.lineH(u.small))
	if !ok {
		return
	}
	l := &a.list
	l.BeginPanel("hotspots", r)
	l.Fill(r, viz.ColPanel)
	l.Stroke(r, 2, viz.Blue)
	in := r.Inset(u.pad)
	lh := u.lineH(u.small)
	y := in.Y
	a.text(in.X, y, viz.FaceBold, u.fs, viz.ColText, "Hot spots by "+h.by.String())
	y += u.lineH(u.fs)
	rep := h.report()
	n, done := a.ins.scanned(scanHot)
	var what string
	switch {
	case done:
		what = fmt.Sprintf("all %d events", n)
	case a.ins.scans[scanHot] != nil && !a.ins.scans[scanHot].finite():
		what = fmt.Sprintf("the %d events replayed so far", n)
	default:
		what = fmt.Sprintf("the first %d events (counting…)", n)
	}
	a.text(in.X, y, viz.FaceRegular, u.small, viz.ColDim, fit(viz.FaceRegular, u.small, in.W, "top "+strconv.Itoa(HotRows)+" by "+analysis.SortBy[h.sort]+" over "+what))
	y += lh
	a.text(in.X, y, viz.FaceRegular, u.small, viz.ColDim, fit(viz.FaceRegular, u.small, in.W, "← → key kind · ↑ ↓ Enter or click: mark its events, follow it · r: rank by · a closes"))
	y += lh + u.gap
	if rep == nil {
		return
	}
	// Columns: the key, then the figures right-aligned.
	keyW := viz.Measure(viz.FaceMono, u.small, "0xffff888000000000")
	if h.by == analysis.ByPath || h.by == analysis.ByLabel {
		keyW = viz.Measure(viz.FaceMono, u.small, "accessed-trap-xx")
	}
	keyW = min(keyW+u.gap, in.W*2/5)
	// The pool's and the 2D walk's columns only when they count something.
	cols := hotColumns[:4]
	for _, c := range hotColumns[4:] {
		for i := range rep.Rows {
			if c.get(&rep.Rows[i].Counts) != 0 {
				cols = append(cols[:len(cols):len(cols)], c)
				break
			}
		}
	}
	colW := (in.W - keyW) / len(cols)
	head := func(y int) {
		l.Fill(viz.R(in.X, y, in.W, lh), viz.ColHeader)
		a.text(in.X+u.gap, y, viz.FaceBold, u.small, viz.ColText, h.by.String())
		for i, c := range cols {
			col := viz.ColText
			if c.name == analysis.SortBy[h.sort] {
				col = viz.Blue
			}
			s := fit(viz.FaceBold, u.small, colW-u.gap, c.name)
			a.text(in.X+keyW+(i+1)*colW-viz.Measure(viz.FaceBold, u.small, s)-u.gap, y, viz.FaceBold, u.small, col, s)
		}
	}
	head(y)
	y += lh
	h.rects = h.rects[:0]
	for i := range rep.Rows {
		if y+lh > in.Bottom()-lh {
			break
		}
		row := &rep.Rows[i]
		rr := viz.R(in.X, y, in.W, lh)
		h.rects = append(h.rects, rr)
		if i == h.sel {
			l.Fill(rr, viz.Tint(viz.Blue, 0.8))
		}
		a.text(in.X+u.gap, y, viz.FaceMono, u.small, viz.ColText, fit(viz.FaceMono, u.small, keyW-u.gap, rep.KeyName(row.Key)))
		for k, c := range cols {
			s := strconv.FormatUint(c.get(&row.Counts), 10)
			a.text(in.X+keyW+(k+1)*colW-viz.Measure(viz.FaceMono, u.small, s)-u.gap, y, viz.FaceMono, u.small, viz.ColText, s)
		}
		y += lh
	}
	foot := fmt.Sprintf("%d keys; totals: %d accesses, %d faults, %d work", rep.Keys, rep.Total.Accesses, rep.Total.Faults, rep.Total.Work())
	if rep.Other.Events > 0 {
		foot = fmt.Sprintf("cap of %d keys reached: %d events of later keys only in the totals", rep.Cap, rep.Other.Events)
	}
	a.text(in.X, in.Bottom()-lh, viz.FaceRegular, u.small, viz.ColDim, fit(viz.FaceRegular, u.small, in.W, foot))
}

// ringPoolPage rings pool page i in the pool panel.
func (a *App) ringPoolPage(i int) {
	if i < 0 {
		return
	}
	for k := range a.list.Regions {
		r := &a.list.Regions[k]
		if r.ID.Kind != viz.HitPoolPage || r.Cols == 0 {
			continue
		}
		// The grid's first cell is pool page ID.Index, one per cell.
		c := i - r.ID.Index
		if c < 0 || c >= r.N {
			continue
		}
		cr := cellRect(r, c)
		a.list.BeginPanel("ring", cr)
		a.list.Stroke(viz.R(cr.X-3, cr.Y-3, cr.W+6, cr.H+6), 3, viz.Vermilion)
		return
	}
}

// hotClick chooses the row under (x, y); it reports whether there was one.
func (a *App) hotClick(x, y int) bool {
	h := a.ins.hot
	if h == nil {
		return false
	}
	for i, r := range h.rects {
		if r.Contains(x, y) {
			a.ChooseHotSpot(i)
			a.dirty = true
			return true
		}
	}
	return false
}

// cycleHotSort ranks the rows by the next column.
func (a *App) cycleHotSort() {
	h := a.ins.hot
	h.sort = (h.sort + 1) % len(analysis.SortBy)
	h.rep = nil
	a.dirty = true
}
