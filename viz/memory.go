package viz

import (
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// The physical memory map: every guest physical range as a block of
// cells, one per page (or, for big guests, one per group of pages
// showing the group's most notable page), coloured by type and state;
// marks show handlers and the pages holding guest tables the pool
// shadows; physical handler ranges are outlined and named.

type memScratch struct {
	ranges []*phys.Range
}

// pageRole is what a page is, for the map.
func pageRole(p phys.Page) Role {
	switch p.Type() {
	case phys.TypeMMIO:
		return RoleMMIO
	case phys.TypeROM, phys.TypeROMShadow:
		return RoleROM
	case phys.TypeMMIO2:
		return RoleMMIO2
	case phys.TypeReserved:
		return RoleReserved
	}
	switch p.State() {
	case phys.StateAllocated:
		return RoleAllocated
	case phys.StateShared:
		return RoleShared
	case phys.StateWriteMonitored:
		return RoleWriteMonitored
	case phys.StateBallooned:
		return RoleBallooned
	}
	return RoleZero
}

// rolePriority orders roles for a cell that stands for several pages:
// the rarest, most notable wins.
var rolePriority = [roleCount]uint8{
	RoleZero: 1, RoleAllocated: 2, RoleBallooned: 3, RoleShared: 4, RoleWriteMonitored: 5,
	RoleReserved: 6, RoleMMIO2: 7, RoleROM: 8, RoleMMIO: 9,
}

// memGeom is the geometry of the map: pages per cell, pitch, columns.
type memGeom struct {
	per   uint64 // pages per cell (a power of two)
	pitch int
	cols  int
}

func (c *ctx) memoryPanel(r Rect) {
	t := c.t
	e := c.m.Engine
	mem := e.Memory()
	ms := &c.sc.mem
	ms.ranges = append(ms.ranges[:0], mem.Ranges()...)
	total := uint64(0)
	for _, rg := range ms.ranges {
		total += uint64(len(rg.Pages))
	}
	in := c.panel("memory", "", r)
	c.b = append(c.b[:0], "Guest physical memory · "...)
	c.b = appendSize(c.b, total<<x86.PageShift)
	c.b = append(c.b, " in "...)
	c.b = appendUint(c.b, uint64(len(ms.ranges)))
	c.b = append(c.b, " ranges"...)
	c.textFitB(in.X, in.Y, in.W, FaceBold, t.titleSize, ColText)
	_, in = in.CutTop(LineHeight(FaceBold, t.titleSize), t.pad/2)

	legendRoles := c.memRoles(ms.ranges)
	lh := c.legendHeight(in.W, t.small, legendRoles...)
	in, leg := in.CutBottom(lh, t.pad/2)
	c.legend(leg, t.small, legendRoles...)

	// Ranges shown: all of them while a line each fits.
	nr := len(ms.ranges)
	var more Rect // the line that says how many ranges are left out
	if nr > max(in.H/(2*t.slh), 1) {
		in, more = in.CutBottom(t.slh, 0)
		nr = max(in.H/(2*t.slh), 1)
	}
	g := c.memGeometry(in, ms.ranges[:nr])
	if g.pitch == 0 {
		c.textFit(in.X, in.Y, in.W, FaceRegular, t.small, ColDim, "too small to draw")
		return
	}
	gap := 0
	if g.pitch >= 4 {
		gap = 1
	}
	y := in.Y
	ps := c.poolData()
	for _, rg := range ms.ranges[:nr] {
		pages := uint64(len(rg.Pages))
		cells := int((pages + g.per - 1) / g.per)
		rows := (cells + g.cols - 1) / g.cols
		// Heading: address, size, type and name.
		c.b = appendHexW(c.b[:0], uint64(rg.Spec.Start), 8)
		c.b = append(c.b, ' ')
		x := in.X + c.textB(in.X, y, FaceMono, t.small, ColText)
		c.b = appendSize(c.b[:0], pages<<x86.PageShift)
		c.b = append(c.b, ' ')
		c.b = append(c.b, rg.Spec.Type.String()...)
		if rg.Spec.Name != "" {
			c.b = append(c.b, " · "...)
			c.b = append(c.b, rg.Spec.Name...)
		}
		if g.per > 1 {
			c.b = append(c.b, " · "...)
			c.b = appendUint(c.b, g.per)
			c.b = append(c.b, " pages a cell"...)
		}
		c.textFitB(x, y, in.Right()-x, FaceRegular, t.small, ColDim)
		y += t.slh
		blk := c.l.NewCells(in.X, y, g.cols, rows, g.pitch-gap, gap)
		c.fillMemCells(blk, rg, g.per, cells)
		// Guest tables the pool shadows.
		for _, gpa := range ps.monitored {
			if i, ok := rg.Index(gpa); ok {
				blk.Marks[uint64(i)/g.per] = MarkDot
			}
		}
		c.handlerOutlines(rg, in.X, y, in.Right(), g, gap)
		c.l.HitGrid(in.X, y, g.cols, cells, g.pitch, 0, g.per<<x86.PageShift,
			HitID{Kind: HitGuestPage, Addr: uint64(rg.Spec.Start), Count: g.per})
		y += rows*g.pitch + t.pad/2
	}
	if nr < len(ms.ranges) {
		c.b = append(c.b[:0], "… "...)
		c.b = appendUint(c.b, uint64(len(ms.ranges)-nr))
		c.b = append(c.b, " more ranges"...)
		c.textFitB(more.X, more.Y, more.W, FaceRegular, t.small, ColDim)
	}
}

// memRoles lists the roles the map shows, for its legend: one pass over
// the descriptors collecting the (type, state) pairs and handler bits.
func (c *ctx) memRoles(ranges []*phys.Range) []Role {
	var seen [64]bool
	var handlers phys.Page
	for _, rg := range ranges {
		for _, p := range rg.Pages {
			seen[p>>36&63] = true
			handlers |= p
		}
	}
	var used [roleCount]bool
	for k, ok := range seen {
		if ok {
			used[pageRole(phys.Page(k)<<36)] = true
		}
	}
	out := c.sc.legend[:0]
	for _, r := range []Role{RoleZero, RoleAllocated, RoleShared, RoleWriteMonitored, RoleBallooned, RoleROM, RoleMMIO, RoleMMIO2, RoleReserved} {
		if used[r] {
			out = append(out, r)
		}
	}
	if len(c.poolData().monitored) > 0 {
		out = append(out, RoleShadowedPage)
	}
	var probe phys.Page
	probe.SetPhysHandler(phys.HandlerAll)
	if handlers&probe != 0 {
		out = append(out, RoleHandlerPhys)
	}
	probe = 0
	probe.SetVirtHandler(phys.HandlerAll)
	if handlers&probe != 0 {
		out = append(out, RoleHandlerVirt)
	}
	c.sc.legend = out
	return out
}

// memGeometry finds the fewest pages per cell, then the largest pitch,
// with which every range fits in r under its heading line.
func (c *ctx) memGeometry(r Rect, ranges []*phys.Range) memGeom {
	t := c.t
	maxPitch := max(2*t.fs, 12)
	for per := uint64(1); per <= 1<<24; per *= 2 {
		// One page a cell down to 2 pixels; groups of pages need 3.
		minP := 3
		if per == 1 {
			minP = 2
		}
		for p := maxPitch; p >= minP || p >= 1 && per >= 1<<24; p-- {
			cols := r.W / p
			if cols == 0 {
				continue
			}
			// Round the columns to a power of two, for rows that start
			// at round addresses, when that costs little.
			pc := 1
			for pc*2 <= cols {
				pc *= 2
			}
			if pc*4 >= cols*3 {
				cols = pc
			}
			h := 0
			for _, rg := range ranges {
				cells := (uint64(len(rg.Pages)) + per - 1) / per
				rows := int((cells + uint64(cols) - 1) / uint64(cols))
				h += t.slh + rows*p + t.pad/2
			}
			if h <= r.H {
				return memGeom{per, p, cols}
			}
		}
	}
	return memGeom{}
}

// A page descriptor's type and state sit in bits 36-41 (memRoles reads
// them the same way): the map looks its roles up by those six bits
// rather than decoding each of a big guest's pages.
var (
	pageKindRole [64]Role
	pageKindPrio [64]uint8
	// Set in a descriptor whose physical (virtual) handler state is
	// write or all: those states share this bit.
	physWriteBit, virtWriteBit phys.Page
)

func init() {
	for k := range pageKindRole {
		r := pageRole(phys.Page(k) << 36)
		pageKindRole[k], pageKindPrio[k] = r, rolePriority[r]
	}
	physWriteBit.SetPhysHandler(phys.HandlerWrite)
	virtWriteBit.SetVirtHandler(phys.HandlerWrite)
}

// fillMemCells colours the cells of one range.
func (c *ctx) fillMemCells(blk *Cells, rg *phys.Range, per uint64, cells int) {
	pages := rg.Pages
	for ci := 0; ci < cells; ci++ {
		lo := uint64(ci) * per
		hi := min(lo+per, uint64(len(pages)))
		var acc phys.Page
		best, bestK := uint8(0), 0
		for _, p := range pages[lo:hi] {
			k := int(p >> 36 & 63)
			if pr := pageKindPrio[k]; pr > best {
				best, bestK = pr, k
			}
			acc |= p
		}
		role := pageKindRole[bestK]
		if best == 0 {
			role = RoleZero
		}
		blk.Pix[ci] = roles[role].Color
		switch {
		case acc&physWriteBit != 0:
			blk.Marks[ci] = MarkCorner
		case acc&virtWriteBit != 0:
			blk.Marks[ci] = MarkBar
		default:
			blk.Marks[ci] = roles[role].Mark
		}
	}
}

// handlerOutlines outlines the cells of each physical handler in the
// range, row by row, and names it in the margin right of the grid
// where there is room.
func (c *ctx) handlerOutlines(rg *phys.Range, x0, y0, right int, g memGeom, gap int) {
	t := c.t
	labelX := x0 + g.cols*g.pitch + t.pad
	nextY := y0 - t.slh
	for _, h := range c.m.Engine.Handlers() {
		hr := h.Range.Intersect(rg.Range())
		if hr.Empty() {
			continue
		}
		first := uint64(hr.Start-rg.Spec.Start) >> x86.PageShift / g.per
		last := uint64(hr.End-1-rg.Spec.Start) >> x86.PageShift / g.per
		for cell := first; cell <= last; {
			row := cell / uint64(g.cols)
			end := min(last, (row+1)*uint64(g.cols)-1)
			x := x0 + int(cell%uint64(g.cols))*g.pitch
			w := int(end-cell+1)*g.pitch - gap
			y := y0 + int(row)*g.pitch
			c.l.Stroke(Rect{x - 1, y - 1, w + 2, g.pitch - gap + 2}, 1, Blue)
			if cell == first && h.Name != "" {
				ly := max(y+(g.pitch-gap-t.slh)/2, nextY+t.slh)
				c.b = append(c.b[:0], "← "...)
				c.b = append(c.b, h.Name...)
				c.b = append(c.b, " ("...)
				c.b = append(c.b, h.Type.String()...)
				c.b = append(c.b, ')')
				if right-labelX >= 4*t.small && c.textFitB(labelX, ly, right-labelX, FaceRegular, t.small, Blue) > 0 {
					nextY = ly
				}
			}
			cell = end + 1
		}
	}
}
