package engine

import (
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// The pieces of the incremental check (check_touched.go): one table's
// bookkeeping, one entry wherever the current root reaches it, one
// address's shadow path, and the entries mirroring guest bytes.

// place is where a table hangs below the current root: its shadow level
// and, once per path, the address its first entry maps.
type place struct {
	level int // -1: no path from the current root reaches the table
	bases []uint64
}

// maxPaths bounds the paths followed to one table: a kernel page table
// shared by every process has one path per process, of which only those
// of the current root count, and a handful of them is proof enough.
const maxPaths = 64

func (c *checker) placeOf(pg *poolPage) place {
	if pl, ok := c.places[pg.idx]; ok {
		return pl
	}
	pl := c.findPlace(pg, 0)
	if c.places == nil {
		c.places = map[uint16]place{}
	}
	c.places[pg.idx] = pl
	return pl
}

func (c *checker) findPlace(pg *poolPage, depth int) place {
	s := c.s
	if pg.idx == s.root {
		return place{0, []uint64{0}}
	}
	pl := place{level: -1}
	if depth >= s.shw.N {
		return pl
	}
	p := &s.pool
	for r := pg.userHead; r != nilIdx; r = p.users[r].next {
		u := p.users[r]
		if u.user == userCR3 {
			continue
		}
		parent := &p.pages[u.user]
		if parent.isStale(int(u.table)) {
			continue // the full walk does not go below a stale entry either
		}
		up := c.findPlace(parent, depth+1)
		if up.level < 0 || up.level+1 >= s.shw.N {
			continue
		}
		pl.level = up.level + 1
		for _, b := range up.bases {
			if len(pl.bases) < maxPaths {
				pl.bases = append(pl.bases, b|uint64(u.table)<<s.shw.Levels[up.level].Shift)
			}
		}
	}
	return pl
}

// entryEverywhere checks entry i of pg on every path from the current
// root, and for a leaf the TLB entry of its address.
func (c *checker) entryEverywhere(pg *poolPage, i int) {
	s := c.s
	pl := c.placeOf(pg)
	for _, base := range pl.bases {
		c.entry(pg, pl.level, i, base)
		if pl.level == s.shw.N-1 {
			c.tlbAt(x86.GVA(s.canonicalVA(base | uint64(i)<<s.shw.Levels[pl.level].Shift)))
		}
	}
}

// allEntries checks every present entry of pg.
func (c *checker) allEntries(pg *poolPage) {
	for i := pg.firstPresent; i < len(pg.ents) && pg.inUse; i++ {
		if pg.ents[i]&x86.Entry(x86.P) != 0 {
			c.entryEverywhere(pg, i)
		}
	}
}

// path checks the shadow entries that translate va, from the root down,
// and the TLB entry of va.
func (c *checker) path(va x86.GVA) {
	s := c.s
	if s.paging != PagingShadow || !s.format.Mode.Paging() {
		return
	}
	base := uint64(0)
	for p, ok := s.descend(va); ok; {
		child := c.entry(p.Page, p.Level, int(p.Index), base)
		if child == nil || p.leaf() {
			break
		}
		base |= p.Index << s.shw.Levels[p.Level].Shift
		p.into(child)
	}
	c.tlbAt(va)
}

// mirrorsOf checks the shadow entries derived from the guest bytes of w
// in every table that mirrors their page and is monitored now.
func (c *checker) mirrorsOf(w x86.GPARange) {
	s := c.s
	p := &s.pool
	for page := x86.PageDown(w.Start); page < w.End; page += x86.GPA(x86.PageSize) {
		off := int(max(w.Start, page) - page)
		n := int(min(w.End, page+x86.GPA(x86.PageSize)) - page - x86.GPA(off))
		for idx := p.hash[hashOf(page)]; idx != nilIdx; idx = p.pages[idx].hashNext {
			pg := &p.pages[idx]
			if !pg.inUse || pg.dirty || x86.PageDown(pg.key) != page || pg.kind.info().src != srcTable {
				continue
			}
			pg.mirrors(off, n, func(si int) {
				if pg.ents[si]&x86.Entry(x86.P) != 0 {
					c.entryEverywhere(pg, si)
				}
			})
		}
		if page+x86.GPA(x86.PageSize) < page {
			break
		}
	}
}

// pageBooks checks one table's part of the pool's bookkeeping: what
// pool, users, tracking and monitors check for all of them.
func (c *checker) pageBooks(pg *poolPage) {
	s := c.s
	p := &s.pool
	if !pg.inUse {
		if pg.kind != KindFree || pg.key != nilGPA || pg.userHead != nilIdx || pg.cached || pg.monitored {
			c.errf("pool page %d: free but kind %v key %v users %d", pg.idx, pg.kind, pg.key, pg.userHead)
		}
		return
	}
	c.presentBooks(pg)
	found := false
	for idx := p.hash[hashOf(pg.key)]; idx != nilIdx && !found; idx = p.pages[idx].hashNext {
		found = idx == pg.idx
	}
	if !found || !pg.cached {
		c.errf("pool page %d (%v %v): not in its hash chain", pg.idx, pg.kind, pg.key)
	}
	if pg.kind.Monitored() {
		found = false
		for idx := s.monitors[x86.PageDown(pg.key)]; idx != nilIdx && !found; idx = p.pages[idx].monNext {
			found = idx == pg.idx
		}
		if !found || !pg.monitored {
			c.errf("page %d (%v %v): monitored kind but not in its monitor chain", pg.idx, pg.kind, pg.key)
		}
	}
	for r := pg.userHead; r != nilIdx; r = p.users[r].next {
		u := p.users[r]
		if u.user == userCR3 {
			if s.root != pg.idx {
				c.errf("page %d (%v) has a CR3 user but the root is %d", pg.idx, pg.kind, s.root)
			}
			continue
		}
		parent := &p.pages[u.user]
		if !parent.inUse || int(u.table) >= len(parent.ents) || parent.ents[u.table]&x86.Entry(x86.P) == 0 ||
			s.frameOf(parent.ents[u.table]) != uint64(pg.hpa) {
			c.errf("page %d (%v): user record (%d, %d) but that entry does not point here", pg.idx, pg.kind, u.user, u.table)
		}
	}
	leaf := pg.kind.Level() == x86.LevelPT
	for j := pg.firstPresent; j < len(pg.ents); j++ {
		e := pg.ents[j]
		switch {
		case e&x86.Entry(x86.P) == 0 || (!leaf && e&shwMapping != 0):
		case leaf:
			c.tracks(pg.gpas[j], pg)
		default:
			child := p.page(x86.HPA(s.frameOf(e)))
			if child == nil || !child.inUse {
				c.errf("page %d (%v) entry %d points at no pool page in use", pg.idx, pg.kind, j)
			} else if !c.hasUser(child, pg.idx, uint16(j)) {
				c.errf("page %d (%v) entry %d points at page %d, which has no user record for it", pg.idx, pg.kind, j, child.idx)
			}
		}
	}
}

// tracks checks that guest page gpa's tracking names page table pg (the
// full check also checks that it names nothing else).
func (c *checker) tracks(gpa x86.GPA, pg *poolPage) {
	page, _, ok := c.s.mem.Lookup(gpa)
	if !ok {
		c.errf("page %d (%v) maps %v, which is in no guest range", pg.idx, pg.kind, gpa)
		return
	}
	t := page.Tracking()
	rc, idx := phys.TrackRefs(t), phys.TrackIndex(t)
	switch {
	case t == 0:
		c.errf("tracking of %v is empty but page table %d maps it", gpa, pg.idx)
	case rc == 1 && idx != pg.idx:
		c.errf("tracking of %v names page table %d alone, but page table %d maps it", gpa, idx, pg.idx)
	case rc == phys.TrackRefsPhysExt && idx != phys.TrackIdxOverflowed:
		for _, k := range c.extents(idx) {
			if k == pg.idx {
				return
			}
		}
		c.errf("tracking extents of %v do not name page table %d, which maps it", gpa, pg.idx)
	}
}
