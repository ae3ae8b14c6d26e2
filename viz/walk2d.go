package viz

import (
	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// The two-dimensional walk of nested paging: every guest-physical
// address the guest's walk meets goes through the nested tables.

// walk2D draws the two-dimensional walk of nested paging: for each guest
// level (and the final address) a row of nested lookups, then the read
// of the guest entry itself. It returns the height used.
func (c *ctx) walk2D(r Rect, f *x86.Format, w *x86.Walk, gpa x86.GPA, gpaOK bool, last *engine.Outcome) int {
	t := c.t
	e := c.m.Engine
	sf := e.ShadowFormat()
	rows := w.N + 1
	cols := sf.N + 1
	if y := r.Y; y+t.lh*2 > r.Bottom() {
		return 0
	}
	memRefs := uint64(0)
	if last != nil {
		memRefs = uint64(last.MemRefs)
	}
	c.b = appendWalk2DTitle(c.b[:0], rows, cols, memRefs)
	c.textFitB(r.X, r.Y, r.W, FaceBold, t.small, ColText)
	y := r.Y + t.slh + 2
	labW := Measure(FaceBold, t.small, "data 0x00000000000 ")
	cell := min(max(t.slh, (r.W-labW)/(cols+2)), 2*t.lh)
	cell = min(cell, (r.Bottom()-y-t.slh)/(rows+1))
	if cell < 6 {
		return y - r.Y
	}
	// Column headings: the nested levels by name, or all by number
	// (n4 = nPML4) when one name does not fit, so that they read alike.
	short := false
	for j := 0; j < sf.N; j++ {
		c.b = appendNestedHeading(c.b[:0], sf.Levels[j].Kind, false, false)
		short = short || measureBytes(FaceRegular, t.small, c.b) > cell-2
	}
	for j := 0; j < cols; j++ {
		var k x86.LevelKind
		if j < sf.N {
			k = sf.Levels[j].Kind
		}
		c.b = appendNestedHeading(c.b[:0], k, j >= sf.N, short)
		if measureBytes(FaceRegular, t.small, c.b) <= cell-2 {
			c.textB(r.X+labW+j*cell, y, FaceRegular, t.small, ColDim)
		}
	}
	y += t.slh
	for i := 0; i < rows; i++ {
		var addr x86.GPA
		ok := true
		name := ""
		if i < w.N {
			addr = w.Steps[i].EntryAddr
			name = w.Steps[i].Level.String()
			if w.Steps[i].Register {
				ok = false // PDPTE registers: no memory reference
			}
		} else {
			addr, ok = gpa, gpaOK
			name = "data"
		}
		c.b = append(c.b[:0], name...)
		c.b = append(c.b, ' ')
		c.b = appendHex(c.b, uint64(addr))
		c.textFitB(r.X, y+(cell-t.slh)/2, labW-4, FaceMono, t.small, ColText)
		blk := c.l.NewCells(r.X+labW, y, cols, 1, cell-2, 2)
		var ns []engine.ShadowStep
		if ok {
			ns = e.ShadowWalk(x86.GVA(addr))
		}
		for j := 0; j < cols; j++ {
			switch {
			case !ok:
				blk.Pix[j] = ColEmpty
			case j < sf.N && j < len(ns) && ns[j].Entry.Present():
				blk.Pix[j] = LevelColor(int(sf.Levels[j].Kind))
			case j < sf.N:
				blk.Pix[j] = ColEmpty
				blk.Marks[j] = MarkCross
			case i == rows-1:
				blk.Pix[j] = Tint(ColFaint, 0.5) // the data access itself
			default:
				blk.Pix[j] = LevelColor(int(w.Steps[i].Level))
				blk.Marks[j] = MarkDot
			}
		}
		y += cell
	}
	return y - r.Y + 2
}
