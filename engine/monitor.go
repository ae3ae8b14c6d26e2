package engine

import (
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// Write monitoring: every guest page holding a table the pool mirrors
// carries a physical write handler, so that every write to it (emulated
// guest instructions, DMA, loaders) first clears the shadow entries the
// write changes. Pages shadowing the same guest page form a chain whose
// head is the monitor's owner.

// Monitoring thresholds: after this many writes since the last CR3 sync
// a page is assumed to be reused for something else and is flushed.
const (
	maxModsRZ = 48 // writes from guest instructions
	maxModsR3 = 96 // writes from loaders and DMA
)

func (s *Shadow) monitorInsert(pg *poolPage) {
	page := x86.PageDown(pg.key)
	pg.monitored = true
	if head, ok := s.monitors[page]; ok {
		h := &s.pool.pages[head]
		if h.dirty {
			// A second table on this guest page: back to monitoring first.
			s.resyncDirty(h)
		}
		pg.monNext, pg.monPrev = h.monNext, head
		if h.monNext != nilIdx {
			s.pool.pages[h.monNext].monPrev = pg.idx
		}
		h.monNext = pg.idx
		return
	}
	pg.monNext, pg.monPrev = nilIdx, nilIdx
	s.monitors[page] = pg.idx
	s.setPageState(page)
}

func (s *Shadow) monitorRemove(pg *poolPage) {
	page := x86.PageDown(pg.key)
	if pg.monPrev != nilIdx {
		s.pool.pages[pg.monPrev].monNext = pg.monNext
	} else if pg.monNext != nilIdx {
		s.monitors[page] = pg.monNext
	} else {
		delete(s.monitors, page)
		s.setPageState(page)
	}
	if pg.monNext != nilIdx {
		s.pool.pages[pg.monNext].monPrev = pg.monPrev
	}
	pg.monNext, pg.monPrev, pg.monitored = nilIdx, nilIdx, false
}

// monitorState is the monitor's part of a page's physical handler state
// (the guest combines it with the registered handlers'). When the state
// changes, mappings derived under the old one are wrong either way, too
// permissive when it rises, needlessly strict when it falls: the guest
// calls flushGCPhys for it.
func (s *Shadow) monitorState(page x86.GPA) phys.HandlerState {
	if head, ok := s.monitors[page]; ok && !s.pool.pages[head].dirty {
		return phys.HandlerWrite
	}
	return phys.HandlerNone
}

// monitorWrite is called before a write to a monitored guest page: it
// clears the shadow entries the write touches in every page of the chain,
// or flushes the chain when the page no longer looks like a page table.
func (s *Shadow) monitorWrite(gpa x86.GPA, src []byte) {
	page := x86.PageDown(gpa)
	rz := s.guestWrite
	prof := s.st.MonitorR3
	if rz {
		prof = s.st.MonitorRZ
	}
	pt := prof.Begin()
	defer prof.End(pt)
	off := int(x86.PageOffset(gpa))
	var zap tlbZap
	// Collect the chain first: flushing edits it.
	var chain []uint16
	for idx := s.monitors[page]; idx != nilIdx; idx = s.pool.pages[idx].monNext {
		chain = append(chain, idx)
	}
	for _, idx := range chain {
		pg := &s.pool.pages[idx]
		if !pg.inUse {
			continue
		}
		if s.reusedAsData(pg, off, src, rz) {
			if rz {
				s.st.MonRZFlushPage.Inc()
			} else {
				s.st.MonR3FlushPage.Inc()
			}
			if pg.idx != s.root {
				s.flushPage(pg)
				continue
			}
		}
		if rz {
			s.st.MonRZHandled.Inc()
		} else {
			s.st.MonR3Handled.Inc()
		}
		if pg.mods == 0 {
			s.pool.modified++
		}
		pg.mods++
		s.chainChanging(pg, off, len(src), &zap)
		s.maybeDirty(pg, rz)
	}
	// Only the translations through the entries cleared go (flushPage
	// above flushed everything itself): a guest writing its page tables
	// keeps the rest of its TLB, every PCID's, as on hardware.
	zap.apply(s)
}

// reusedAsData applies the heuristics that tell a page-table update from
// a page being reused: too many writes since the last CR3 sync; a write
// not shaped like an entry (misaligned or of another size); and a fork,
// where an OS write-protects every entry of a table one by one (it will
// rewrite the whole table, so flushing is cheaper than following).
func (s *Shadow) reusedAsData(pg *poolPage, off int, src []byte, rz bool) bool {
	limit := maxModsR3
	if rz {
		limit = maxModsRZ
	}
	if pg.mods >= limit {
		return true
	}
	esize := int(pg.kind.info().guest / 8)
	if esize == 0 {
		return false
	}
	if rz && (len(src) != esize || off%esize != 0) && !(esize == 8 && len(src) == 4 && off%4 == 0) {
		return true
	}
	if len(src) == esize && off%esize == 0 {
		var oldv, newv uint64
		old := s.mem.PageBytes(x86.PageDown(pg.key))
		for i := esize - 1; i >= 0; i-- {
			newv = newv<<8 | uint64(src[i])
			if old != nil {
				oldv = oldv<<8 | uint64(old[off+i])
			}
		}
		rw := uint64(x86.RW)
		if oldv&uint64(x86.P) != 0 && oldv&rw != 0 && newv == oldv&^rw {
			return true
		}
	}
	return false
}

// chainChanging clears the shadow entries of pg derived from the guest
// bytes [off, off+n) of its guest page, and notes in zap what the TLB
// must drop for them.
func (s *Shadow) chainChanging(pg *poolPage, off, n int, zap *tlbZap) {
	pg.mirrors(off, n, func(si int) {
		switch {
		case pg.ents[si]&x86.Entry(x86.P) == 0:
		case pg.ents[si]&shwMapping != 0:
			// The guest writes a PDE where a mapping is: once the write
			// lands, the mapping must move.
			s.st.CR3WriteConflict.Inc()
			s.conflictPending = true
		case s.lazyDir(pg):
			pg.markStale(si)
		default:
			zap.entry(pg, si)
			s.setEntry(pg, si, 0)
		}
	})
}

// tlbZap collects the translations a monitored write takes away: those
// of the guest pages whose shadow PTEs it cleared, which the TLB drops by
// guest page, or everything (a directory entry went, and with it a
// subtree of translations the TLB cannot find, or too many pages).
type tlbZap struct {
	gpas [8]x86.GPA
	n    int
	all  bool
}

func (z *tlbZap) entry(pg *poolPage, si int) {
	if pg.kind.Level() != x86.LevelPT || z.n == len(z.gpas) {
		z.all = true
		return
	}
	z.gpas[z.n] = pg.gpas[si]
	z.n++
}

// apply drops what z collected from the TLB.
func (z *tlbZap) apply(s *Shadow) {
	if z.all {
		s.tlb.flushAll()
		s.st.TLBFlushesAll.Inc()
		return
	}
	for _, gpa := range z.gpas[:z.n] {
		s.tlb.invalidateGPA(gpa)
	}
}

// mirrors calls fn with the index of every shadow entry of pg derived
// from the guest bytes [off, off+n) of its guest page.
func (pg *poolPage) mirrors(off, n int, fn func(si int)) {
	info := pg.kind.info()
	esize := int(info.guest / 8)
	if esize == 0 || n <= 0 {
		return
	}
	slice := int(x86.PageOffset(pg.key))
	span := len(pg.ents) / info.ratio * esize
	first, last := off/esize, (off+n-1)/esize
	for gi := first; gi <= last; gi++ {
		b := gi * esize
		if b < slice || b >= slice+span {
			continue
		}
		for r := 0; r < info.ratio; r++ {
			fn((b-slice)/esize*info.ratio + r)
		}
	}
}

// handlerDispatch is the engine's phys.AccessHandler.
type handlerDispatch struct{ s *Shadow }

func (h handlerDispatch) PhysRead(gpa x86.GPA, dst []byte) bool { return h.s.handlerRead(gpa, dst) }

// PhysWrite lets the pool see the old entries first, then the handlers.
func (h handlerDispatch) PhysWrite(gpa x86.GPA, src []byte) bool {
	if _, ok := h.s.monitors[x86.PageDown(gpa)]; ok {
		h.s.monitorWrite(gpa, src)
	}
	return h.s.handlerWrite(gpa, src)
}

// backingChanged follows phys: a page whose host frame changed must not
// stay mapped to the old frame anywhere.
func (s *Shadow) backingChanged(gpa x86.GPA, old, new phys.Page) {
	if old.Frame() != new.Frame() || old.State() != new.State() {
		s.flushGCPhys(gpa)
	}
}

// lazyDir reports whether guest writes to the table pg mirrors leave its
// shadow entries in place until the guest flushes: page directories of
// 32-bit and PAE shadows, as in the original (long-mode shadows zap).
func (s *Shadow) lazyDir(pg *poolPage) bool {
	f := s.family()
	return pg.kind.Level() == x86.LevelPD && (f == fam32 || f == famPAE)
}

func (pg *poolPage) markStale(i int) {
	if pg.stale == nil {
		// Sized for the largest table: the page may later hold another kind.
		pg.stale = make([]uint64, 1024/64)
	}
	pg.stale[i/64] |= 1 << (i % 64)
}

func (pg *poolPage) clearStale(i int) {
	if pg.stale != nil {
		pg.stale[i/64] &^= 1 << (i % 64)
	}
}

func (pg *poolPage) isStale(i int) bool {
	return pg.stale != nil && pg.stale[i/64]&(1<<(i%64)) != 0
}
