package viz

// Drawing the placed cards: their headers, grids and folds, the
// connectors from a parent's entry to its child table, and the links
// between a guest entry and its shadow.

// drawCards draws a band's cards and the connectors between them.
func (c *ctx) drawCards(h *hierData, big bool) {
	t := c.t
	vaBits := uint8(0)
	if h.format.Mode.Long() {
		vaBits = h.format.VABits
	}
	for i := range h.cards {
		cd := &h.cards[i]
		if cd.w == 0 {
			continue
		}
		c.cardHeader(h, cd)
		letters := cd.pitch >= 14
		gw := min(cd.cols, cd.n)*cd.pitch - cd.gap
		for r0 := 0; r0 < cd.rows; {
			if cd.rowY[r0] < 0 {
				// A fold: a thin line across the grid.
				y := cd.gy + cd.foldY(r0)
				r1 := r0
				for r1 < cd.rows && cd.rowY[r1] < 0 {
					r1++
				}
				fh := foldH(cd.pitch)
				c.l.Fill(Rect{cd.gx, y + fh/2 - 1, gw, 1}, ColBorder)
				r0 = r1
				continue
			}
			r1 := r0
			for r1 < cd.rows && cd.rowY[r1] >= 0 {
				r1++
			}
			first := r0 * cd.cols
			last := min(r1*cd.cols, cd.n)
			blk := c.l.NewCells(cd.gx, cd.gy+int(cd.rowY[r0]), cd.cols, r1-r0, cd.pitch-cd.gap, cd.gap)
			for k := first; k < last; k++ {
				st := cd.roles[k].Style()
				blk.Pix[k-first] = st.Color
				blk.Marks[k-first] = st.Mark
				if letters && cd.roles[k] != RoleEmpty && st.Letter != 0 {
					cr := cd.cellRect(k)
					fs := min(cd.pitch*3/5, t.fs)
					c.b = append(c.b[:0], st.Letter)
					w := measureBytes(FaceBold, fs, c.b)
					c.textB(cr.X+(cr.W-w)/2, cr.Y+(cr.H-LineHeight(FaceBold, fs))/2, FaceBold, fs, OnColor(st.Color))
				}
			}
			id := HitID{Kind: HitEntry, Hier: h.hier, Level: cd.level.Kind, Table: cd.addr, Index: first,
				Addr: cd.base + uint64(first)<<cd.level.Shift}
			c.l.HitGridVA(cd.gx, cd.gy+int(cd.rowY[r0]), cd.cols, last-first, cd.pitch, cd.level.Covers(), vaBits, id)
			r0 = r1
		}
		if cd.sel >= 0 && cd.sel < cd.n {
			cr := cd.cellRect(cd.sel)
			w := t.thick
			c.l.Stroke(Rect{cr.X - w, cr.Y - w, cr.W + 2*w, cr.H + 2*w}, w, ColSelect)
		}
		if cd.runs > 0 {
			c.runLines(h, cd, Rect{cd.x, cd.gy + cd.gridH + t.pad/2, cd.w, cd.runs * t.slh}, cd.runs)
		}
	}
	// Connectors from a parent's entry to the child table.
	for i := range h.cards {
		cd := &h.cards[i]
		if cd.w == 0 || cd.parent < 0 {
			continue
		}
		p := &h.cards[cd.parent]
		if p.w == 0 {
			continue
		}
		cr := p.cellRect(cd.parentIdx)
		gw := min(p.cols, p.n)*p.pitch - p.gap
		x0 := p.gx + gw
		y0 := cr.Y + cr.H/2
		x1 := cd.x
		y1 := cd.y + t.slh/2
		// The trunk runs in the column gap, next to the children: a
		// parent's header can be wider than its grid, and a line at the
		// child's header height would cross it.
		xm := max(x1-max(8, c.t.pad), x0+4)
		col, w := ColFaint, 1
		if cd.path {
			col, w = ColText, t.thick
		} else if !cr.Empty() {
			c.l.Stroke(Rect{cr.X - 1, cr.Y - 1, cr.W + 2, cr.H + 2}, 1, ColDim)
		}
		c.l.Line(x0+2, y0, xm, y0, w, col)
		c.l.Line(xm, min(y0, y1), xm, max(y0, y1), w, col)
		c.l.Line(xm, y1, x1-2, y1, w, col)
	}
}

// cardHeader writes "PD 0x00201000 · 3 of 512 · KIND".
func (c *ctx) cardHeader(h *hierData, cd *card) {
	t := c.t
	x := cd.x
	x += c.text(x, cd.y, FaceBold, t.small, ColText, cd.level.Kind.String()) + t.small/2
	c.b = appendCardAddr(c.b[:0], h.hier, cd)
	x += c.textFitB(x, cd.y, cd.x+cd.w-x, FaceMono, t.small, ColText) + t.small/2
	c.b = appendCardCount(c.b[:0], cd)
	if w := measureBytes(FaceRegular, t.small, c.b); x+w <= cd.x+cd.w {
		x += c.textB(x, cd.y, FaceRegular, t.small, ColDim) + t.small/2
	}
	if c.b = appendCardKind(c.b[:0], h.hier, cd.kind); len(c.b) > 0 {
		if w := measureBytes(FaceRegular, t.small, c.b); x+w <= cd.x+cd.w {
			c.textB(x, cd.y, FaceRegular, t.small, ColFaint)
		}
	}
}

// drawLinks joins the guest and shadow entries of the selected address,
// level by level where both are drawn: a line leaves the guest entry to
// the left, runs down the column's margin and enters the shadow entry.
func (c *ctx) drawLinks(g, s *hierData) {
	t := c.t
	col := Alpha(ColLink, 220)
	w := max(t.thick-1, 2)
	for i := range g.cards {
		gc := &g.cards[i]
		if !gc.path || gc.w == 0 || gc.sel < 0 {
			continue
		}
		for j := range s.cards {
			sc := &s.cards[j]
			if !sc.path || sc.w == 0 || sc.sel < 0 || sc.level.Kind != gc.level.Kind || s.hier == HierNested {
				continue
			}
			a, b := gc.cellRect(gc.sel), sc.cellRect(sc.sel)
			if a.Empty() || b.Empty() {
				continue
			}
			xl := min(gc.x, sc.x) - max(5, t.pad*2/3)
			ya, yb := a.Y+a.H/2, b.Y+b.H/2
			// The lines stop at the grids' edge, pointing at the rows:
			// running on to the cells would hide the entries before them
			// (the selected ones are outlined).
			c.l.Line(xl, ya, gc.gx-2, ya, w, col)
			if tr := c.sc.hierarchy.shadowTitle; xl+w > tr.X && xl < tr.Right() && ya < tr.Y && yb > tr.Bottom() {
				// Break the line around the shadow band's title.
				c.l.Line(xl, ya, xl, tr.Y-2, w, col)
				c.l.Line(xl, tr.Bottom()+1, xl, yb, w, col)
			} else {
				c.l.Line(xl, ya, xl, yb, w, col)
			}
			c.l.Line(xl, yb, sc.gx-2, yb, w, col)
		}
	}
}
