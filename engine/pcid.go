package engine

// invpcid applies an invpcid event to the shadow engine.
func (s *Shadow) invpcid(ev Event) error {
	typ, pcid, va, err := s.invpcidArgs(ev)
	if err != nil {
		return err
	}
	if typ == 0 && pcid == s.regs.PCID() {
		s.invalidatePage(va) // virtual handlers follow there too
		return nil
	}
	s.invpcidVirt(typ, pcid, va)
	s.resyncAllDirty()
	s.tlb.flushAll()
	s.st.TLBFlushesAll.Inc()
	return nil
}
