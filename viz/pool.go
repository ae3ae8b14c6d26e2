package viz

import (
	"image/color"
	"math"
	"slices"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// The pool panel: every page of the shadow pool as a cell coloured by
// the level of the table it holds (paler when it has not been used for
// a while), the root ringed and pages whose guest table is monitored
// dotted; an occupancy gauge stacked by level; counts per kind. Pages
// allocated, evicted or flushed in the last FlashEvents events flash:
// outlined and marked, so that the change shows without relying on
// colour, and counted on a line under the gauge.

// FlashEvents is how many events a pool change stays highlighted: long
// enough to be seen at a few events per frame, short enough that the
// highlight means "just now".
const FlashEvents = 64

// maxFlashOutlines bounds the outlines drawn per frame: past a few
// hundred a highlight no longer points at anything, and each one is a
// primitive of the frame's budget.
const maxFlashOutlines = 256

// poolFlash is what changed in the pool during the flash window.
type poolFlash struct {
	since, now                  uint64 // stamps in (since, now] are recent (see engine.PoolPageView)
	allocated, evicted, flushes int
	flushed                     bool // some free page was freed by a recent flush
}

// inWindow reports whether a page history stamp falls in the window.
func (f *poolFlash) inWindow(stamp uint64) bool { return stamp > f.since && stamp <= f.now }

type poolScratch struct {
	frame     uint64 // Layout call the data below belongs to
	views     []engine.PoolPageView
	monitored []x86.GPA // guest pages of monitored pool pages, sorted
	sum       engine.PoolSummary
	kinds     []kindCount
	flash     poolFlash
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
	ps.flash = c.flashOf(ps.views)
	return ps
}

// flashOf counts the pool changes of the last FlashEvents events: pages
// allocated and evicted from the pages' history (a page counts once
// however often it changed), flushes from the recent outcomes, which
// note each one.
func (c *ctx) flashOf(views []engine.PoolPageView) poolFlash {
	now := c.m.Engine.Events()
	f := poolFlash{now: now, since: now - min(now, FlashEvents)}
	for i := range views {
		v := &views[i]
		if f.inWindow(v.AllocatedAt) {
			f.allocated++
		}
		if f.inWindow(v.FreedAt) {
			switch v.FreedBy {
			case engine.FreeEvicted:
				f.evicted++
			case engine.FreeFlushed:
				f.flushed = true
			}
		}
	}
	if rc := c.m.Recent; rc != nil {
		for i := rc.Len() - 1; i >= 0; i-- {
			o := rc.At(i)
			if o.Index < f.since {
				break
			}
			if o.Index < now && o.Notes&engine.NotePoolFlush != 0 {
				f.flushes++
			}
		}
	}
	return f
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
	c.textFitB(in.X, in.Y, in.W, FaceBold, t.titleSize, ColText)
	_, in = in.CutTop(LineHeight(FaceBold, t.titleSize), t.pad/2)

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
	line, in = in.CutTop(t.slh, t.pad/2)
	c.poolChanges(line, &ps.flash)

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
	fl := &ps.flash
	outlines := 0
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
		// A flash outranks the page's own mark while it lasts, except
		// the root's ring: the outline says the root is new.
		ring := Rect{}
		if outlines < maxFlashOutlines {
			ring = Rect{gridArea.X + i%cols*pitch, gridArea.Y + i/cols*pitch, pitch - gap, pitch - gap}
		}
		free := v.Kind == engine.KindFree
		switch {
		case v.Root:
			blk.Marks[i] = MarkRing
			if fl.inWindow(v.AllocatedAt) && c.flashOutline(ring, flashNew) {
				outlines++
			}
		case !free && fl.inWindow(v.AllocatedAt):
			blk.Marks[i] = MarkCorner
			if c.flashOutline(ring, flashNew) {
				outlines++
			}
		case free && fl.inWindow(v.FreedAt) && v.FreedBy == engine.FreeEvicted:
			blk.Marks[i] = MarkCross
			if c.flashOutline(ring, flashGone) {
				outlines++
			}
		case free && fl.inWindow(v.FreedAt) && v.FreedBy == engine.FreeFlushed:
			// Every page goes at a flush: hatch them and outline the
			// grid once rather than every cell.
			blk.Marks[i] = MarkHatch
		case v.Monitored:
			blk.Marks[i] = MarkDot
		}
	}
	if fl.flushed {
		w, h := blk.Size()
		c.flashOutline(Rect{gridArea.X, gridArea.Y, w, h}, flashGone)
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

// Outline colours of flashing pool pages: near-black reads on every
// cell colour for a new page; vermilion, the palette's alarm, for pages
// taken away.
var (
	flashNew  = ColText
	flashGone = Vermilion
)

// flashOutline draws a 2-pixel frame just outside cell r, over the gap
// and the neighbours' edges, so that the cell's own colour and mark stay
// visible. It reports whether it drew.
func (c *ctx) flashOutline(r Rect, col color.RGBA) bool {
	if r.Empty() {
		return false
	}
	c.l.Stroke(Rect{r.X - 2, r.Y - 2, r.W + 4, r.H + 4}, 2, col)
	return true
}

// poolChanges writes the line under the gauge: what the pool did in the
// flash window, each count after a sample of how its pages are marked,
// so that the line is also the legend of the flashes.
func (c *ctx) poolChanges(r Rect, f *poolFlash) {
	t := c.t
	c.b = append(c.b[:0], "last "...)
	c.b = appendUint(c.b, f.now-f.since)
	c.b = append(c.b, " events:"...)
	x := r.X + c.textFitB(r.X, r.Y, r.W, FaceRegular, t.small, ColDim)
	lh := LineHeight(FaceRegular, t.small)
	s := max(lh-4, 5) // a chip: big enough for its mark
	items := [...]struct {
		n    int
		what string
		role Role
		mark Mark
		ring color.RGBA
	}{
		{f.allocated, " allocated", RolePoolPT, MarkCorner, flashNew},
		{f.evicted, " evicted", RolePoolFree, MarkCross, flashGone},
		{f.flushes, " flushes", RolePoolFree, MarkHatch, flashGone},
	}
	for k, it := range items {
		if k == 2 && c.m.Recent == nil {
			break // flushes are counted from the recent outcomes
		}
		if k == 2 && it.n == 1 {
			it.what = " flush"
		}
		c.b = appendUint(c.b[:0], uint64(it.n))
		c.b = append(c.b, it.what...)
		w := measureBytes(FaceRegular, t.small, c.b)
		x0 := x + t.small
		if x0+s+4+t.small/3+w > r.Right() {
			return
		}
		blk := c.l.NewCells(x0+2, r.Y+2, 1, 1, s, 0)
		blk.Pix[0], blk.Marks[0] = it.role.Color(), it.mark
		c.flashOutline(Rect{x0 + 2, r.Y + 2, s, s}, it.ring)
		x = x0 + s + 4 + t.small/3
		col := ColDim
		if it.n > 0 {
			col = ColText
		}
		x += c.textB(x, r.Y, FaceRegular, t.small, col)
	}
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
