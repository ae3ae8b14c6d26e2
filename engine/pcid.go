package engine

// PCIDs in the shadow engine.
//
// The software TLB is tagged by PCID (tlb.go): a CR3 load with bit 63
// keeps every PCID's entries, one without it flushes the new PCID's
// non-global entries, and INVPCID drops exactly what its type names.
//
// The shadow roots are not duplicated per PCID. A root is cached under
// the guest table it mirrors, and write monitoring keeps every cached
// table exact whatever PCID is current, so two PCIDs over the same
// tables share one root and a switch back to an address space finds its
// root cached (unless the pool evicted it). Per-PCID copies would only
// mirror the same guest memory twice: the outcomes the engine must give
// are those of a CPU without a TLB, and an exact shadow is never wrong.
// What is PCID-specific is the work a CR3 load does besides switching
// the root: SyncCR3 (the dirty page tables compared with their copies,
// the monitoring counters restarted, the PD scan of 32-bit and PAE
// shadows) exists because a plain CR3 load invalidates. A load with bit
// 63 does not, so it only switches the root and checks the hypervisor
// mappings against the new address space (lightSync): a guest switching
// among a few address spaces this way pays no SyncCR3 per switch and
// keeps its TLB entries. The dirty page tables are compared at the next
// plain CR3 load, INVPCID or invlpg, which is when a well-behaved guest
// relies on what it changed.

// lightSync is the CR3 load with bit 63: the new root (from the cache
// when the address space was seen before) and the mappings, no SyncCR3.
func (s *Shadow) lightSync() {
	s.st.PCIDNoFlush.Inc()
	if !s.format.Mode.Paging() || s.paging != PagingShadow {
		return
	}
	s.st.PCIDLightSync.Inc()
	if err := s.ensureRoot(); err != nil {
		return // the next access reports it
	}
	s.resolveConflicts()
}

// invpcid applies an invpcid event to the shadow engine.
func (s *Shadow) invpcid(ev Event) error {
	typ, pcid, va, err := s.invpcidArgs(ev)
	if err != nil {
		return err
	}
	s.st.Invpcid[typ].Inc()
	cur := pcid == s.regs.PCID()
	switch typ {
	case 0:
		if cur {
			s.invalidatePage(va) // the shadow path checked; virtual handlers follow
			return nil
		}
		s.tlb.invalidatePCID(va, pcid)
		s.st.TLBInvlpg.Inc()
		s.resyncAllDirty()
	case 1:
		s.tlb.flushPCID(pcid)
		s.st.TLBFlushes.Inc()
		if cur {
			s.syncCR3(false)
		} else {
			s.resyncAllDirty()
		}
	case 2:
		s.tlb.flushAll()
		s.st.TLBFlushesAll.Inc()
		s.syncCR3(true)
	case 3:
		s.tlb.flush()
		s.st.TLBFlushes.Inc()
		s.syncCR3(false)
	}
	s.invpcidVirt(typ, pcid, va)
	return nil
}

// regsChanged follows a change of the registers the TLB check reads:
// the current PCID and the rights of SMEP, SMAP and keys.
func (s *Shadow) regsChanged() {
	s.tlb.setPCID(s.regs.PCID())
	s.updateDeny()
	s.walkRoot = s.regs.Root()
}
