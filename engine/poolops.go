package engine

import (
	"fmt"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// poolAlloc returns the pool page for (key, kind) and records that entry
// table of pool page user points at it. cached says the page came from
// the cache: its contents mirror the guest already (the guest page is
// write-monitored) and must not be rebuilt.
func (s *Shadow) poolAlloc(key x86.GPA, kind PoolKind, user, table uint16) (*poolPage, bool, error) {
	p := &s.pool
	pt := s.st.PoolAlloc.Begin()
	defer s.st.PoolAlloc.End(pt)
	for idx := p.hash[hashOf(key)]; idx != nilIdx; {
		pg := &p.pages[idx]
		idx = pg.hashNext
		if pg.key != key {
			continue
		}
		if pg.kind == kind {
			if pg.dirty {
				// Its entries may be stale: the guest wrote the table unseen.
				s.resyncDirty(pg)
			}
			if !s.addUser(pg, user, table) {
				return nil, false, errPoolFull
			}
			p.touch(pg)
			s.st.CacheHits.Inc()
			if s.touch != nil {
				s.touch.page(pg.idx, true)
			}
			return pg, true, nil
		}
		s.st.CacheKindMismatches.Inc()
		if reusedByKind(pg.kind, kind) && pg.idx != user && pg.idx != s.root {
			s.flushPage(pg)
			idx = p.hash[hashOf(key)] // the chain changed
		}
	}
	s.st.CacheMisses.Inc()
	pg, err := s.takeFree(user)
	if err != nil {
		return nil, false, err
	}
	n := kind.Entries()
	if cap(pg.ents) < n {
		pg.ents = make([]x86.Entry, n)
		pg.gpas = make([]x86.GPA, n)
	}
	pg.ents, pg.gpas = pg.ents[:n], pg.gpas[:n]
	clear(pg.ents)
	pg.kind, pg.key, pg.inUse = kind, key, true
	pg.allocAt = s.next
	pg.present, pg.firstPresent, pg.mods = 0, n, 0
	pg.seenNonGlobal = false
	p.used++
	p.usedHigh = max(p.usedHigh, p.used)
	if !s.addUser(pg, user, table) {
		s.freePage(pg)
		return nil, false, errPoolFull
	}
	p.hashInsert(pg)
	s.st.CacheCacheable.Inc()
	p.agePush(pg)
	if kind.Monitored() {
		s.monitorInsert(pg)
	}
	if s.touch != nil {
		s.touch.page(pg.idx, false)
	}
	return pg, false, nil
}

// takeFree takes a free page, growing the pool or evicting the least
// recently used page (never the requester or the root) when needed.
func (s *Shadow) takeFree(requester uint16) (*poolPage, error) {
	p := &s.pool
	if p.freeHead == nilIdx && p.size() < p.max {
		p.grow()
	}
	for p.freeHead == nilIdx {
		if !s.evictOne(requester) {
			return nil, errPoolFull
		}
	}
	pg := &p.pages[p.freeHead]
	p.freeHead = pg.freeNext
	pg.freeNext = nilIdx
	return pg, nil
}

// evictOne flushes the least recently used page that may go.
func (s *Shadow) evictOne(requester uint16) bool {
	p := &s.pool
	for idx := p.ageTail; idx != nilIdx; idx = p.pages[idx].agePrev {
		if idx == requester || idx == s.root {
			continue
		}
		s.st.CacheFreeUpOne.Inc()
		s.flushPage(&p.pages[idx])
		p.pages[idx].freedBy = FreeEvicted
		s.outNotes |= NotePoolEvict
		return true
	}
	return false
}

// addUser records a user, evicting a page when the records run out.
func (s *Shadow) addUser(pg *poolPage, user, table uint16) bool {
	for !s.pool.addUser(pg, user, table) {
		s.st.PoolFreeUpOneUser.Inc()
		if !s.evictOne(pg.idx) {
			return false
		}
	}
	return true
}

// flushPage removes a page from the pool: every entry pointing at it is
// cleared, its children lose this user, its tracking references and its
// monitoring go, and it returns to the free list.
func (s *Shadow) flushPage(pg *poolPage) {
	if !pg.inUse {
		return
	}
	pt := s.st.PoolFlushPage.Begin()
	defer s.st.PoolFlushPage.End(pt)
	p := &s.pool
	for pg.userHead != nilIdx {
		r := pg.userHead
		u := p.users[r]
		if u.user != userCR3 {
			// Clearing the parent's entry drops this user record.
			s.setEntry(&p.pages[u.user], int(u.table), 0)
		} else {
			s.root = nilIdx
		}
		if pg.userHead == r {
			p.removeUser(pg, u.user, u.table)
		}
	}
	s.derefChildren(pg)
	s.freePage(pg)
	s.tlb.flushAll()
	s.st.TLBFlushesAll.Inc()
}

// freePage returns a page with no users and no present entries to the
// free list.
func (s *Shadow) freePage(pg *poolPage) {
	p := &s.pool
	if pg.dirty {
		s.undirty(pg)
	}
	p.hashRemove(pg)
	p.ageUnlink(pg)
	if pg.monitored {
		s.monitorRemove(pg)
	}
	if pg.mods > 0 {
		p.modified--
	}
	clear(pg.stale)
	*pg = poolPage{idx: pg.idx, kind: KindFree, hpa: pg.hpa, key: nilGPA, ents: pg.ents, gpas: pg.gpas,
		stale: pg.stale, copy: pg.copy, freeNext: p.freeHead,
		allocAt: pg.allocAt, freeAt: s.next, freedBy: FreeReleased}
	p.freeHead = pg.idx
	p.used--
	if s.touch != nil {
		s.touch.page(pg.idx, false)
	}
}

// derefChildren drops what a page's entries hold: tracking references
// for a page table, user records of the child tables for a directory.
func (s *Shadow) derefChildren(pg *poolPage) {
	for i := pg.firstPresent; i < len(pg.ents) && pg.present > 0; i++ {
		if pg.ents[i]&x86.Entry(x86.P) != 0 {
			s.setEntry(pg, i, 0)
		}
	}
}

// setEntry changes one shadow entry, keeping present counts, tracking
// references and child user records right. It is the only way shadow
// entries change. The caller flushes the TLB as needed.
func (s *Shadow) setEntry(pg *poolPage, i int, v x86.Entry) {
	old := pg.ents[i]
	const p = x86.Entry(x86.P)
	leaf := pg.kind.Level() == x86.LevelPT
	if old&p != 0 {
		if leaf {
			if v&p == 0 || s.frameOf(v) != s.frameOf(old) {
				s.trackDeref(pg.gpas[i], pg.idx)
			}
		} else if s.frameOf(v) != s.frameOf(old) || v&p == 0 {
			if child := s.pool.page(x86.HPA(s.frameOf(old))); child != nil {
				pt := s.st.PoolFree.Begin()
				s.pool.removeUser(child, pg.idx, uint16(i))
				s.st.PoolFree.End(pt)
			}
		}
		if v&p == 0 {
			pg.present--
			s.pool.present -= btoi(leaf)
		}
	} else if v&p != 0 {
		pg.present++
		s.pool.present += btoi(leaf)
		pg.firstPresent = min(pg.firstPresent, i)
	}
	if pg.present == 0 {
		pg.firstPresent = len(pg.ents)
	}
	if v&p == 0 {
		pg.clearStale(i)
	}
	pg.ents[i] = v
	if s.touch != nil {
		s.touch.entry(pg.idx, i)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// frameOf is the host address in a shadow entry.
func (s *Shadow) frameOf(e x86.Entry) uint64 { return uint64(e) & s.shw.Levels[0].FrameMask }

// releaseRoot drops the CR3 user of the current root (it stays cached).
func (s *Shadow) releaseRoot() {
	if s.root == nilIdx {
		return
	}
	s.pool.removeUser(&s.pool.pages[s.root], userCR3, 0)
	s.root = nilIdx
}

// ensureRoot makes the root for the current guest state exist.
func (s *Shadow) ensureRoot() error {
	if s.root != nilIdx {
		return nil
	}
	// Without a root nothing monitored the guest's page directory: it
	// may have grown into a mapping since the last check, and the
	// mapping moves before the new root takes it.
	s.resolveConflicts()
	kind, key := s.rootSpec()
	pg, _, err := s.poolAlloc(key, kind, userCR3, 0)
	if err != nil {
		return fmt.Errorf("engine: no pool page for the shadow root: %w", err)
	}
	s.root = pg.idx
	s.syncPDPTRegisters()
	s.installMappings()
	return nil
}

// flushAll empties the pool (pgmPoolFlushAll): used on mode changes and
// whenever the meaning of guest entries changes.
func (s *Shadow) flushAll() {
	pt := s.st.PoolFlushAll.Begin()
	defer s.st.PoolFlushAll.End(pt)
	p := &s.pool
	for i := 1; i < len(p.pages); i++ {
		pg := &p.pages[i]
		if pg.inUse && pg.kind.Level() == x86.LevelPT {
			s.derefChildren(pg)
		}
	}
	for i := 1; i < len(p.pages); i++ {
		pg := &p.pages[i]
		if !pg.inUse {
			continue
		}
		for r := pg.userHead; r != nilIdx; r = pg.userHead {
			u := p.users[r]
			pg.userHead = u.next
			p.users[r] = userRec{next: p.freeUser}
			p.freeUser = r
		}
		clear(pg.ents)
		pg.present, pg.firstPresent = 0, len(pg.ents)
		s.freePage(pg)
		pg.freedBy = FreeFlushed
	}
	p.present = 0
	s.root = nilIdx
	if s.touch != nil {
		s.touch.full = true
	}
	s.tlb.flushAll()
	s.st.TLBFlushesAll.Inc()
	s.outNotes |= NotePoolFlush
}
