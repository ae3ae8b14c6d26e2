package engine

import (
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// walkShadow visits every present entry of the shadow hierarchy and
// checks it against the guest: directory entries must point at the table
// the planner would choose with the flags it would give; leaf entries
// must never grant more than the guest, map the guest page's host frame,
// and follow the dirty, accessed, handler and backing rules.
func (c *checker) walkShadow() {
	c.s.visitPool(func(pg *poolPage, level, i int, base uint64) (*poolPage, bool) {
		return c.entry(pg, level, i, base), true
	})
}

// entry checks entry i of pg, a table at shadow level level whose first
// entry maps address base, and returns the table it points at when the
// walk should go on below it.
func (c *checker) entry(pg *poolPage, level, i int, base uint64) *poolPage {
	s := c.s
	e := pg.ents[i]
	lv := &s.shw.Levels[level]
	if e&shwMapping != 0 {
		c.mappingPDE(pg, i, level, x86.GVA(s.canonicalVA(base|uint64(i)<<lv.Shift)))
		return nil
	}
	if e&x86.Entry(x86.P) == 0 || pg.isStale(i) {
		// A stale entry (and what hangs below it) waits for the
		// guest's flush; it is checked once resolved.
		return nil
	}
	va := s.canonicalVA(base | uint64(i)<<lv.Shift)
	if level == s.shw.N-1 {
		switch {
		case pg.dirty: // a dirty page table is compared at the next CR3 load
		case s.paging != PagingShadow:
			c.nestedLeaf(pg, i)
		default:
			c.leaf(pg, i, x86.GVA(va))
		}
		return nil
	}
	child := s.pool.page(x86.HPA(s.frameOf(e)))
	if child == nil {
		return nil // reported by users()
	}
	if s.paging == PagingShadow {
		c.dir(pg, i, level, x86.GVA(va), child)
	}
	return child
}

// canonicalVA sign-extends a long-mode address built from indices.
func (s *Shadow) canonicalVA(va uint64) uint64 {
	if bits := s.shw.VABits; s.shw.Mode.Long() && va&(1<<(bits-1)) != 0 {
		va |= ^uint64(0) << bits
	}
	return va
}

// guestView walks the guest tables for va, peeking at them: checking
// changes no statistic. The walk is the checker's scratch: valid until
// the next call.
func (c *checker) guestView(va x86.GVA) *x86.Walk {
	s := c.s
	s.format.Walk(s.mem.Peeker(), s.regs.TableRoot(), va, x86.Access{Kind: x86.Read}, &c.gw)
	return &c.gw
}

func (c *checker) dir(pg *poolPage, i, level int, va x86.GVA, child *poolPage) {
	s := c.s
	gw := c.guestView(va)
	j := s.guestLevelOf(level + 1)
	if s.format.Mode.Paging() && !gw.OK() && (j > gw.Fault.Level || child.kind.info().src == srcBig) {
		c.errf("shadow %v entry %d (va %#x) is present but the guest has no entry there (%v)", pg.kind, i, uint64(va), gw.Fault)
		return
	}
	var specs [5]tableSpec
	s.plan(va, gw, &specs)
	want := &specs[level+1]
	flags := pg.ents[i] &^ x86.Entry(s.shw.Levels[0].FrameMask)
	if child.kind != want.kind || child.key != want.key || (flags != want.flags && !trackedHalf(pg, flags, want)) {
		c.errf("shadow %v entry %d (va %#x) points at %v %v with flags %#x; the guest says %v %v with %#x",
			pg.kind, i, uint64(va), child.kind, child.key, flags, want.kind, want.key, want.flags)
	}
}

// trackedHalf accepts the shadow PDE of one 2 MiB half of a 32-bit
// guest's 4 MiB page still read-only for dirty tracking after a write
// through the other half set the guest's dirty bit. The engine, like the
// original's CheckPageFault, makes writable only the shadow entry the
// write came through. That is right, not the checker's exact demand: the
// entry is stricter than the guest (read-only), and its tracking flag
// sends the first write through it to the dirty-bit path, which finds
// the guest's D already set and makes it writable, with nothing the
// guest can see. Updating both halves at the first write would save that
// one trap, but the engine follows the original's trap for trap (its
// DirtyPage statistics count them).
func trackedHalf(pg *poolPage, flags x86.Entry, want *tableSpec) bool {
	rw := x86.Entry(x86.RW)
	return pg.kind.info().ratio == 2 && want.big && want.flags&rw != 0 &&
		flags == want.flags&^rw|shwTrackDirtyPDE
}

func (c *checker) leaf(pt *poolPage, i int, va x86.GVA) {
	s := c.s
	e := pt.ents[i]
	gw := c.guestView(va)
	if !gw.OK() {
		c.errf("shadow PTE %d of %v (va %#x) is present but the guest faults (%v)", i, pt.kind, uint64(va), gw.Fault)
		return
	}
	bad := func(why string) {
		c.errf("shadow PTE %d of %v (va %#x, entry %#x): %s", i, pt.kind, uint64(va), uint64(e), why)
	}
	gpa := x86.PageDown(gw.GPA)
	if pt.gpas[i] != gpa {
		bad("records guest page " + pt.gpas[i].String() + ", the guest maps " + gpa.String())
	}
	p, _, ok := s.mem.Lookup(gpa)
	if !ok {
		bad("maps a guest page with no RAM")
		return
	}
	if hpa, ok := s.shadowFrame(p); !ok || uint64(hpa) != s.frameOf(e) {
		bad("does not map the guest page's host frame " + hpa.String())
	}
	sr := x86.RightsOf(e, s.shw.NX)
	gr := gw.Rights
	if !s.shw.NX || !s.format.NX {
		sr |= x86.RightExec
		gr |= x86.RightExec
	}
	// Upper shadow levels may only narrow: compare the leaf with the
	// guest's effective rights after the same narrowing.
	if sr&x86.RightUser != 0 && gr&x86.RightUser == 0 && c.pathRights(va)&x86.RightUser != 0 {
		bad("grants user access the guest does not")
	}
	if sr&x86.RightWrite != 0 && gr&x86.RightWrite == 0 && c.pathRights(va)&x86.RightWrite != 0 {
		bad("is writable where the guest is read-only")
	}
	if sr&x86.RightExec != 0 && gr&x86.RightExec == 0 && c.pathRights(va)&x86.RightExec != 0 {
		bad("is executable where the guest says no-execute")
	}
	g := x86.Entry(x86.P | x86.RW | x86.US | x86.A | x86.D)
	if l := gw.Leaf(); l != nil {
		g = l.Entry
	}
	switch {
	case p.Type() == phys.TypeMMIO || p.Handler() == phys.HandlerAll:
		bad("maps a page that every access must trap on")
	case e.Writable() && (p.Handler() == phys.HandlerWrite || !p.Writable()):
		bad("is writable but the page is " + p.Type().String() + "/" + p.State().String() + " with handler " + p.Handler().String())
	case !g.Accessed():
		bad("is present but the guest entry is not accessed")
	case pt.kind.info().src == srcTable && g.Writable() && !g.Dirty() && p.Handler() < phys.HandlerWrite &&
		p.Type().Writable() && (e.Writable() || e&x86.Entry(shwTrackDirtyPTE) == 0):
		bad("the guest page is clean and writable, but the shadow does not track the dirty bit")
	case e&x86.Entry(shwTrackDirtyPTE) != 0 && (g.Dirty() || !g.Writable()):
		bad("tracks the dirty bit of a page that is dirty or read-only")
	case uint64(e.Key()) != s.shadowKey(g)>>x86.KeyShift:
		bad("carries another protection key than the guest's leaf")
	}
}

// pathRights are the rights the shadow directory entries above va grant.
func (c *checker) pathRights(va x86.GVA) x86.Rights {
	p, ok := c.s.descend(va)
	if !ok {
		return 0
	}
	r := x86.AllRights
	for !p.leaf() {
		r = p.Rights
		if !p.down() {
			return 0
		}
	}
	return r
}

// tlb checks that every valid TLB entry is what the shadow tables say.
func (c *checker) tlb() {
	s := c.s
	if s.paging != PagingShadow {
		return
	}
	for i := range s.tlb.e {
		c.tlbSlot(i)
	}
}

// tlbAt checks the TLB entry for va, if there is a valid one.
func (c *checker) tlbAt(va x86.GVA) {
	if c.s.paging == PagingShadow {
		// The current PCID's slot, and PCID 0's, where global entries live.
		_, slot := tlbKey(va, c.s.tlb.cur)
		c.tlbSlot(slot)
		if _, g := tlbKey(va, 0); g != slot {
			c.tlbSlot(g)
		}
	}
}

func (c *checker) tlbSlot(i int) {
	s := c.s
	e := &s.tlb.e[i]
	va := x86.GVA((e.vpn - 1) << x86.PageShift)
	if e.vpn == 0 || s.tlb.lookup(va) != e {
		return
	}
	sw := s.hostWalk(va)
	if !sw.ok && e.global {
		// Global translations outlive CR3 loads, like on hardware; the
		// new root may simply not have synced the page yet.
		return
	}
	if !sw.ok || sw.hpa != e.hpa || sw.rights != e.rights || sw.gpa != e.gpa || pkOf(sw.rights, sw.key) != e.pk {
		c.errf("TLB entry for %#x (%v -> %v, %v) disagrees with the shadow tables (ok %v, %v -> %v, %v)",
			uint64(va), e.gpa, e.hpa, e.rights, sw.ok, sw.gpa, sw.hpa, sw.rights)
	}
}

// nestedLeaf checks a nested PTE: it maps its guest-physical page's host
// frame, writable only for private RAM without write handlers, and never
// MMIO or fully handled pages.
func (c *checker) nestedLeaf(pt *poolPage, i int) {
	s := c.s
	e := pt.ents[i]
	gpa := pt.key + x86.GPA(uint64(i)<<x86.PageShift)
	p, _, ok := s.mem.Lookup(gpa)
	switch {
	case pt.gpas[i] != gpa:
		c.errf("nested PTE %d of %v records %v, maps %v", i, pt.key, pt.gpas[i], gpa)
	case !ok || p.Type() == phys.TypeMMIO || p.Handler() == phys.HandlerAll:
		c.errf("nested PTE for %v maps a page every access must trap on", gpa)
	case e.Writable() && (p.Handler() == phys.HandlerWrite || !p.Writable()):
		c.errf("nested PTE for %v is writable but the page is %v/%v", gpa, p.Type(), p.State())
	default:
		if hpa, ok := s.shadowFrame(p); !ok || uint64(hpa) != s.frameOf(e) {
			c.errf("nested PTE for %v does not map its host frame %v", gpa, hpa)
		}
	}
}

// mappingPDE checks a shadow entry of a hypervisor mapping: it points at
// that mapping's page table for the address, and (floating mappings)
// the guest has no page table there.
func (c *checker) mappingPDE(pg *poolPage, i, level int, va x86.GVA) {
	s := c.s
	m := s.mappingAt(va)
	if m == nil {
		c.errf("shadow %v entry %d (va %#x) is a mapping entry outside every mapping", pg.kind, i, uint64(va))
		return
	}
	k := int(va-m.Base) / mapUnit
	want := m.pt32[k].hpa
	if s.family() == famPAE {
		want = m.pae[2*k+int(va>>21&1)].hpa
	}
	if x86.HPA(s.frameOf(pg.ents[i])) != want || level != s.shw.N-2 {
		c.errf("mapping %q entry at %#x does not point at its page table", m.Name, uint64(va))
	}
	if !s.maps.fixed && s.guestUsesIn(s.mem.Peeker(), va, 1<<21) {
		c.errf("mapping %q at %#x overlaps a present guest page directory entry", m.Name, uint64(va))
	}
}
