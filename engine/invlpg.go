package engine

import "github.com/pgm-explorer/pgm-explorer/engine/x86"

// invalidatePage is invlpg (PGMInvalidatePage): the TLB entry goes, and
// the shadow path of the address is checked against the guest's, level
// by level: a table whose guest entry is gone (PDNPs), not accessed
// (PDNAs) or changed (PDOutOfSync) is dropped; the leaf PTE is resynced
// (4KBPages) or, under a big page, kept if unchanged (4MBPagesSkip).
// The guest is assumed to update before it invalidates.
func (s *Shadow) invalidatePage(va x86.GVA) {
	s.virtInvlpg(s.format.Linear(va))
	s.tlb.invalidate(va)
	s.st.TLBInvlpg.Inc()
	if s.paging != PagingShadow || !s.format.Mode.Paging() {
		return
	}
	pt := s.st.InvalidatePage.Begin()
	defer s.st.InvalidatePage.End(pt)
	va = s.format.Linear(va)
	if !s.format.Canonical(va) || s.root == nilIdx {
		s.st.InvlSkip.Inc()
		return
	}
	gw := &s.gw
	s.format.Walk(s.mem, s.regs.TableRoot(), va, x86.Access{Kind: x86.Read}, gw)
	faultAt := s.format.N
	if !gw.OK() {
		faultAt = gw.Fault.Level
	}
	if n := gw.N; n > 0 && n == s.format.N && !gw.Steps[n-1].Big {
		// The guest walk reached a page table (its entry may be the one
		// just cleared): if that table is dirty, another address space's
		// shadow may still hold what the guest invalidates.
		s.resyncDirtyAt(x86.PageDown(gw.Steps[n-1].EntryAddr))
	}
	var specs [5]tableSpec
	s.plan(va, gw, &specs)
	p, _ := s.descend(va)
	for !p.leaf() {
		l, i, pg, e := p.Level, int(p.Index), p.Page, p.Entry
		if e&x86.Entry(x86.P) == 0 {
			s.st.InvlSkip.Inc()
			return
		}
		if e&shwMapping != 0 {
			s.st.InvlPDMappings.Inc()
			return
		}
		child := p.child()
		j := s.guestLevelOf(l + 1)
		want := &specs[l+1]
		drop := func() {
			s.setEntry(pg, i, 0)
			s.tlb.flushAll()
			s.st.TLBFlushesAll.Inc()
		}
		switch {
		case j > faultAt || (want.big && !gw.OK()):
			s.st.InvlPDNPs.Inc()
			drop()
			return
		case j > 0 && !gw.Steps[j-1].Register && !gw.Steps[j-1].Entry.Accessed():
			s.st.InvlPDNAs.Inc()
			drop()
			return
		case child == nil || child.kind != want.kind || child.key != want.key ||
			e&^x86.Entry(s.shw.Levels[0].FrameMask) != want.flags:
			s.st.InvlPDOutOfSync.Inc()
			drop()
			return
		}
		pg.clearStale(i)
		p.into(child)
	}
	pg, i := p.Page, int(p.Index)
	before := pg.ents[i]
	if pg.kind.info().src == srcBig && !gw.OK() {
		s.st.InvlPDNPs.Inc()
		s.setEntry(pg, i, 0)
		return
	}
	s.syncPTE(pg, i, va, gw, false)
	switch {
	case pg.kind.info().src != srcBig:
		s.st.Invl4KB.Inc()
	case before == pg.ents[i]:
		s.st.Invl4MBSkip.Inc()
	default:
		s.st.Invl4MB.Inc()
	}
}

// PrefetchPage syncs the shadow tables for va ahead of any access (the
// original did it for hot pages after a CR3 load): only when the guest
// walk succeeds with every entry already accessed, and without setting
// any guest bit, so the guest cannot tell it happened.
func (s *Shadow) PrefetchPage(va x86.GVA) {
	pt := s.st.Prefetch.Begin()
	defer s.st.Prefetch.End(pt)
	if s.paging != PagingShadow || !s.format.Mode.Paging() {
		return
	}
	va = s.format.Linear(va)
	gw := &s.gw
	s.format.Walk(s.mem, s.regs.TableRoot(), va, x86.Access{Kind: x86.Read}, gw)
	if !gw.OK() {
		return
	}
	for i := 0; i < gw.N; i++ {
		if st := &gw.Steps[i]; !st.Register && !st.Entry.Accessed() {
			return
		}
	}
	s.syncPath(va, gw, false)
}
