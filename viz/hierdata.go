package viz

import (
	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// Gathering the tables a hierarchy panel shows: the tables on the path
// of the selected address, and the first few other children of the
// tables shown, depth by depth.

// Shadow entry flags kept beside the raw entries.
const (
	sfStale uint8 = 1 << iota
	sfTrackDirty
)

// mappingBit marks a shadow directory entry that maps a hypervisor
// mapping's page table (the engine's software bit AVL10).
const mappingBit = x86.AVL10

// card is one table shown.
type card struct {
	depth     int
	level     *x86.Level
	addr      uint64 // the table's address: GPA (guest), HPA (shadow, nested)
	n         int    // entries
	base      uint64 // first address covered by entry 0 (not sign-extended)
	ents      []uint64
	flags     []uint8 // shadow entry flags
	sel       int     // the selected entry (path cards), else -1
	path      bool    // on the selected address's path
	parent    int     // index of the parent card, -1 for the root
	parentIdx int     // entry of the parent that points here
	kind      engine.PoolKind
	present   int
	mmio      bool // guest table with no bytes behind it

	roles []Role // what each entry is (classify)

	// Placement (placeBand).
	x, y, w, h         int
	gx, gy, cols, rows int
	pitch, gap         int
	rowY               []int32 // offset of each grid row below gy; -1: folded
	gridH              int
	runs               int // run lines under the grid
}

// hierData is one hierarchy's gathered tables.
type hierData struct {
	hier     Hier
	format   *x86.Format
	cards    []card
	store    []uint64
	fstore   []uint8
	used     int
	rstore   []Role
	rowStore []int32
	last     [8]uint64
	cur      [8]int
	fillIdx  int                         // the card fill writes to
	fillFn   func(engine.EntryView) bool // h.fill, made once
}

func (h *hierData) reset(hier Hier, f *x86.Format) {
	h.hier, h.format = hier, f
	h.cards = h.cards[:0]
	h.used = 0
}

// addCard appends a card with room for its entries.
func (h *hierData) addCard(depth int, addr uint64, parent, parentIdx int, path bool, sel int) *card {
	lv := &h.format.Levels[depth]
	n := lv.Entries()
	if h.used+n > len(h.store) {
		// Grow: keep what earlier cards point at by copying into a new store.
		ns := make([]uint64, max(2*len(h.store), h.used+n, 8192))
		nf := make([]uint8, len(ns))
		copy(ns, h.store[:h.used])
		copy(nf, h.fstore[:h.used])
		off := 0
		for i := range h.cards {
			k := h.cards[i].n
			h.cards[i].ents, h.cards[i].flags = ns[off:off+k:off+k], nf[off:off+k:off+k]
			off += k
		}
		h.store, h.fstore = ns, nf
	}
	ents, fl := h.store[h.used:h.used+n:h.used+n], h.fstore[h.used:h.used+n:h.used+n]
	clear(ents)
	clear(fl)
	h.used += n
	base := uint64(0)
	if parent >= 0 {
		p := &h.cards[parent]
		base = p.base + uint64(parentIdx)<<p.level.Shift
	}
	h.cards = append(h.cards, card{depth: depth, level: lv, addr: addr, n: n, base: base, ents: ents, flags: fl,
		sel: sel, path: path, parent: parent, parentIdx: parentIdx})
	return &h.cards[len(h.cards)-1]
}

// firstAt is the index of the first card of a depth, or -1.
func (h *hierData) firstAt(depth int) int {
	for i := range h.cards {
		if h.cards[i].depth == depth {
			return i
		}
	}
	return -1
}

// entryVA is the address entry i of card cd covers, sign-extended in
// long-mode formats.
func (h *hierData) entryVA(cd *card, i int) uint64 {
	va := cd.base + uint64(i)<<cd.level.Shift
	f := h.format
	if f.Mode.Long() && va&(1<<(f.VABits-1)) != 0 {
		va |= ^uint64(0) << f.VABits
	}
	return va
}

// pathStep is one level of a selected path: the table and index.
type pathStep struct {
	table uint64
	index int
	ok    bool
}

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
	if h.fillFn == nil {
		h.fillFn = h.fill
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
	for i := range h.cards {
		cd := &h.cards[i]
		for _, en := range cd.ents {
			if x86.Entry(en).Present() {
				cd.present++
			}
		}
	}
	c.sortCards(h)
}

// readTable fills card i from its table.
func (c *ctx) readTable(e *engine.Shadow, h *hierData, i int) {
	h.fillIdx = i
	cd := &h.cards[i]
	e.VisitShadowTable(x86.HPA(cd.addr), cd.depth, cd.base, h.fillFn)
}

// fill records one entry of card fillIdx.
func (h *hierData) fill(v engine.EntryView) bool {
	cd := &h.cards[h.fillIdx]
	cd.kind = v.Kind
	cd.ents[v.Index] = uint64(v.Entry)
	var fl uint8
	if v.Stale {
		fl |= sfStale
	}
	if v.TrackDirty {
		fl |= sfTrackDirty
	}
	cd.flags[v.Index] = fl
	return true
}

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
	fs := &c.sc.hier.interFmt
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
	for i := range h.last {
		h.last[i], h.cur[i] = ^uint64(0), -1
	}
	count := [8]int{}
	count[0] = 1
	pathTaken := [8]bool{}
	stopAtMapping := h.hier == HierShadow
	visitAll(func(v engine.EntryView) bool {
		d := v.Depth
		if d >= len(h.last) {
			return true
		}
		if v.Table != h.last[d] {
			h.last[d] = v.Table
			h.cur[d] = -1
			for i := range h.cards {
				if h.cards[i].depth == d && h.cards[i].addr == v.Table {
					h.cur[d] = i
					break
				}
			}
		}
		ci := h.cur[d]
		if ci < 0 {
			return true
		}
		cd := &h.cards[ci]
		cd.kind = v.Kind
		cd.ents[v.Index] = uint64(v.Entry)
		var fl uint8
		if v.Stale {
			fl |= sfStale
		}
		if v.TrackDirty {
			fl |= sfTrackDirty
		}
		cd.flags[v.Index] = fl
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
	for i := range h.cards {
		cd := &h.cards[i]
		for _, e := range cd.ents {
			if x86.Entry(e).Present() {
				cd.present++
			}
		}
	}
	// Path cards first within each depth, then in the order found.
	c.sortCards(h)
}

// sortCards orders cards by depth, the path's first, keeping parent
// links right.
func (c *ctx) sortCards(h *hierData) {
	n := len(h.cards)
	order := c.sc.hier.order[:0]
	for d := 0; d < h.format.N; d++ {
		for pass := 0; pass < 2; pass++ {
			for i := 0; i < n; i++ {
				cd := &h.cards[i]
				if cd.depth == d && cd.path == (pass == 0) {
					order = append(order, i)
				}
			}
		}
	}
	c.sc.hier.order = order
	inv := c.sc.hier.inv[:0]
	for range n {
		inv = append(inv, 0)
	}
	for newI, oldI := range order {
		inv[oldI] = newI
	}
	c.sc.hier.inv = inv
	tmp := append(c.sc.hier.tmp[:0], h.cards...)
	c.sc.hier.tmp = tmp
	for newI, oldI := range order {
		h.cards[newI] = tmp[oldI]
		if p := h.cards[newI].parent; p >= 0 {
			h.cards[newI].parent = inv[p]
		}
	}
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
