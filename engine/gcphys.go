package engine

import (
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// GCPhys tracking: each guest page's descriptor records which shadow page
// tables map it, so that a change to the page (a handler, a new backing
// frame, monitoring) can find every shadow PTE to zap. One table fits in
// the descriptor itself; more go to a chain of extents of three. Unlike
// the original, whose extent loop never advanced, chains really grow, up
// to maxExtChain extents; past that the page is marked overflowed and a
// flush scans every page table.
const maxExtChain = 15

func (s *Shadow) trackAddref(gpa x86.GPA, pt uint16) {
	pg, _, ok := s.mem.Lookup(gpa)
	if !ok {
		return
	}
	t := pg.Tracking()
	refs, idx := phys.TrackRefs(t), phys.TrackIndex(t)
	switch {
	case t == 0:
		s.st.TrackVirgin.Inc()
		pg.SetTracking(phys.MakeTracking(1, pt))
	case refs == 1:
		s.st.TrackAliased.Inc()
		e := s.newExt()
		if e == nilIdx {
			s.st.PoolPhysExtFail.Inc()
			pg.SetTracking(phys.MakeTracking(phys.TrackRefsPhysExt, phys.TrackIdxOverflowed))
			return
		}
		s.pool.exts[e].idx = [3]uint16{idx, pt, nilIdx}
		pg.SetTracking(phys.MakeTracking(phys.TrackRefsPhysExt, e))
	case idx == phys.TrackIdxOverflowed:
		s.st.TrackAliasedLots.Inc()
	default:
		s.st.TrackAliasedMany.Inc()
		if !s.extInsert(idx, pt) {
			s.st.TrackOverflows.Inc()
			s.freeExtChain(idx)
			pg.SetTracking(phys.MakeTracking(phys.TrackRefsPhysExt, phys.TrackIdxOverflowed))
		}
	}
}

// extInsert puts pt in a free slot of the chain starting at head,
// appending an extent when all are full.
func (s *Shadow) extInsert(head, pt uint16) bool {
	exts := s.pool.exts
	n := 0
	for e := head; ; e = exts[e].next {
		for k := range exts[e].idx {
			if exts[e].idx[k] == nilIdx {
				exts[e].idx[k] = pt
				return true
			}
		}
		n++
		if exts[e].next == nilIdx {
			if n >= maxExtChain {
				return false
			}
			ne := s.newExt()
			if ne == nilIdx {
				s.st.PoolPhysExtFail.Inc()
				return false
			}
			exts[ne].idx = [3]uint16{pt, nilIdx, nilIdx}
			exts[e].next = ne
			return true
		}
	}
}

func (s *Shadow) trackDeref(gpa x86.GPA, pt uint16) {
	tp := s.st.TrackDeref.Begin()
	defer s.st.TrackDeref.End(tp)
	pg, _, ok := s.mem.Lookup(gpa)
	if !ok {
		return
	}
	t := pg.Tracking()
	refs, idx := phys.TrackRefs(t), phys.TrackIndex(t)
	switch {
	case t == 0:
	case refs == 1:
		if idx == pt {
			pg.SetTracking(0)
		}
	case idx == phys.TrackIdxOverflowed:
	default:
		head := s.extRemove(idx, pt)
		if head == nilIdx {
			pg.SetTracking(0)
		} else {
			pg.SetTracking(phys.MakeTracking(phys.TrackRefsPhysExt, head))
		}
	}
}

// extRemove takes one occurrence of pt out of the chain at head, freeing
// empty extents, and returns the new head.
func (s *Shadow) extRemove(head, pt uint16) uint16 {
	exts := s.pool.exts
	var prev uint16
	for e := head; e != nilIdx; prev, e = e, exts[e].next {
		for k := range exts[e].idx {
			if exts[e].idx[k] != pt {
				continue
			}
			exts[e].idx[k] = nilIdx
			if exts[e].idx == [3]uint16{} {
				next := exts[e].next
				s.freeExt(e)
				if prev == nilIdx {
					return next
				}
				exts[prev].next = next
			}
			return head
		}
	}
	return head
}

func (s *Shadow) newExt() uint16 {
	e := s.pool.freeExt
	if e != nilIdx {
		s.pool.freeExt = s.pool.exts[e].next
		s.pool.exts[e] = physExt{}
	}
	return e
}

func (s *Shadow) freeExt(e uint16) {
	s.pool.exts[e] = physExt{next: s.pool.freeExt}
	s.pool.freeExt = e
}

func (s *Shadow) freeExtChain(head uint16) {
	for e := head; e != nilIdx; {
		next := s.pool.exts[e].next
		s.freeExt(e)
		e = next
	}
}

// flushGCPhys zaps every shadow PTE that maps the guest page at gpa, as
// when a handler is raised on it, it becomes monitored, or its backing
// frame changes.
func (s *Shadow) flushGCPhys(gpa x86.GPA) {
	gpa = x86.PageDown(gpa)
	pg, _, ok := s.mem.Lookup(gpa)
	if !ok || pg.Tracking() == 0 {
		return
	}
	t := pg.Tracking()
	refs, idx := phys.TrackRefs(t), phys.TrackIndex(t)
	switch {
	case refs == 1:
		s.st.PoolFlushGCPhysPT.Inc()
		s.zapMappings(&s.pool.pages[idx], gpa)
	case idx == phys.TrackIdxOverflowed:
		s.st.PoolFlushGCPhysSlow.Inc()
		for i := 1; i < len(s.pool.pages); i++ {
			if p := &s.pool.pages[i]; p.inUse && p.kind.Level() == x86.LevelPT {
				s.zapMappings(p, gpa)
			}
		}
		pg.SetTracking(0)
	default:
		s.st.PoolFlushGCPhysPTs.Inc()
		// Collect first: zapping edits the chain.
		var pts []uint16
		for e := idx; e != nilIdx; e = s.pool.exts[e].next {
			for _, k := range s.pool.exts[e].idx {
				if k != nilIdx {
					pts = append(pts, k)
				}
			}
		}
		for _, k := range pts {
			s.zapMappings(&s.pool.pages[k], gpa)
		}
	}
	// The TLB drops the page's translations, not everyone's: a guest's
	// first write to each of its pages changes that page's backing.
	s.tlb.invalidateGPA(gpa)
}

// zapMappings clears the PTEs of page table pt that map guest page gpa.
func (s *Shadow) zapMappings(pt *poolPage, gpa x86.GPA) {
	for i := pt.firstPresent; i < len(pt.ents) && pt.present > 0; i++ {
		if pt.ents[i]&x86.Entry(x86.P) != 0 && pt.gpas[i] == gpa {
			s.setEntry(pt, i, 0)
		}
	}
}
