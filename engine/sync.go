package engine

import (
	"fmt"

	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// syncWindow is how many PTEs around a fault SyncPage and SyncPT fill
// (PGM_SYNC_NR_PAGES).
const syncWindow = 8

// syncPDPTRegisters makes a PAE guest's shadow root agree with the PDPTE
// registers loaded at the last CR3 load: a PDPTE that now names another
// page directory (or none) drops its shadow PD.
func (s *Shadow) syncPDPTRegisters() {
	if s.root == nilIdx || s.pool.pages[s.root].kind != KindPAEPDPT {
		return
	}
	root := &s.pool.pages[s.root]
	lv := &s.format.Levels[0]
	for i := range 4 {
		e := root.ents[i]
		if e&x86.Entry(x86.P) == 0 {
			continue
		}
		g := x86.Entry(s.regs.PDPTE[i])
		child := s.pool.page(x86.HPA(s.frameOf(e)))
		if !g.Present() || lv.Reserved(g) != 0 || child == nil || child.key != lv.Table(g) {
			s.setEntry(root, i, 0)
		}
	}
	s.pdptes = s.regs.PDPTE
}

// syncCR3 follows a CR3 load (PGMSyncCR3): the modification counters of
// monitored pages restart, a PAE guest's root is checked against the new
// PDPTE registers, and for 32-bit and PAE shadows every present shadow
// PDE is checked against its guest PDE, kept when its table still
// mirrors the guest (or, on a non-global sync, maps only global pages)
// and freed otherwise. Long-mode shadows rely on write monitoring alone,
// as the original did.
func (s *Shadow) syncCR3(global bool) {
	pt := s.st.SyncCR3.Begin()
	defer s.st.SyncCR3.End(pt)
	if global {
		s.st.SyncCR3Global.Inc()
	} else {
		s.st.SyncCR3NotGlobal.Inc()
	}
	s.resyncAllDirty()
	p := &s.pool
	for i := 1; i < len(p.pages) && p.modified > 0; i++ {
		if p.pages[i].mods > 0 {
			p.pages[i].mods = 0
			p.modified--
		}
	}
	if !s.format.Mode.Paging() || s.paging != PagingShadow {
		return
	}
	if err := s.ensureRoot(); err != nil {
		return
	}
	s.syncPDPTRegisters()
	s.resolveConflicts()
	if s.family() == fam64 {
		return
	}
	s.checkPDEs(global)
}

// checkPDEs is the PD scan of SyncCR3 for 32-bit and PAE shadows.
func (s *Shadow) checkPDEs(global bool) {
	pdLevel := s.shw.N - 2
	pgePSE := s.regs.CR4&x86.CR4PGE != 0
	s.visitPool(func(pg *poolPage, level, i int, base uint64) (*poolPage, bool) {
		e := pg.ents[i]
		if e&x86.Entry(x86.P) == 0 {
			if level == pdLevel {
				s.st.DstNotPresent.Inc()
			}
			return nil, true
		}
		if e&shwMapping != 0 {
			return nil, true // a hypervisor mapping's entry: not the guest's
		}
		child := s.pool.page(x86.HPA(s.frameOf(e)))
		if level < pdLevel {
			return child, true
		}
		s.checkPDE(pg, i, x86.GVA(base|uint64(i)<<s.shw.Levels[level].Shift), child, global, pgePSE)
		return nil, true
	})
}

func (s *Shadow) checkPDE(pd *poolPage, i int, va x86.GVA, child *poolPage, global, pge bool) {
	var specs [5]tableSpec
	s.format.Walk(s.mem, s.regs.TableRoot(), va, x86.Access{Kind: x86.Read}, &s.gw)
	gw := &s.gw
	ptLevel := s.shw.N - 1
	if !gw.OK() && !(gw.Fault.Kind == x86.NotPresent && gw.Fault.Level >= s.guestLevelOf(ptLevel)) {
		s.st.DstFreedSrcNP.Inc()
		s.setEntry(pd, i, 0)
		return
	}
	if !global && pge && child != nil {
		if gl := s.guestDirStep(gw); gl != nil && gl.Big && gl.Entry.Global() {
			s.st.DstSkippedGlobalPD.Inc()
			return
		}
		if !child.seenNonGlobal && child.kind.Level() == x86.LevelPT && child.present > 0 {
			s.st.DstSkipGlbPT.Inc()
			return
		}
	}
	if !gw.OK() {
		// The guest PT entry is not present: the PDE itself still mirrors.
		gw.N = s.guestLevelOf(ptLevel)
	}
	s.plan(va, gw, &specs)
	want := &specs[ptLevel]
	// The shadow PTEs below were derived while the guest entry pointing at
	// them was accessed; once it is not, they must go (accessed emulation).
	if j := s.guestLevelOf(ptLevel); j > 0 && j-1 < gw.N && !gw.Steps[j-1].Register && !gw.Steps[j-1].Entry.Accessed() {
		s.st.DstFreed.Inc()
		s.setEntry(pd, i, 0)
		return
	}
	if child != nil && child.kind == want.kind && child.key == want.key && pd.ents[i]&^x86.Entry(s.shw.Levels[0].FrameMask) == want.flags {
		s.st.DstCacheHit.Inc()
		pd.clearStale(i)
		return
	}
	s.st.DstFreed.Inc()
	s.setEntry(pd, i, 0)
}

// guestLevelOf is the number of guest walk steps that lead to the guest
// entry mirrored by shadow level l (the guest PDE for the shadow PT).
func (s *Shadow) guestLevelOf(l int) int {
	lv := &s.shw.Levels[l]
	for g := s.format.N - 1; g >= 0; g-- {
		if s.format.Levels[g].Shift >= lv.Shift {
			return g
		}
	}
	return 0
}

// guestDirStep is the guest step that maps a big page, if any.
func (s *Shadow) guestDirStep(gw *x86.Walk) *x86.Step {
	if l := gw.Leaf(); l != nil && l.Big {
		return l
	}
	return nil
}

// syncResult says what syncing an address did, for the outcome's path.
type syncResult struct {
	createdTable bool
	dirtyTrap    bool
	accessedTrap bool
	evicted      bool
}

// syncPath makes the shadow hierarchy translate va as the guest's walk gw
// says (SyncPT for missing tables, SyncPage for the leaf), for an access
// that the guest tables permit. write asks for a writable mapping when
// the guest allows one.
func (s *Shadow) syncPath(va x86.GVA, gw *x86.Walk, write bool) (syncResult, error) {
	var res syncResult
	if err := s.ensureRoot(); err != nil {
		return res, err
	}
	var specs [5]tableSpec
	s.plan(va, gw, &specs)
	p, _ := s.descend(va)
	s.pool.touch(p.Page)
	n := s.shw.N
	for !p.leaf() {
		l, i, pg, e := p.Level, int(p.Index), p.Page, p.Entry
		want := &specs[l+1]
		if e&shwMapping != 0 {
			return res, fmt.Errorf("engine: %#x: %w", uint64(va), ErrNoMappingSpace)
		}
		if e&x86.Entry(x86.P) != 0 {
			child := p.child()
			if child != nil && child.kind == want.kind && child.key == want.key {
				pg.clearStale(i)
				if fl := e &^ x86.Entry(s.shw.Levels[0].FrameMask); fl != want.flags {
					if fl&shwTrackDirtyPDE != 0 && want.flags&shwTrackDirtyPDE == 0 {
						res.dirtyTrap = true
						s.st.DirtyTrap.Inc()
					}
					s.setEntry(pg, i, x86.Entry(child.hpa)|want.flags)
					s.tlb.flushAll()
				}
				s.pool.touch(child)
				p.into(child)
				continue
			}
			s.st.SyncPagePDOutOfSync.Inc()
			s.setEntry(pg, i, 0)
		}
		sp := s.st.SyncPT.Begin()
		child, cached, err := s.poolAlloc(want.key, want.kind, pg.idx, uint16(i))
		if err != nil {
			s.st.SyncPTFailed.Inc()
			s.st.SyncPT.End(sp)
			return res, err
		}
		if pg.inUse && s.pool.pages[pg.idx].kind != KindFree {
			s.setEntry(pg, i, x86.Entry(child.hpa)|want.flags)
		}
		if want.flags&shwTrackDirtyPDE != 0 {
			s.st.DirtyMarkBig.Inc()
		}
		res.createdTable = true
		if l+1 == n-1 {
			if want.big {
				s.st.SyncPT4M.Inc()
			} else {
				s.st.SyncPT4K.Inc()
			}
			s.st.PDSyncPT.Inc(i % pdFamily)
		}
		s.st.SyncPT.End(sp)
		p.into(child)
		if !cached && l+1 == n-1 {
			s.fillWindow(child, va, gw, -1)
		}
	}
	// Read again: fillWindow may have filled the entry.
	pg, i := p.Page, int(p.Index)
	old := pg.ents[i]
	if old&shwTrackDirtyPTE != 0 && write {
		res.dirtyTrap = true
		s.st.DirtyTrap.Inc()
	}
	if old&x86.Entry(x86.P) == 0 && !res.createdTable {
		s.st.PDSyncPage.Inc(int(s.shw.Levels[n-2].Index(va)) % pdFamily)
		s.fillWindow(pg, va, gw, i)
	}
	s.syncPTE(pg, i, va, gw, write)
	return res, nil
}

// fillWindow syncs the not-present PTEs around va in page table pt
// (prefetching neighbours whose guest entries are accessed), except
// entry skip.
func (s *Shadow) fillWindow(pt *poolPage, va x86.GVA, gw *x86.Walk, skip int) {
	leaf := &s.shw.Levels[s.shw.N-1]
	c := int(leaf.Index(va))
	lo := max(0, c-syncWindow/2)
	hi := min(len(pt.ents), c+syncWindow/2)
	base := va &^ x86.GVA(uint64(len(pt.ents))<<x86.PageShift-1)
	for i := lo; i < hi; i++ {
		if i == skip || pt.ents[i]&x86.Entry(x86.P) != 0 {
			continue
		}
		s.syncPTE(pt, i, base+x86.GVA(uint64(i)<<x86.PageShift), gw, false)
	}
}

// guestLeaf reads the guest's view of the 4 KiB page at va mirrored by
// entry i of page table pt: the flags that govern it and its guest
// physical page. ok is false when the guest entry is not present or
// malformed.
func (s *Shadow) guestLeaf(pt *poolPage, i int, va x86.GVA, gw *x86.Walk) (e x86.Entry, gpa x86.GPA, ok bool) {
	info := pt.kind.info()
	switch info.src {
	case srcPhys:
		return x86.Entry(x86.P | x86.RW | x86.US | x86.A | x86.D), pt.key + x86.GPA(uint64(i)<<x86.PageShift), true
	case srcBig:
		big := gw.Leaf()
		return big.Entry, x86.PageDown(pt.key) + x86.GPA(uint64(i)<<x86.PageShift), true
	}
	gl := &s.format.Levels[s.format.N-1]
	addr := pt.key + x86.GPA(i*int(gl.EntrySize))
	e = x86.Entry(s.mem.ReadEntry(addr, int(gl.EntrySize)))
	if !e.Present() || gl.Reserved(e) != 0 {
		return e, 0, false
	}
	return e, gl.PageBase(e), true
}

// syncPTE computes one shadow PTE from its guest entry (SyncPageWorker).
func (s *Shadow) syncPTE(pt *poolPage, i int, va x86.GVA, gw *x86.Walk, write bool) {
	g, gpa, ok := s.guestLeaf(pt, i, va, gw)
	v := x86.Entry(0)
	if ok {
		v = s.derivePTE(pt, g, gpa, write)
	}
	old := pt.ents[i]
	if old == v && (v&x86.Entry(x86.P) == 0 || pt.gpas[i] == gpa) {
		return
	}
	if old&x86.Entry(x86.P) != 0 && (v&x86.Entry(x86.P) == 0 || pt.gpas[i] != gpa) {
		s.setEntry(pt, i, 0)
		old = 0
	}
	if v&x86.Entry(x86.P) != 0 && old&x86.Entry(x86.P) == 0 {
		pt.gpas[i] = gpa
		s.trackAddref(gpa, pt.idx)
	}
	s.setEntry(pt, i, v)
	s.tlb.invalidate(va)
}

// derivePTE is the shadow PTE for a present guest leaf: never more rights
// than the guest grants; not present while the guest's accessed bit is
// clear, for pages that are MMIO or fully handled, or with no RAM;
// read-only (and tracked) while the guest's dirty bit is clear, and for
// write-handled, monitored, ROM, zero and shared pages.
func (s *Shadow) derivePTE(pt *poolPage, g x86.Entry, gpa x86.GPA, write bool) x86.Entry {
	info := pt.kind.info()
	p, _, ok := s.mem.Lookup(gpa)
	if !ok || p.Type() == phys.TypeMMIO || p.PhysHandler() == phys.HandlerAll || p.VirtHandler() == phys.HandlerAll {
		return 0
	}
	if !g.Accessed() {
		s.st.AccessedPage.Inc()
		return 0
	}
	rw := g.Writable()
	track := false
	switch {
	case p.Handler() == phys.HandlerWrite || !p.Type().Writable():
		rw = false
	case info.src == srcTable && rw && !g.Dirty():
		rw, track = false, true
		s.st.DirtyMark.Inc()
	case rw && !p.Writable():
		if write && s.mem.MakeWritable(gpa) == nil {
			p, _, _ = s.mem.Lookup(gpa)
		} else {
			rw = false
		}
	}
	if info.src == srcTable && !track {
		s.st.DirtySkipped.Inc()
	}
	hpa, ok := s.shadowFrame(p)
	if !ok {
		return 0
	}
	if p.State() == phys.StateBallooned {
		rw = false // reads see zeros; the first write brings the page back
	}
	v := x86.Entry(hpa) | x86.Entry(x86.P|x86.A)
	if rw {
		v |= x86.Entry(x86.RW)
	}
	if track {
		v |= shwTrackDirtyPTE
	}
	if g.User() {
		v |= x86.Entry(x86.US)
	}
	if g.Dirty() && rw {
		v |= x86.Entry(x86.D)
	}
	if g.Global() && s.regs.CR4&x86.CR4PGE != 0 {
		v |= x86.Entry(x86.G)
	} else {
		pt.seenNonGlobal = true
	}
	if s.shw.NX && s.format.NX && g.NoExec() {
		v |= x86.Entry(x86.NX)
	}
	return v | x86.Entry(s.shadowKey(g))
}

// shadowFrame is the host frame a shadow entry maps for a guest page: its
// own, the zero page for zero pages, and the zero page too for a page the
// balloon took (reads see zeros; a write traps and gets a fresh page).
func (s *Shadow) shadowFrame(p *phys.Page) (x86.HPA, bool) {
	if p.State() == phys.StateBallooned {
		return s.mem.Host().ZeroPage(), true
	}
	return s.mem.HostAddr(*p)
}
