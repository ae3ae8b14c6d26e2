package viz

import (
	"image/color"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// The walk inspector's rows: one per paging level, the guest's entry
// beside the shadow's (or the nested one's), each decoded into flag
// chips, target and raw value.

// chips draws an entry's flags as eight small lettered cells and returns
// the width used.
func (c *ctx) chips(x, y int, e x86.Entry, present bool) int {
	t := c.t
	s := LineHeight(FaceBold, t.small)
	gap := max(1, s/8)
	for i, fl := range entryFlags {
		cr := Rect{x + i*(s+gap), y, s, s}
		on := present && e.Has(fl.bit)
		col, tc := ColEmpty, ColFaint
		if on {
			col = fl.role.Color()
			tc = OnColor(col)
		}
		c.l.Fill(cr, col)
		c.b = append(c.b[:0], fl.c)
		tw := measureBytes(FaceBold, t.small, c.b)
		c.textB(cr.X+(s-tw)/2, cr.Y+(s-LineHeight(FaceBold, t.small))/2, FaceBold, t.small, tc)
	}
	return len(entryFlags)*(s+gap) - gap
}

// entryCell draws one decoded entry: flag chips, the target, the
// protection key of an IA-32e leaf (keys says the format has them) when
// it is not 0 and, when there is room, the raw value.
func (c *ctx) entryCell(x, y, w int, e x86.Entry, lv *x86.Level, leaf, keys bool, raw bool, note string, noteCol color.RGBA) {
	t := c.t
	end := x + w
	if !e.Present() {
		c.b = appendNotPresent(c.b[:0], note)
		col := ColDim
		if note != "" {
			col = noteCol
		}
		c.textFitB(x, y, w, FaceRegular, t.small, col)
		return
	}
	x += c.chips(x, y+1, e, true) + t.small/2
	c.b = appendEntryTarget(c.b[:0], e, lv, leaf, keys, raw)
	x += c.textFitB(x, y, end-x, FaceMono, t.small, ColText) + t.small/2
	if note != "" && x < end {
		c.textFit(x, y, end-x, FaceRegular, t.small, noteCol, note)
	}
}

// walkRows draws one row per level: guest entry and shadow (or nested)
// entry, side by side when there is room, else one under the other.
func (c *ctx) walkRows(r Rect, f *x86.Format, w *x86.Walk, steps []engine.ShadowStep, nested, big bool) int {
	t := c.t
	e := c.m.Engine
	sf := e.ShadowFormat()
	levelW := Measure(FaceBold, t.small, "PML4 ") + Measure(FaceMono, t.small, "[511]") + t.small
	chipW := 8 * (LineHeight(FaceBold, t.small) + 1)
	colNeed := chipW + Measure(FaceMono, t.small, " → 0x0000000000000")
	// Side by side only when the notes after the entries fit too
	// ("PDPTE register", "fault: protection", "a 4K piece of the big
	// page"): cut, they say nothing.
	noteW := Measure(FaceRegular, t.small, " fault: not present")
	side := r.W-levelW >= 2*(colNeed+noteW)+2*t.pad
	raw := big && r.W-levelW >= 2*(colNeed+Measure(FaceMono, t.small, "  0x0000000000000000"))+2*t.pad
	rowH := t.slh + 2
	guestName, shadowName := "guest", "shadow"
	if nested {
		shadowName = "nested"
	}
	y := r.Y
	colX := r.X + levelW
	colW := r.W - levelW
	gW := colW
	if side {
		gW = (colW - 2*t.pad) / 2
		c.text(colX, y, FaceBold, t.small, ColDim, "guest entry")
		if nested {
			c.text(colX+gW+2*t.pad, y, FaceBold, t.small, ColDim, "nested entry (for the final guest-physical address)")
		} else {
			c.text(colX+gW+2*t.pad, y, FaceBold, t.small, ColDim, "shadow entry")
		}
		y += rowH
	}
	// Levels: the union of both formats, top first.
	kinds := unionKinds(c.sc.hierarchy.kinds, f, sf)
	c.sc.hierarchy.kinds = kinds
	for _, k := range kinds {
		need := rowH
		if !side {
			need = 2 * rowH
		}
		if y+need > r.Bottom() {
			break
		}
		rowTop := y
		// Guest step for this level.
		gi := -1
		for i := 0; i < w.N; i++ {
			if w.Steps[i].Level == k {
				gi = i
			}
		}
		si := -1
		for i := range steps {
			if steps[i].Level == k {
				si = i
			}
		}
		c.l.Fill(Rect{r.X, y + 1, 3, rowH - 3}, LevelColor(int(k)))
		lx := r.X + 6
		lx += c.text(lx, y, FaceBold, t.small, ColText, k.String()) + t.small/3
		idx := -1
		if gi >= 0 {
			idx = int(w.Steps[gi].Index)
		} else if si >= 0 && !nested {
			idx = steps[si].Index
		}
		if idx >= 0 {
			c.b = append(c.b[:0], '[')
			c.b = appendUint(c.b, uint64(idx))
			c.b = append(c.b, ']')
			c.textB(lx, y, FaceMono, t.small, ColDim)
		}
		// Guest column.
		gx := colX
		if !side {
			c.text(gx, y, FaceRegular, t.small, ColDim, guestName)
			gx += Measure(FaceRegular, t.small, "shadow ") + t.small/2
		}
		gwid := colX + gW - gx
		switch {
		case gi >= 0:
			s := &w.Steps[gi]
			lv := &f.Levels[gi]
			note, col := guestNote(w, gi)
			c.entryCell(gx, y, gwid, s.Entry, lv, s.Leaf, f.Mode.Long(), raw, note, col)
		case f.Level(k) == nil:
			c.textFit(gx, y, gwid, FaceRegular, t.small, ColFaint, "no such level in the guest's format")
		case w.N > 0 && w.Steps[w.N-1].Big:
			c.b = appendBigPageNote(c.b[:0], w.Steps[w.N-1].Level, uint(w.PageShift))
			c.textFitB(gx, y, gwid, FaceRegular, t.small, ColFaint)
		default:
			c.textFit(gx, y, gwid, FaceRegular, t.small, ColFaint, "—")
		}
		if !side {
			y += rowH
		}
		// Shadow column.
		sx := colX
		if side {
			sx = colX + gW + 2*t.pad
		} else {
			c.text(sx, y, FaceRegular, t.small, ColDim, shadowName)
			sx += Measure(FaceRegular, t.small, "shadow ") + t.small/2
		}
		swid := r.Right() - sx
		switch {
		case si >= 0:
			s := &steps[si]
			lv := sf.Level(k)
			note, col := shadowNote(s, lv, w, gi, nested)
			leaf := sf.Levels[sf.N-1].Kind == k
			c.entryCell(sx, y, swid, s.Entry, lv, leaf, sf.Mode.Long(), raw, note, col)
		case sf.Level(k) == nil:
			c.textFit(sx, y, swid, FaceRegular, t.small, ColFaint, "no such level in the shadow format")
		default:
			c.textFit(sx, y, swid, FaceRegular, t.small, ColFaint, "—")
		}
		y += rowH
		c.l.Hit(Rect{r.X, rowTop, r.W, y - rowTop}, HitID{Kind: HitWalkLevel, Hier: HierGuest, Level: k, Index: idx})
	}
	return y - r.Y
}
