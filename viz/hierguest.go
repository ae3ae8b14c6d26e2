package viz

import "github.com/pgm-explorer/pgm-explorer/engine/x86"

// Gathering the guest's tables: read through guest memory without
// counting (the peek reader), from CR3 down, the path of the selected
// address first.

// gatherGuest reads the guest's tables: the path of va (when hasVA),
// then up to perDepth[d] cards per depth.
func (c *ctx) gatherGuest(h *hierData, va x86.GVA, hasVA bool, perDepth []int) {
	e := c.m.Engine
	f := e.Format()
	h.reset(HierGuest, f)
	if f.N == 0 {
		return
	}
	regs := e.Regs()
	pk := &c.sc.peek
	pk.reset(e.Memory())
	var path [5]pathStep
	if hasVA {
		var w x86.Walk
		f.Walk(pk, regs.Root(), va, regs.Access(x86.Read), &w)
		for i := 0; i < w.N; i++ {
			s := &w.Steps[i]
			lv := &f.Levels[i]
			t := uint64(s.EntryAddr) - uint64(s.Index)*uint64(lv.EntrySize)
			if lv.Register {
				t = regs.CR3 & f.RootMask
			}
			path[i] = pathStep{t, int(s.Index), true}
		}
	}
	root := regs.CR3 & f.RootMask
	sel := -1
	if path[0].ok {
		sel = path[0].index
	}
	h.addCard(0, root, -1, 0, hasVA, sel)
	c.fillGuest(h, 0, regs)
	for d := 0; d+1 < f.N; d++ {
		c.addChildren(h, d, path[d+1], perDepth[d+1], func(i int) { c.fillGuest(h, i, regs) })
	}
}

// fillGuest reads the entries of guest card i.
func (c *ctx) fillGuest(h *hierData, i int, regs x86.Regs) {
	cd := &h.cards[i]
	pk := &c.sc.peek
	lv := cd.level
	if !lv.Register && c.m.Engine.Memory().PageBytes(x86.GPA(cd.addr)) == nil {
		cd.mmio = true
		return
	}
	for k := 0; k < cd.n; k++ {
		var e uint64
		if lv.Register {
			e = regs.PDPTE[k]
		} else {
			e = pk.ReadEntry(x86.GPA(cd.addr)+x86.GPA(k*int(lv.EntrySize)), int(lv.EntrySize))
		}
		cd.ents[k] = e
		if x86.Entry(e).Present() {
			cd.present++
		}
	}
}

// addChildren adds the cards of depth d+1: the path's table first, then
// the tables the present directory entries of depth d's cards point at,
// in order, until limit cards.
func (c *ctx) addChildren(h *hierData, d int, path pathStep, limit int, fill func(int)) {
	if limit <= 0 {
		return
	}
	first := len(h.cards)
	n := 0
	parents := h.cards[:first]
	for pi := range parents {
		p := &h.cards[pi]
		if p.depth != d || !p.path || p.sel < 0 {
			continue
		}
		if e := x86.Entry(p.ents[p.sel]); c.descends(h, p, e) && path.ok {
			h.addCard(d+1, c.childAddr(h, p, e), pi, p.sel, true, path.index)
			fill(len(h.cards) - 1)
			n++
		}
	}
	for pi := 0; pi < first && n < limit; pi++ {
		p := &h.cards[pi]
		if p.depth != d {
			continue
		}
		for k := 0; k < p.n && n < limit; k++ {
			e := x86.Entry(p.ents[k])
			if (p.path && k == p.sel) || !c.descends(h, p, e) {
				continue
			}
			addr := c.childAddr(h, p, e)
			dup := false
			for j := first; j < len(h.cards); j++ {
				dup = dup || h.cards[j].addr == addr
			}
			if dup {
				continue
			}
			h.addCard(d+1, addr, pi, k, false, -1)
			fill(len(h.cards) - 1)
			n++
		}
	}
}

// descends reports whether entry e of card p points at a table.
func (c *ctx) descends(h *hierData, p *card, e x86.Entry) bool {
	if !e.Present() || p.depth+1 >= h.format.N {
		return false
	}
	if h.hier == HierGuest {
		return !p.level.Big(e) && p.level.Reserved(e) == 0
	}
	return !e.Has(mappingBit)
}

func (c *ctx) childAddr(h *hierData, p *card, e x86.Entry) uint64 {
	if h.hier == HierGuest {
		return uint64(p.level.Table(e))
	}
	return uint64(e) & h.format.Levels[0].FrameMask
}
