package engine

import (
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// Dirty page tables (the later engine's PGMPOOL_WITH_OPTIMIZED_DIRTY_PT,
// Config.DirtyPT): a guest page table the guest keeps writing to (an OS
// filling a new process's tables, a fork) stops being monitored for a
// while. Its writes then cost nothing; the shadow PTEs it feeds may go
// stale, which a well-behaved guest cannot see: it invalidates what it
// changes (invlpg resyncs that entry) or reloads CR3, and at every CR3
// load the dirty tables are compared with the copy taken when they went
// dirty and the changed entries dropped before monitoring resumes.
//
// Dirtiness belongs to the guest table, found by its physical address,
// not to one shadow path through it: a table shared by several address
// spaces may be written in one and invalidated in another whose shadow
// does not link it yet. So besides CR3 loads, two other doors resync a
// dirty table before its shadow entries can be trusted again: a pool
// cache hit (the cached shadow table is about to be linked unchanged)
// and invlpg of an address the guest maps through that table.

const (
	dirtyPTAfter = 4  // monitored guest writes before a page table goes dirty
	maxDirtyPTs  = 16 // at most this many at once, as in the later engine
)

// maybeDirty turns page table pg dirty if it qualifies: the option is on,
// the write comes from the guest, pg alone monitors its guest page, and
// the guest keeps writing to it.
func (s *Shadow) maybeDirty(pg *poolPage, rz bool) {
	if !s.cfg.DirtyPT || !rz || pg.dirty || pg.kind.Level() != x86.LevelPT || pg.mods < dirtyPTAfter ||
		pg.monNext != nilIdx || pg.monPrev != nilIdx {
		return
	}
	if len(s.dirtyPTs) >= maxDirtyPTs {
		s.resyncDirty(&s.pool.pages[s.dirtyPTs[0]])
	}
	page := x86.PageDown(pg.key)
	if pg.copy == nil {
		pg.copy = new([x86.PageSize]byte)
	}
	copy(pg.copy[:], s.mem.PageBytes(page))
	pg.dirty = true
	s.st.DirtyPTMarked.Inc()
	s.dirtyPTs = append(s.dirtyPTs, pg.idx)
	s.setPageState(page) // no longer write-monitored: its writes go straight through
}

// resyncDirty compares a dirty page table with its copy, drops the shadow
// entries of the guest entries that changed, and monitors it again.
func (s *Shadow) resyncDirty(pg *poolPage) {
	s.st.DirtyPTResync.Inc()
	s.undirty(pg)
	cur := s.mem.PageBytes(x86.PageDown(pg.key))
	esize := int(pg.kind.info().guest / 8)
	var zap tlbZap // not needed: the whole TLB goes below
	for off := 0; off < int(x86.PageSize); off += esize {
		changed := false
		for i := 0; i < esize; i++ {
			changed = changed || cur == nil || cur[off+i] != pg.copy[off+i]
		}
		if changed {
			s.chainChanging(pg, off, esize, &zap)
		}
	}
	s.setPageState(x86.PageDown(pg.key))
	s.tlb.flushAll()
}

// resyncDirtyAt resyncs the dirty page table shadowing guest page page,
// if there is one; it reports whether there was.
func (s *Shadow) resyncDirtyAt(page x86.GPA) bool {
	if len(s.dirtyPTs) == 0 {
		return false
	}
	// A dirty table is alone on its guest page (maybeDirty), so it is the
	// monitor's head.
	head, ok := s.monitors[x86.PageDown(page)]
	if !ok || !s.pool.pages[head].dirty {
		return false
	}
	s.resyncDirty(&s.pool.pages[head])
	return true
}

// undirty takes pg off the dirty list.
func (s *Shadow) undirty(pg *poolPage) {
	pg.dirty = false
	for i, idx := range s.dirtyPTs {
		if idx == pg.idx {
			s.dirtyPTs = append(s.dirtyPTs[:i], s.dirtyPTs[i+1:]...)
			break
		}
	}
}

// resyncAllDirty is the CR3-load part (pgmPoolResetDirtyPages).
func (s *Shadow) resyncAllDirty() {
	for len(s.dirtyPTs) > 0 {
		s.resyncDirty(&s.pool.pages[s.dirtyPTs[0]])
	}
}
