package viz

import (
	"math"
	"slices"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// The pool panel: every page of the shadow pool as a cell coloured by
// the level of the table it holds (paler when it has not been used for
// a while), the root ringed and pages whose guest table is monitored
// dotted; an occupancy gauge stacked by level; counts per kind.

type poolScratch struct {
	frame     uint64 // Layout call the data below belongs to
	views     []engine.PoolPageView
	monitored []x86.GPA // guest pages of monitored pool pages, sorted
	sum       engine.PoolSummary
	kinds     []kindCount
}

type kindCount struct {
	kind engine.PoolKind
	n    int
}

// poolData reads the pool once per frame.
func (c *ctx) poolData() *poolScratch {
	ps := &c.sc.pool
	if ps.frame == c.sc.frame && ps.views != nil {
		return ps
	}
	ps.frame = c.sc.frame
	ps.views = ps.views[:0]
	ps.monitored = ps.monitored[:0]
	e := c.m.Engine
	e.VisitPool(func(v engine.PoolPageView) bool {
		ps.views = append(ps.views, v)
		if v.Monitored {
			ps.monitored = append(ps.monitored, x86.PageDown(v.Key))
		}
		return true
	})
	slices.Sort(ps.monitored)
	ps.sum = e.Pool()
	return ps
}

// isMonitored reports whether the guest page holds a table the pool
// shadows (and so is write-monitored).
func (c *ctx) isMonitored(page x86.GPA) bool {
	_, ok := slices.BinarySearch(c.poolData().monitored, page)
	return ok
}

// poolRole is the role of a pool kind: the level of the table it holds.
func poolRole(k engine.PoolKind) Role {
	if k == engine.KindFree || k == engine.KindInvalid {
		return RolePoolFree
	}
	switch k.Level() {
	case x86.LevelPT:
		return RolePoolPT
	case x86.LevelPD:
		return RolePoolPD
	case x86.LevelPDPT:
		return RolePoolPDPT
	}
	return RolePoolTop
}

func (c *ctx) poolPanel(r Rect) {
	t := c.t
	ps := c.poolData()
	sum := &ps.sum
	in := c.panel("pool", "", r)
	c.b = append(c.b[:0], "Shadow page pool · "...)
	c.b = appendUint(c.b, uint64(sum.Used))
	c.b = append(c.b, " of "...)
	c.b = appendUint(c.b, uint64(sum.Max))
	c.b = append(c.b, " pages used"...)
	c.textFitB(in.X, in.Y, in.W, FaceBold, t.title, ColText)
	_, in = in.CutTop(LineHeight(FaceBold, t.title), t.pad/2)

	// Gauge: used pages stacked by level, the peak as a tick.
	var byRole [roleCount]int
	for i := range sum.ByKind {
		k := engine.PoolKind(i)
		if k != engine.KindFree && k != engine.KindInvalid {
			byRole[poolRole(k)] += sum.ByKind[i]
		}
	}
	gauge, in := in.CutTop(max(t.slh/2+2, 8), t.pad/2)
	c.l.Fill(gauge, RolePoolUnused.Color())
	c.l.Stroke(gauge, 1, ColBorder)
	x := gauge.X
	mx := max(sum.Max, 1)
	for _, role := range []Role{RolePoolTop, RolePoolPDPT, RolePoolPD, RolePoolPT} {
		w := gauge.W * byRole[role] / mx
		c.l.Fill(Rect{x, gauge.Y, w, gauge.H}, role.Color())
		x += w
	}
	px := gauge.X + gauge.W*sum.UsedHigh/mx
	c.l.Fill(Rect{min(px, gauge.Right()-2), gauge.Y - 2, 2, gauge.H + 4}, ColText)
	c.b = append(c.b[:0], "peak "...)
	c.b = appendUint(c.b, uint64(sum.UsedHigh))
	c.b = append(c.b, " · "...)
	c.b = appendUint(c.b, uint64(sum.Present))
	c.b = append(c.b, " present entries"...)
	line, in := in.CutTop(t.slh, t.pad/2)
	c.textFitB(line.X, line.Y, line.W, FaceRegular, t.small, ColDim)

	legendRoles := c.sc.legend[:0]
	for _, role := range []Role{RolePoolTop, RolePoolPDPT, RolePoolPD, RolePoolPT} {
		if byRole[role] > 0 {
			legendRoles = append(legendRoles, role)
		}
	}
	if sum.ByKind[engine.KindFree] > 0 {
		legendRoles = append(legendRoles, RolePoolFree)
	}
	if sum.Size < sum.Max {
		legendRoles = append(legendRoles, RolePoolUnused)
	}
	c.sc.legend = legendRoles
	lh := c.legendHeight(in.W, t.small, legendRoles...)
	in, leg := in.CutBottom(lh+t.slh, t.pad/2)
	c.legend(leg, t.small, legendRoles...)
	c.textFit(leg.X, leg.Bottom()-t.slh, leg.W, FaceRegular, t.small, ColDim, "ring: root · dot: guest table write-monitored · paler: older")

	// Counts per kind, in a column on the right when there is room.
	kinds := ps.kinds[:0]
	for i, n := range sum.ByKind {
		k := engine.PoolKind(i)
		if n > 0 && k != engine.KindFree && k != engine.KindInvalid {
			kinds = append(kinds, kindCount{k, n})
		}
	}
	ps.kinds = kinds
	listW := 0
	for _, kc := range kinds {
		listW = max(listW, Measure(FaceRegular, t.small, kc.kind.String())+Measure(FaceMono, t.small, " 00000")+t.slh)
	}
	gridArea := in
	if len(kinds) > 0 && in.W-listW > in.W/2 && in.H >= t.slh {
		var list Rect
		gridArea, list = in.CutLeft(in.W-listW-t.pad, t.pad)
		y := list.Y
		for _, kc := range kinds {
			if y+t.slh > list.Bottom() {
				break
			}
			s := LineHeight(FaceRegular, t.small) - 2
			blk := c.l.NewCells(list.X, y+1, 1, 1, s, 0)
			blk.Pix[0] = poolRole(kc.kind).Color()
			c.b = appendUint(c.b[:0], uint64(kc.n))
			nw := measureBytes(FaceMono, t.small, c.b)
			c.textB(list.Right()-nw, y, FaceMono, t.small, ColText)
			c.textFit(list.X+s+4, y, list.W-s-4-nw-4, FaceRegular, t.small, ColDim, kc.kind.String())
			y += t.slh
		}
	}

	// The grid: Max cells, the pool's index order.
	n := max(sum.Max, len(ps.views))
	if n == 0 || gridArea.Empty() {
		return
	}
	cols, pitch := fitGrid(n, gridArea.W, gridArea.H, max(2*t.fs, 12))
	if pitch < 1 {
		return
	}
	gap := 0
	if pitch >= 4 {
		gap = 1
	}
	rows := (n + cols - 1) / cols
	blk := c.l.NewCells(gridArea.X, gridArea.Y, cols, rows, pitch-gap, gap)
	maxAge := 1
	for i := range ps.views {
		maxAge = max(maxAge, ps.views[i].Age)
	}
	for i := 0; i < n; i++ {
		if i >= len(ps.views) {
			blk.Pix[i] = RolePoolUnused.Color()
			continue
		}
		v := &ps.views[i]
		role := poolRole(v.Kind)
		col := role.Color()
		if v.Age > 0 && role != RolePoolFree {
			col = Tint(col, 0.6*float64(v.Age)/float64(maxAge))
		}
		blk.Pix[i] = col
		switch {
		case v.Root:
			blk.Marks[i] = MarkRing
		case v.Monitored:
			blk.Marks[i] = MarkDot
		}
	}
	if pitch >= 18 {
		for i := range ps.views {
			v := &ps.views[i]
			if v.Kind == engine.KindFree || v.Users == 0 {
				continue
			}
			fs := min(pitch/2, t.small)
			c.b = appendUint(c.b[:0], uint64(v.Users))
			w := measureBytes(FaceRegular, fs, c.b)
			if w > pitch-4 {
				continue
			}
			x := gridArea.X + i%cols*pitch
			y := gridArea.Y + i/cols*pitch
			c.textB(x+(pitch-gap-w)/2, y+(pitch-gap-LineHeight(FaceRegular, fs))/2, FaceRegular, fs, OnColor(blk.Pix[i]))
		}
	}
	c.l.HitGrid(gridArea.X, gridArea.Y, cols, n, pitch, 1, 0, HitID{Kind: HitPoolPage, Index: 1})
}

// fitGrid chooses columns and a pitch for n cells in w x h: the largest
// pitch (at most maxPitch) with which every cell fits.
func fitGrid(n, w, h, maxPitch int) (cols, pitch int) {
	if n <= 0 || w <= 0 || h <= 0 {
		return 1, 0
	}
	p := min(int(math.Sqrt(float64(w*h)/float64(n))), maxPitch)
	for ; p >= 1; p-- {
		cols = w / p
		if cols == 0 {
			continue
		}
		if (n+cols-1)/cols*p <= h {
			return min(cols, n), p
		}
	}
	return min(max(w, 1), n), 0
}
