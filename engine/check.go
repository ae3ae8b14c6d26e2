package engine

import (
	"errors"
	"fmt"

	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// Check verifies the engine's whole state against the invariants of the
// original's strict builds (PGM-INVENTORY §13): pool lists, hash, user
// records and tracking; every present shadow entry against the guest
// tables (never more rights, the right frame, dirty and accessed
// emulation, handlers); the TLB against the shadow tables; and guest
// memory's own bookkeeping. It returns the first violations found.
func (s *Shadow) Check() error {
	if s.touch != nil {
		s.touch.reset() // everything is checked
	}
	c := checker{s: s}
	c.bookkeeping()
	if s.root != nilIdx {
		c.walkShadow()
	}
	c.tlb()
	return errors.Join(c.errs...)
}

// bookkeeping checks the pool, the handlers and guest memory (what the
// info command checkintegrity reports), but not the shadow entries.
func (c *checker) bookkeeping() {
	c.pool()
	c.users()
	c.tracking()
	c.monitors()
	c.handlers()
	c.virtHandlers()
	c.intermediate()
	if err := c.s.mem.Check(); err != nil {
		c.errf("guest memory: %v", err)
	}
}

type checker struct {
	s    *Shadow
	errs []error
	gw   x86.Walk // guestView's scratch
	// places memoizes where tables hang below the root (incremental check).
	places map[uint16]place
}

// errf records a violation, once however many paths lead to it (the
// incremental check may meet one entry several times).
func (c *checker) errf(format string, a ...any) {
	if len(c.errs) >= 10 {
		return
	}
	err := fmt.Errorf(format, a...)
	for _, e := range c.errs {
		if e.Error() == err.Error() {
			return
		}
	}
	c.errs = append(c.errs, err)
}

// presentBooks checks a table's count of present entries and its first
// present one against its entries, and returns the count.
func (c *checker) presentBooks(pg *poolPage) int {
	n, first := 0, len(pg.ents)
	for j, e := range pg.ents {
		if e.Present() {
			n++
			first = min(first, j)
		}
	}
	if n != pg.present || pg.firstPresent > first {
		c.errf("pool page %d (%v): %d present (recorded %d), first %d (recorded %d)", pg.idx, pg.kind, n, pg.present, first, pg.firstPresent)
	}
	return n
}

func (c *checker) pool() {
	p := &c.s.pool
	onFree := make([]bool, len(p.pages))
	for idx, n := p.freeHead, 0; idx != nilIdx; idx, n = p.pages[idx].freeNext, n+1 {
		if n > len(p.pages) || onFree[idx] {
			c.errf("pool: free list loops at %d", idx)
			return
		}
		onFree[idx] = true
	}
	used, present := 0, 0
	for i := 1; i < len(p.pages); i++ {
		pg := &p.pages[i]
		switch {
		case pg.idx != uint16(i):
			c.errf("pool page %d: idx %d", i, pg.idx)
		case pg.inUse == onFree[i]:
			c.errf("pool page %d: in use %v, on free list %v", i, pg.inUse, onFree[i])
		case !pg.inUse && (pg.kind != KindFree || pg.key != nilGPA || pg.userHead != nilIdx):
			c.errf("pool page %d: free but kind %v key %v users %d", i, pg.kind, pg.key, pg.userHead)
		case pg.inUse && !pg.cached:
			c.errf("pool page %d (%v): in use but not cached", i, pg.kind)
		}
		if !pg.inUse {
			continue
		}
		used++
		n := c.presentBooks(pg)
		if pg.kind.Level() == x86.LevelPT {
			present += n
		}
		found := false
		for idx := p.hash[hashOf(pg.key)]; idx != nilIdx; idx = p.pages[idx].hashNext {
			if idx == pg.idx {
				found = true
			}
		}
		if !found {
			c.errf("pool page %d (%v %v): not in its hash chain", i, pg.kind, pg.key)
		}
	}
	if used != p.used || present != p.present {
		c.errf("pool: %d pages used (recorded %d), %d PTEs present (recorded %d)", used, p.used, present, p.present)
	}
	seen := 0
	prev := nilIdx
	for idx := p.ageHead; idx != nilIdx; prev, idx = idx, p.pages[idx].ageNext {
		if seen++; seen > used || !p.pages[idx].inUse || p.pages[idx].agePrev != prev {
			c.errf("pool: age list broken at %d", idx)
			return
		}
	}
	if seen != used || p.ageTail != prev {
		c.errf("pool: age list holds %d of %d used pages", seen, used)
	}
	if c.s.root != nilIdx && !p.pages[c.s.root].inUse {
		c.errf("pool: root %d is not in use", c.s.root)
	}
}

func (c *checker) users() {
	s := c.s
	p := &s.pool
	owner := make([]int, len(p.users))
	for r := p.freeUser; r != nilIdx; r = p.users[r].next {
		if owner[r] != 0 {
			c.errf("user records: free list loops at %d", r)
			return
		}
		owner[r] = -1
	}
	for i := 1; i < len(p.pages); i++ {
		pg := &p.pages[i]
		for r := pg.userHead; r != nilIdx; r = p.users[r].next {
			if owner[r] != 0 {
				c.errf("user record %d of page %d also belongs to %d", r, i, owner[r])
				return
			}
			owner[r] = i
			u := p.users[r]
			if u.user == userCR3 {
				if s.root != pg.idx {
					c.errf("page %d (%v) has a CR3 user but the root is %d", i, pg.kind, s.root)
				}
				continue
			}
			parent := &p.pages[u.user]
			if !parent.inUse || int(u.table) >= len(parent.ents) || parent.ents[u.table]&x86.Entry(x86.P) == 0 ||
				s.frameOf(parent.ents[u.table]) != uint64(pg.hpa) {
				c.errf("page %d (%v): user record (%d, %d) but that entry does not point here", i, pg.kind, u.user, u.table)
			}
		}
	}
	for r := 1; r < len(p.users); r++ {
		if owner[r] == 0 {
			c.errf("user record %d is lost (neither free nor used)", r)
			return
		}
	}
	// Conversely, every present directory entry has its record.
	for i := 1; i < len(p.pages); i++ {
		pg := &p.pages[i]
		if !pg.inUse || pg.kind.Level() == x86.LevelPT {
			continue
		}
		for j, e := range pg.ents {
			if e&x86.Entry(x86.P) == 0 || e&shwMapping != 0 {
				continue
			}
			child := p.page(x86.HPA(s.frameOf(e)))
			if child == nil || !child.inUse {
				c.errf("page %d (%v) entry %d points at no pool page in use", i, pg.kind, j)
				continue
			}
			if !c.hasUser(child, pg.idx, uint16(j)) {
				c.errf("page %d (%v) entry %d points at page %d, which has no user record for it", i, pg.kind, j, child.idx)
			}
		}
	}
}

func (c *checker) hasUser(pg *poolPage, user, table uint16) bool {
	p := &c.s.pool
	for r := pg.userHead; r != nilIdx; r = p.users[r].next {
		if p.users[r].user == user && p.users[r].table == table {
			return true
		}
	}
	return false
}

func (c *checker) monitors() {
	s := c.s
	p := &s.pool
	inChain := map[uint16]bool{}
	for page, head := range s.monitors {
		prev := nilIdx
		for idx := head; idx != nilIdx; prev, idx = idx, p.pages[idx].monNext {
			pg := &p.pages[idx]
			if !pg.inUse || !pg.monitored || x86.PageDown(pg.key) != page || pg.monPrev != prev || inChain[idx] {
				c.errf("monitor chain of %v broken at page %d", page, idx)
				break
			}
			inChain[idx] = true
		}
		if pp, _, ok := s.mem.Lookup(page); ok && pp.PhysHandler() < phys.HandlerWrite && !p.pages[head].dirty {
			c.errf("monitored page %v has handler state %v", page, pp.PhysHandler())
		}
	}
	for i := 1; i < len(p.pages); i++ {
		pg := &p.pages[i]
		if pg.inUse && pg.kind.Monitored() != inChain[pg.idx] {
			c.errf("page %d (%v %v): monitored kind %v but in a chain %v", i, pg.kind, pg.key, pg.kind.Monitored(), inChain[pg.idx])
		}
	}
}

// handlers checks the physical handler list (the original's integrity
// check, in both directions): ordered, non-overlapping, each inside one
// guest physical range, and every page's state the maximum over its
// handlers and the monitor.
func (c *checker) handlers() {
	s := c.s
	list := s.handlers.list
	for i, h := range list {
		if h.Range.Empty() {
			c.errf("handler %q has an empty range", h.Name)
		}
		if i > 0 && list[i-1].Range.End > h.Range.Start {
			c.errf("handlers %q and %q overlap or are out of order", list[i-1].Name, h.Name)
		}
		if i+1 < len(list) && list[i+1].Range.Start < h.Range.End {
			c.errf("handlers %q and %q overlap or are out of order (right to left)", list[i+1].Name, h.Name)
		}
		if _, r, ok := s.mem.Lookup(h.Range.Start); !ok || !r.Range().ContainsRange(h.Range) {
			c.errf("handler %q %v is not inside one guest range", h.Name, h.Range)
		}
		for page := x86.PageDown(h.Range.Start); page < h.Range.End; page += x86.GPA(x86.PageSize) {
			p, _, _ := s.mem.Lookup(page)
			if p == nil {
				continue
			}
			want := max(s.handlers.pageState(page), s.monitorState(page), s.virtDepState(page))
			if p.PhysHandler() != want {
				c.errf("page %v has handler state %v, its handlers say %v", page, p.PhysHandler(), want)
			}
		}
	}
}

// virtHandlers checks the virtual handlers: ordered and non-overlapping,
// every resolved page in the phys-to-virt cache exactly once per
// resolution, and every page's virtual state the maximum over them.
func (c *checker) virtHandlers() {
	s := c.s
	vs := &s.virt
	n := 0
	for i, h := range vs.list {
		if i > 0 && vs.list[i-1].Range.End > h.Range.Start {
			c.errf("virtual handlers %q and %q overlap or are out of order", vs.list[i-1].Name, h.Name)
		}
		for k, gpa := range h.phys {
			if gpa == nilGPA {
				continue
			}
			n++
			found := 0
			for _, r := range vs.byPhys[gpa] {
				if r.h == h && r.i == k {
					found++
				}
			}
			if found != 1 {
				c.errf("virtual handler %q page %d resolves to %v but the cache lists it %d times", h.Name, k, gpa, found)
			}
		}
	}
	m := 0
	for gpa, refs := range vs.byPhys {
		m += len(refs)
		if p, _, ok := s.mem.Lookup(gpa); ok && p.VirtHandler() != s.virtPageState(gpa) {
			c.errf("page %v has virtual state %v, its handlers say %v", gpa, p.VirtHandler(), s.virtPageState(gpa))
		}
	}
	if n != m {
		c.errf("the phys-to-virt cache holds %d entries for %d resolved pages", m, n)
	}
}

// intermediate checks the intermediate context: tables below 4 GiB, the
// long-mode levels repeating the first 4 GiB, and the switcher mapped at
// both of its addresses to the same page in every format.
func (c *checker) intermediate() {
	s := c.s
	in := &s.inter
	if in.pml4 == nil {
		return
	}
	for i, e := range in.pml4.ents {
		if x86.HPA(e&^0xfff) != in.pdpt64.hpa {
			c.errf("intermediate PML4 entry %d does not point at the PDPT", i)
		}
	}
	for i, e := range in.pdpt64.ents {
		if x86.HPA(e&^0xfff) != in.paePDs[i%4].hpa {
			c.errf("intermediate long-mode PDPT entry %d does not point at PD %d", i, i%4)
		}
	}
	for _, t := range []*hostTable{in.pd32, in.pdpt, in.pdpt64, in.pml4, in.paePDs[0], in.paePDs[1], in.paePDs[2], in.paePDs[3]} {
		if uint64(t.hpa) >= 1<<32 {
			c.errf("intermediate table at %v is above 4 GiB", t.hpa)
		}
	}
	for _, m := range []x86.Mode{x86.Mode32Bit, x86.ModePAE, x86.ModeAMD64} {
		id, ok1 := s.IntermediateWalk(m, x86.GVA(in.switcher))
		hv, ok2 := s.IntermediateWalk(m, in.hyperVA)
		if !ok1 || !ok2 || id != in.switcher || hv != in.switcher {
			c.errf("intermediate %v: the switcher is not mapped at both of its addresses", m)
		}
	}
	for _, mp := range s.maps.list {
		if mp.Base%mapUnit != 0 || uint64(mp.Range().End) > 1<<32 {
			c.errf("mapping %q at %#x is not 4 MiB aligned below 4 GiB", mp.Name, uint64(mp.Base))
		}
	}
	for i := 1; i < len(s.maps.list); i++ {
		if s.maps.list[i-1].Range().Overlaps(s.maps.list[i].Range()) || s.maps.list[i-1].Base > s.maps.list[i].Base {
			c.errf("mappings %q and %q overlap or are out of order", s.maps.list[i-1].Name, s.maps.list[i].Name)
		}
	}
}
