package viz

import (
	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// Gathering the shadow (or nested) tables: the engine visits only the
// tables shown, so that a full pool costs what the cards hold.

// gatherShadow reads the shadow (or nested) tables through VisitShadow:
// the path of key (a virtual address, or guest-physical for nested
// tables) and up to perDepth[d] cards per depth.
func (c *ctx) gatherShadow(h *hierData, key uint64, hasKey bool, perDepth []int) {
	e := c.m.Engine
	f := e.ShadowFormat()
	hier := HierShadow
	if e.Config().Paging != engine.PagingShadow {
		hier = HierNested
	}
	h.reset(hier, f)
	var path [5]pathStep
	steps := e.ShadowWalk(x86.GVA(key))
	if len(steps) == 0 {
		return
	}
	if hasKey {
		for i, s := range steps {
			path[i] = pathStep{uint64(s.Table), s.Index, true}
		}
	}
	c.gatherTables(h, uint64(steps[0].Table), steps[0].Kind, &path, perDepth)
}

// gatherTables builds the shadow (or nested) cards level by level,
// reading only the tables shown (VisitShadowTable): the root, the
// path's table, then the tables the present entries of the cards above
// point at, in order, up to perDepth[d] per depth. A full pool holds
// half a million entries; the cards a few thousand.
func (c *ctx) gatherTables(h *hierData, rootAddr uint64, rootKind engine.PoolKind, path *[5]pathStep, perDepth []int) {
	e := c.m.Engine
	f := h.format
	if h.recordFn == nil {
		h.recordFn = h.record
	}
	sel := -1
	if path[0].ok {
		sel = path[0].index
	}
	h.addCard(0, rootAddr, -1, 0, path[0].ok, sel).kind = rootKind
	c.readTable(e, h, 0)
	stopAtMapping := h.hier == HierShadow
	descends := func(p *card, k int) (uint64, bool) {
		en := x86.Entry(p.ents[k])
		if !en.Present() || stopAtMapping && en.Has(mappingBit) {
			return 0, false
		}
		return uint64(en) & f.Levels[0].FrameMask, true
	}
	for d := 0; d+1 < f.N && d+1 < len(perDepth); d++ {
		first := len(h.cards)
		limit := perDepth[d+1]
		// The path's table first.
		if path[d+1].ok {
			for pi := 0; pi < first; pi++ {
				p := &h.cards[pi]
				if p.depth != d || !p.path || p.sel < 0 {
					continue
				}
				if child, ok := descends(p, p.sel); ok {
					h.addCard(d+1, child, pi, p.sel, true, path[d+1].index)
					c.readTable(e, h, len(h.cards)-1)
				}
				break
			}
		}
		for pi := 0; pi < first && len(h.cards)-first < limit; pi++ {
			if h.cards[pi].depth != d {
				continue
			}
			for k := 0; k < h.cards[pi].n && len(h.cards)-first < limit; k++ {
				child, ok := descends(&h.cards[pi], k)
				if !ok {
					continue
				}
				dup := false
				for j := first; j < len(h.cards) && !dup; j++ {
					dup = h.cards[j].addr == child
				}
				if dup {
					continue
				}
				h.addCard(d+1, child, pi, k, false, -1)
				c.readTable(e, h, len(h.cards)-1)
			}
		}
	}
	h.countPresent()
	c.sortCards(h)
}

// readTable fills card i from its table.
func (c *ctx) readTable(e *engine.Shadow, h *hierData, i int) {
	h.recordIdx = i
	cd := &h.cards[i]
	e.VisitShadowTable(x86.HPA(cd.addr), cd.depth, cd.base, h.recordFn)
}

// record keeps one visited entry in card recordIdx.
func (h *hierData) record(v engine.EntryView) bool {
	cd := &h.cards[h.recordIdx]
	cd.kind = v.Kind
	cd.ents[v.Index] = uint64(v.Entry)
	cd.flags[v.Index] = viewFlags(&v)
	return true
}

// viewFlags is what a visited shadow entry's view says beyond the entry.
func viewFlags(v *engine.EntryView) uint8 {
	var fl uint8
	if v.Stale {
		fl |= sfStale
	}
	if v.TrackDirty {
		fl |= sfTrackDirty
	}
	return fl
}
