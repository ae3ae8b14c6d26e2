package viz

import (
	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// Gathering the intermediate context, the tables the world switch runs
// in: one depth-first visit of the whole tree, keeping the tables shown.

// interFormat is the format of the intermediate context the panels
// show: the host's, the one the world switch runs in.
func (c *ctx) interFormat() *x86.Format {
	m := c.m.Engine.Config().Host.Paging()
	i := 1
	switch {
	case m == x86.Mode32Bit:
		i = 0
	case m.Long():
		i = 2
	}
	fs := &c.sc.hierarchy.interFmt
	if fs[i] == nil {
		mode := [3]x86.Mode{x86.Mode32Bit, x86.ModePAE, x86.ModeAMD64}[i]
		f, err := x86.NewFormat(mode, 0, x86.MaxMaxPhys)
		if err != nil {
			panic(err) // the three formats are fixed: a failure is a bug
		}
		fs[i] = f
	}
	return fs[i]
}

// interKey is the address the intermediate context is followed for: the
// selected address when it lies in a hypervisor mapping, else where the
// switcher runs.
func (c *ctx) interKey(va x86.GVA, hasVA bool) uint64 {
	e := c.m.Engine
	if hasVA {
		lin := e.Format().Linear(va)
		for _, m := range e.Mappings() {
			if m.Range().Contains(lin) {
				return uint64(lin)
			}
		}
	}
	_, hv := e.SwitcherAddr()
	return uint64(hv)
}

// gatherIntermediate reads the intermediate context in format f along
// the path of key.
func (c *ctx) gatherIntermediate(h *hierData, f *x86.Format, key uint64, perDepth []int) {
	e := c.m.Engine
	h.reset(HierIntermediate, f)
	var path [5]pathStep
	for d := 0; d < f.N && d < len(path); d++ {
		path[d] = pathStep{0, int(f.Levels[d].Index(x86.GVA(key))), true}
	}
	c.gatherTree(h, uint64(e.IntermediateCR3(f.Mode)), engine.KindInvalid, &path, perDepth,
		func(fn func(engine.EntryView) bool) { e.VisitIntermediate(f.Mode, fn) })
}

// gatherTree builds the cards of a hierarchy the engine visits depth
// first (shadow, nested or intermediate): the root, the path's tables
// and up to perDepth[d] other tables per depth.
func (c *ctx) gatherTree(h *hierData, rootAddr uint64, rootKind engine.PoolKind, path *[5]pathStep, perDepth []int,
	visitAll func(func(engine.EntryView) bool)) {
	f := h.format
	sel := -1
	if path[0].ok {
		sel = path[0].index
	}
	h.addCard(0, rootAddr, -1, 0, path[0].ok, sel).kind = rootKind

	// One pass over the shadow tree. It is depth first, so the entries
	// of a table come in one run (children's runs nested inside): a
	// card is looked up only when the table changes.
	for i := range h.lastTable {
		h.lastTable[i], h.curCard[i] = ^uint64(0), -1
	}
	count := [8]int{}
	count[0] = 1
	pathTaken := [8]bool{}
	stopAtMapping := h.hier == HierShadow
	visitAll(func(v engine.EntryView) bool {
		d := v.Depth
		if d >= len(h.lastTable) {
			return true
		}
		if v.Table != h.lastTable[d] {
			h.lastTable[d] = v.Table
			h.curCard[d] = -1
			for i := range h.cards {
				if h.cards[i].depth == d && h.cards[i].addr == v.Table {
					h.curCard[d] = i
					break
				}
			}
		}
		ci := h.curCard[d]
		if ci < 0 {
			return true
		}
		cd := &h.cards[ci]
		cd.kind = v.Kind
		cd.ents[v.Index] = uint64(v.Entry)
		cd.flags[v.Index] = viewFlags(&v)
		if v.Leaf || d+1 >= f.N || d+1 >= len(perDepth) || stopAtMapping && v.Entry.Has(mappingBit) {
			return true
		}
		child := uint64(v.Entry) & f.Levels[0].FrameMask
		onPath := cd.path && v.Index == cd.sel && path[d+1].ok && !pathTaken[d+1]
		limit := perDepth[d+1]
		if path[d+1].ok && !pathTaken[d+1] {
			limit-- // keep a place for the path's table
		}
		for i := range h.cards {
			if x := &h.cards[i]; x.depth == d+1 && x.addr == child {
				// A table reached twice (the pool shares a shadow table
				// between guest entries that point at the same guest
				// table): on the path, it becomes the path's.
				if onPath {
					x.path, x.sel, x.parent, x.parentIdx = true, path[d+1].index, ci, v.Index
					x.base = cd.base + uint64(v.Index)<<cd.level.Shift
					pathTaken[d+1] = true
				}
				return true
			}
		}
		if !onPath && count[d+1] >= limit {
			return true
		}
		s := -1
		if onPath {
			s = path[d+1].index
			pathTaken[d+1] = true
		}
		h.addCard(d+1, child, ci, v.Index, onPath, s)
		count[d+1]++
		return true
	})
	h.countPresent()
	// Path cards first within each depth, then in the order found.
	c.sortCards(h)
}
