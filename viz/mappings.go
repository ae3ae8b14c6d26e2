package viz

import (
	"image/color"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/stats"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// The mappings panel: the hypervisor's mappings listed, then the
// guest's linear space below 4 GiB as 1024 cells of 4 MiB, one per
// 32-bit page-directory entry, the unit in which mappings move. A cell
// shows whether the guest has a page table there, a mapping sits
// there, both (a conflict: a floating mapping moves away at once, so
// it lasts only for fixed mappings), or the switcher's identity page;
// virtual handler ranges are outlined. It is the picture of why a
// floating mapping has to move.

const (
	linSlot  = 4 << 20 // bytes a cell stands for
	linSlots = 1024    // cells: 4 GiB
	linCols  = 32      // 128 MiB a row
)

func (c *ctx) linLabelW() int { return Measure(FaceMono, c.t.small, "0x00000000") + c.t.small/2 }

var linRoles = []Role{RoleEmpty, RoleTable, RoleBigPage, RoleMapping, RoleConflict, RoleSwitcher}

// mappingsPanel draws the panel from the top of r and returns the
// height it used: the panel ends under its legend, and the caller may
// use the rest.
func (c *ctx) mappingsPanel(r Rect) (used int) {
	t := c.t
	e := c.m.Engine
	firstPrim := len(c.l.Prims)
	in := c.panel("mappings", "Hypervisor mappings in the guest's linear space", r)
	panel := len(c.l.Panels) - 1
	maps := e.Mappings()
	cfg := e.Config()
	gf := e.Format()

	para := func(col color.RGBA, s string) {
		h := c.paragraph(in, FaceRegular, t.small, col, s)
		_, in = in.CutTop(h, 0)
	}
	fixed, fr := e.MappingsFixed()
	switch {
	case len(maps) == 0:
		para(ColDim, "No mappings registered: the switcher runs in the intermediate context only.")
	case fixed:
		c.b = append(c.b[:0], "FIXED in "...)
		c.b = appendHexW(c.b, uint64(fr.Start), 8)
		c.b = append(c.b, "–"...)
		c.b = appendHexW(c.b, uint64(fr.Last()), 8)
		c.b = append(c.b, ": the guest promised to leave this range alone."...)
		para(ColText, string(c.b))
	default:
		para(ColText, "FLOATING: a mapping moves away when the guest puts a page table where it is.")
	}
	if len(maps) > 0 && (cfg.Paging != engine.PagingShadow || !gf.Mode.Paging()) {
		if cfg.Paging != engine.PagingShadow {
			para(ColDim, "Not in the guest's space now: nested paging keeps the hypervisor apart.")
		} else {
			para(ColDim, "Not in the guest's space yet: the guest does not page.")
		}
	}
	s := LineHeight(FaceMono, t.small) - 2
	for _, m := range maps {
		if in.H < t.slh {
			break
		}
		st := RoleMapping.Style()
		blk := c.l.NewCells(in.X, in.Y+1, 1, 1, s, 0)
		blk.Pix[0], blk.Marks[0] = st.Color, st.Mark
		x := in.X + s + t.small/2
		rg := m.Range()
		c.b = appendHexW(c.b[:0], uint64(rg.Start), 8)
		c.b = append(c.b, "–"...)
		c.b = appendHexW(c.b, uint64(rg.Last()), 8)
		c.b = append(c.b, ' ')
		x += c.textFitB(x, in.Y, in.Right()-x, FaceMono, t.small, ColText)
		c.b = appendSize(c.b[:0], m.Size)
		c.b = append(c.b, ' ')
		c.b = append(c.b, m.Name...)
		c.textFitB(x, in.Y, in.Right()-x, FaceRegular, t.small, ColText)
		_, in = in.CutTop(t.slh, 0)
	}
	hpa, hva := e.SwitcherAddr()
	c.b = append(c.b[:0], "The switcher (host page "...)
	c.b = appendHex(c.b, uint64(hpa))
	c.b = append(c.b, ") runs at "...)
	c.b = appendHex(c.b, uint64(hva))
	c.b = append(c.b, ", and at "...)
	c.b = appendHex(c.b, uint64(hpa))
	c.b = append(c.b, " identity-mapped."...)
	para(ColDim, string(c.b))
	reg := e.Stats()
	c.b = append(c.b[:0], "conflicts: "...)
	c.b = appendUint(c.b, statValue(reg.Lookup("/PGM/R3/DetectedConflicts")))
	c.b = append(c.b, " · moves: "...)
	c.b = appendUint(c.b, statCalls(reg.Lookup("/PGM/R3/ResolveConflict")))
	c.b = append(c.b, " · guest #PF in a mapping: "...)
	c.b = appendUint(c.b, statValue(reg.Lookup("/PGM/RZ/Trap0e/GuestPF/InMapping")))
	if len(maps) > 0 && in.H >= t.slh {
		c.textFitB(in.X, in.Y, in.W, FaceRegular, t.small, ColDim)
		_, in = in.CutTop(t.slh, 0)
	}
	_, in = in.CutTop(t.pad/2, 0)

	// The grid, with a row label every few rows, and its legend under it.
	lh := c.legendHeight(in.W, t.small, linRoles...) + t.slh
	labelW := c.linLabelW()
	rows := linSlots / linCols
	pitch := min((in.W-labelW)/linCols, (in.H-lh-t.pad/2)/rows, 2*t.fs)
	if pitch < 2 {
		return r.H
	}
	defer func() {
		leg := Rect{in.X, in.Y + rows*pitch + t.pad/2, in.W, lh}
		c.legend(leg, t.small, linRoles...)
		c.textFit(leg.X, leg.Bottom()-t.slh, leg.W, FaceRegular, t.small, ColDim,
			"one cell = 4 MiB (a 32-bit PDE) · purple outline: virtual handler")
		used = min(leg.Bottom()+t.pad-r.Y, r.H)
		// Shrink the panel to what it holds: its background and frame
		// are its first two primitives.
		c.l.Panels[panel].R.H = used
		for i := firstPrim; i < firstPrim+2 && i < len(c.l.Prims); i++ {
			c.l.Prims[i].H = int32(used)
		}
	}()
	gap := 0
	if pitch >= 4 {
		gap = 1
	}
	gx := in.X + labelW
	blk := c.l.NewCells(gx, in.Y, linCols, rows, pitch-gap, gap)
	c.fillLinear(blk)
	every := 1
	for every*pitch < t.slh {
		every *= 2
	}
	for row := 0; row < rows; row += every {
		c.b = appendHexW(c.b[:0], uint64(row*linCols)*linSlot, 8)
		y := in.Y + row*pitch + (pitch-gap-LineHeight(FaceMono, t.small))/2
		c.textB(in.X, max(y, in.Y), FaceMono, t.small, ColFaint)
	}
	// Virtual handlers: outlined row by row, as physical ones are in
	// the memory map.
	for _, h := range e.VirtHandlers() {
		lin := h.Range
		if uint64(lin.Start) >= 1<<32 {
			continue
		}
		first := int(uint64(lin.Start) / linSlot)
		last := int(min(uint64(lin.Last()), 1<<32-1) / linSlot)
		for cell := first; cell <= last; {
			row := cell / linCols
			end := min(last, (row+1)*linCols-1)
			x := gx + cell%linCols*pitch
			c.l.Stroke(Rect{x - 1, in.Y + row*pitch - 1, (end-cell+1)*pitch - gap + 2, pitch - gap + 2}, max(1, t.thick-1), Purple)
			cell = end + 1
		}
	}
	// A hit region per mapping (naming it) over the plain grid.
	c.l.HitGrid(gx, in.Y, linCols, linSlots, pitch, 1, linSlot, HitID{Kind: HitLinear})
	for _, m := range maps {
		rg := m.Range()
		first := int(uint64(rg.Start) / linSlot)
		n := int(m.Size / linSlot)
		for k := first; k < first+n; {
			row := k / linCols
			end := min(first+n, (row+1)*linCols)
			c.l.HitGrid(gx+k%linCols*pitch, in.Y+row*pitch, linCols, end-k, pitch, 1, linSlot,
				HitID{Kind: HitLinear, Index: k, Addr: uint64(k) * linSlot, Name: m.Name})
			k = end
		}
	}
	return r.H // the deferred legend sets what was used
}

// fillLinear colours the 1024 slots of the linear space.
func (c *ctx) fillLinear(blk *Cells) {
	e := c.m.Engine
	gf := e.Format()
	regs := e.Regs()
	pk := &c.sc.peek
	pk.reset(e.Memory())
	pd := gf.N - 2 // the page-directory step of a walk
	idHPA, _ := e.SwitcherAddr()
	idSlot := int(uint64(idHPA) / linSlot)
	// Under nested paging, or before the guest pages, the mappings are
	// not in the guest's space: the guest's tables there are no conflict.
	active := e.Config().Paging == engine.PagingShadow && gf.Mode.Paging()
	var w x86.Walk
	for k := 0; k < linSlots; k++ {
		role := RoleEmpty
		if gf.Mode.Paging() && pd >= 0 {
			for half := uint64(0); half < linSlot; half += 2 << 20 {
				va := x86.GVA(uint64(k)*linSlot + half)
				gf.Walk(pk, regs.Root(), va, x86.Access{Kind: x86.Read}, &w)
				if w.N <= pd || !w.Steps[pd].Entry.Present() {
					continue
				}
				if gf.Levels[pd].Big(w.Steps[pd].Entry) {
					role = RoleBigPage
				} else {
					role = RoleTable
				}
				if gf.Mode == x86.Mode32Bit {
					break // one 32-bit PDE covers the whole slot
				}
			}
		}
		if c.inMapping(uint64(k) * linSlot) {
			switch {
			case role == RoleEmpty:
				role = RoleMapping
			case active:
				role = RoleConflict
			}
		}
		if k == idSlot && role == RoleEmpty {
			role = RoleSwitcher
		}
		st := role.Style()
		blk.Pix[k], blk.Marks[k] = st.Color, st.Mark
	}
}

func statValue(s stats.Sample, ok bool) uint64 {
	if !ok {
		return 0
	}
	return s.Value
}

func statCalls(s stats.Sample, ok bool) uint64 {
	if !ok {
		return 0
	}
	return s.Calls
}

// mappingName names the hypervisor mapping at linear address va, or "".
func (c *ctx) mappingName(va uint64) string {
	for _, m := range c.m.Engine.Mappings() {
		if r := m.Range(); va >= uint64(r.Start) && va < uint64(r.End) {
			return m.Name
		}
	}
	return ""
}

// inMapping reports whether the linear address va lies in a hypervisor
// mapping.
func (c *ctx) inMapping(va uint64) bool {
	for _, m := range c.m.Engine.Mappings() {
		if r := m.Range(); va >= uint64(r.Start) && va < uint64(r.End) {
			return true
		}
	}
	return false
}
