package engine

import (
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// Nested paging: the processor walks the guest's own tables, and every
// guest-physical address it touches (each table entry, then the final
// page) goes through the nested tables, which map guest-physical to host
// pages and are built lazily in the pool. A missing or read-only nested
// entry is a nested page fault (#NPF) that the engine resolves: it syncs
// the nested entry (allocating zero or shared pages on write) or, for
// MMIO, handlers, ROM writes and unbacked memory, emulates the access.
// Guest faults go straight to the guest; the walk sets accessed and
// dirty bits itself. The nested tables use the long-mode entry layout
// (for EPT too: the layouts carry the same facts here).

// nestedMem is the guest-table reader of a 2D walk: every entry read is
// translated through the nested tables first, which is where the memory
// references of the walk are counted and nested faults raised.
type nestedMem struct {
	s    *Shadow
	refs int
	npf  bool
	err  error
}

func (m *nestedMem) ReadEntry(addr x86.GPA, size int) uint64 {
	m.translate(addr, false)
	m.refs++
	return m.s.mem.ReadEntry(addr, size)
}

func (m *nestedMem) SetEntryBits(addr x86.GPA, size int, bits uint64) {
	m.s.mem.SetEntryBits(addr, size, bits)
}

// translate resolves gpa through the nested tables, syncing on a miss.
func (m *nestedMem) translate(gpa x86.GPA, write bool) nestedResult {
	s := m.s
	for try := 0; try < maxTraps; try++ {
		r := s.nestedWalk(gpa)
		m.refs += r.levels
		if r.ok && (!write || r.writable) {
			return r
		}
		if !s.nestedMappable(gpa, write) {
			r.ok, r.emulate = false, true
			return r
		}
		m.npf = true
		s.st.NestedFaults.Inc()
		if _, err := s.syncPath(x86.GVA(gpa), nil, write); err != nil {
			m.err = err
			return nestedResult{emulate: true}
		}
	}
	m.err = errLivelock
	return nestedResult{emulate: true}
}

// nestedMappable reports whether gpa can be mapped by a nested entry for
// the access (else the access is emulated).
func (s *Shadow) nestedMappable(gpa x86.GPA, write bool) bool {
	p, _, ok := s.mem.Lookup(gpa)
	switch {
	case !ok || p.Type() == phys.TypeMMIO || p.Handler() == phys.HandlerAll:
		return false
	case write && (p.Handler() == phys.HandlerWrite || !p.Type().Writable()):
		return false
	}
	return true
}

type nestedResult struct {
	ok, writable, emulate bool
	hpa                   x86.HPA
	levels                int
}

// nestedWalk walks the nested tables for gpa, as the host MMU walks
// the shadow tables: the nested tables are the pool's tables under
// nested paging, and hold no hypervisor mappings.
func (s *Shadow) nestedWalk(gpa x86.GPA) nestedResult {
	var r shadowResult
	s.hostWalkTo(x86.GVA(gpa), &r)
	return nestedResult{ok: r.ok, writable: r.rights&x86.RightWrite != 0, hpa: r.hpa, levels: r.levels}
}

// translateNested is translate under nested paging.
// The TLB was already tried by translate.
func (s *Shadow) translateNested(va x86.GVA, acc x86.Access) (xlate, error) {
	s.st.TLBMisses.Inc()
	if err := s.ensureRoot(); err != nil {
		return xlate{}, err
	}
	s.st.NestedWalks.Inc()
	m := &s.nm // reused: as an x86.Memory it would escape to the heap on every walk
	*m = nestedMem{s: s}
	gw := &s.gw
	s.format.Walk(m, s.regs.Root(), va, acc, gw)
	if m.err != nil {
		return xlate{}, m.err
	}
	if !gw.OK() {
		s.st.NestedMemRefs.Add(uint64(m.refs))
		s.outRefs += uint16(m.refs)
		return xlate{fault: gw.Fault}, nil
	}
	gw.SetAccessedDirty(s.mem, acc.Kind == x86.Write)
	r := m.translate(gw.GPA, acc.Kind == x86.Write)
	s.st.NestedMemRefs.Add(uint64(m.refs))
	s.outRefs += uint16(m.refs)
	if m.err != nil {
		return xlate{}, m.err
	}
	path := PathNestedWalk
	if m.npf {
		path = PathNestedFault
	}
	if r.emulate || !r.ok {
		return xlate{gpa: gw.GPA, emulate: true, path: PathHandler}, nil
	}
	rights := x86.RightUser | x86.RightExec
	if r.writable {
		rights |= x86.RightWrite
	}
	data := s.mem.Host().Bytes(r.hpa)
	leaf := gw.Leaf()
	// Like a hardware TLB, an entry filled while the guest's leaf is clean
	// does not let a write through: the write walks again and sets D.
	dirty := leaf == nil || leaf.Entry.Dirty()
	global := leaf != nil && leaf.Entry.Global() && s.regs.CR4&x86.CR4PGE != 0
	s.tlb.fillNested(va, gw.GPA, r.hpa, rights, gw.Rights, pkOf(gw.Rights, gw.Key), dirty, global, data)
	return xlate{gpa: gw.GPA, data: data, hpa: r.hpa, path: path}, nil
}
