package engine

import (
	"fmt"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// The inspection API: read-only views of the engine for the UI, the info
// commands and tests. Nothing here changes state or statistics: guest
// tables are peeked (phys.Memory.Peeker: no page-TLB lookup counted, no
// access handler or device called, no accessed or dirty bit set), and
// every visitor stops when its callback returns false.

// EntryView is one present entry of a page-table hierarchy.
type EntryView struct {
	Depth  int           // 0 for the top-level table
	Level  x86.LevelKind // PML4, PDPT, PD, PT...
	Index  int           // index in its table
	VA     x86.GVA       // first address covered (guest-physical for nested tables)
	Covers uint64        // bytes of address space the entry covers
	Entry  x86.Entry
	Table  uint64 // address of the table holding it: GPA (guest) or HPA (shadow)
	Leaf   bool   // maps a page rather than a table

	// Shadow tables only.
	Kind       PoolKind // kind of the pool page holding the entry
	Stale      bool     // the guest entry changed; resynced at the next flush
	TrackDirty bool     // read-only until the first write sets the guest's dirty bit
	GPA        x86.GPA  // leaf: the guest page it maps
}

// VisitGuest calls fn for present entries of the guest's own hierarchy,
// from CR3, depth first, in address order. Tables are read from guest
// memory, so a guest with looping or garbage tables is shown as the
// processor would walk it; at most budget entries are visited (the
// tables of a hostile guest can name billions of paths).
func (g *guest) VisitGuest(budget int, fn func(EntryView) bool) {
	g.VisitGuestAt(g.regs.CR3, budget, fn)
}

// VisitGuestAt is VisitGuest for the tables under any CR3 value, read in
// the current paging mode: trace analysis walks every address space it
// has seen, not only the one loaded. PAE PDPTEs come from the registers
// for the loaded CR3, and from memory (as a CR3 load would read them)
// for any other.
func (g *guest) VisitGuestAt(cr3 uint64, budget int, fn func(EntryView) bool) {
	f := g.format
	if f.N == 0 {
		return
	}
	current := cr3 == g.regs.CR3
	left := budget
	visitTree(g.guestTree(x86.GPA(cr3&f.RootMask), current), func(t *x86.GPA, depth, i int, base uint64) (*x86.GPA, bool) {
		lv := &f.Levels[depth]
		e := g.guestEntry(*t, depth, i, current)
		if !e.Present() {
			return nil, true
		}
		if left--; left < 0 {
			return nil, false
		}
		leaf := depth == f.N-1 || lv.Big(e)
		if !fn(EntryView{Depth: depth, Level: lv.Kind, Index: i, VA: x86.GVA(canonical(f, base|uint64(i)<<lv.Shift)),
			Covers: lv.Covers(), Entry: e, Table: uint64(*t), Leaf: leaf}) {
			return nil, false
		}
		if leaf || lv.Reserved(e) != 0 {
			return nil, true
		}
		next := lv.Table(e)
		return &next, true
	})
}

// guestTree is the guest's tables under the root table at root, read
// without side effects (Peek); current says the root is the loaded CR3's,
// whose PAE PDPTEs come from the registers.
func (g *guest) guestTree(root x86.GPA, current bool) tree[x86.GPA] {
	f := g.format
	return tree[x86.GPA]{f: f, root: &root,
		size:  func(_ *x86.GPA, level int) int { return f.Levels[level].Entries() },
		entry: func(t *x86.GPA, level, i int) x86.Entry { return g.guestEntry(*t, level, i, current) },
		child: func(e x86.Entry, level int) *x86.GPA { t := f.Levels[level].Table(e); return &t }}
}

// guestEntry reads entry i of the guest table at table, a table of the
// given level (see guestTree).
func (g *guest) guestEntry(table x86.GPA, level, i int, current bool) x86.Entry {
	lv := &g.format.Levels[level]
	if lv.Register && current {
		return x86.Entry(g.regs.PDPTE[i])
	}
	return x86.Entry(g.mem.Peek(table+x86.GPA(i*int(lv.EntrySize)), int(lv.EntrySize)))
}

func canonical(f *x86.Format, va uint64) uint64 {
	if f.Mode.Long() && va&(1<<(f.VABits-1)) != 0 {
		va |= ^uint64(0) << f.VABits
	}
	return va
}

// VisitShadow calls fn for present entries of the shadow hierarchy (the
// nested tables under nested paging), depth first, in address order.
func (s *Shadow) VisitShadow(fn func(EntryView) bool) {
	s.visitPool(func(pg *poolPage, depth, i int, base uint64) (*poolPage, bool) {
		raw := pg.ents[i]
		if !x86.Entry(raw).Present() {
			return nil, true
		}
		v := s.shadowEntryView(pg, depth, base, i)
		if !fn(v) {
			return nil, false
		}
		if v.Leaf {
			return nil, true
		}
		return s.pool.page(x86.HPA(s.frameOf(raw))), true
	})
}

// VisitShadowTable calls fn for the present entries of one shadow (or
// nested) table, the pool page at hpa, as VisitShadow would at depth
// with base the first address the table covers; it does not descend. A
// viewer that shows a few tables of a full pool reads those alone
// instead of half a million entries. It reports whether hpa is a pool
// page.
func (s *Shadow) VisitShadowTable(hpa x86.HPA, depth int, base uint64, fn func(EntryView) bool) bool {
	pg := s.pool.page(hpa)
	if pg == nil || depth < 0 || depth >= s.shw.N {
		return false
	}
	for i, raw := range pg.ents {
		if x86.Entry(raw).Present() && !fn(s.shadowEntryView(pg, depth, base, i)) {
			break
		}
	}
	return true
}

// shadowEntryView describes entry i of pool page pg at depth.
func (s *Shadow) shadowEntryView(pg *poolPage, depth int, base uint64, i int) EntryView {
	raw := pg.ents[i]
	lv := &s.shw.Levels[depth]
	va := base | uint64(i)<<lv.Shift
	leaf := depth == s.shw.N-1
	v := EntryView{Depth: depth, Level: lv.Kind, Index: i, VA: x86.GVA(s.canonicalVA(va)), Covers: lv.Covers(),
		Entry: x86.Entry(raw), Table: uint64(pg.hpa), Leaf: leaf, Kind: pg.kind, Stale: pg.isStale(i)}
	if leaf {
		v.GPA = pg.gpas[i]
		v.TrackDirty = raw&shwTrackDirtyPTE != 0
	} else {
		v.TrackDirty = raw&shwTrackDirtyPDE != 0
	}
	return v
}

// PoolPageView is one pool page as the UI shows it.
type PoolPageView struct {
	Index     uint16
	Kind      PoolKind // KindFree for free pages
	HPA       x86.HPA
	Key       x86.GPA // the guest table, big-page piece or physical range it mirrors
	Users     int     // entries pointing at it (the CR3 counts as one)
	Present   int     // present entries
	Age       int     // position in the age list: 0 is the most recently used; -1 when free
	Root      bool
	Monitored bool // its guest page is write-monitored
	Mods      int  // monitored writes since the last CR3 sync

	// AllocatedAt and FreedAt are 1 + the index of the event that last
	// allocated and last freed the page, 0 if none did: compared with
	// Events, they tell which pages changed lately. FreedBy is why the
	// page was last freed. All three are kept while the page is reused.
	AllocatedAt, FreedAt uint64
	FreedBy              FreeCause
}

// FreeCause is why a pool page was freed.
type FreeCause uint8

const (
	FreeNone     FreeCause = iota // never freed
	FreeReleased                  // its table was no longer wanted (guest table reused as data, kind changed, ...)
	FreeEvicted                   // taken back, least recently used, for another table when the pool was full
	FreeFlushed                   // the whole pool was flushed (mode change, reset, mapping change, ...)
)

var freeCauseNames = [...]string{"never freed", "released", "evicted", "flushed"}

func (c FreeCause) String() string {
	if int(c) < len(freeCauseNames) {
		return freeCauseNames[c]
	}
	return fmt.Sprintf("FreeCause(%d)", uint8(c))
}

// VisitPool calls fn for every page the pool holds, in index order.
func (s *Shadow) VisitPool(fn func(PoolPageView) bool) {
	p := &s.pool
	age := make(map[uint16]int, p.used)
	n := 0
	for idx := p.ageHead; idx != nilIdx; idx = p.pages[idx].ageNext {
		age[idx] = n
		n++
	}
	for i := 1; i < len(p.pages); i++ {
		pg := &p.pages[i]
		v := PoolPageView{Index: pg.idx, Kind: pg.kind, HPA: pg.hpa, Age: -1,
			AllocatedAt: pg.allocAt, FreedAt: pg.freeAt, FreedBy: pg.freedBy}
		if pg.inUse {
			v.Key, v.Users, v.Present, v.Age = pg.key, p.userCount(pg), pg.present, age[pg.idx]
			v.Root, v.Monitored, v.Mods = pg.idx == s.root, pg.monitored, pg.mods
		}
		if !fn(v) {
			return
		}
	}
}

// PoolSummary are the pool's totals.
type PoolSummary struct {
	Max, Size, Used, UsedHigh int
	Present                   int // present entries in page tables
	ByKind                    [kindMax]int
}

// Pool summarises the pool.
func (s *Shadow) Pool() PoolSummary {
	p := &s.pool
	sum := PoolSummary{Max: p.max, Size: p.size(), Used: p.used, UsedHigh: p.usedHigh, Present: p.present}
	for i := 1; i < len(p.pages); i++ {
		sum.ByKind[p.pages[i].kind]++
	}
	return sum
}

// TLBView is one valid software TLB entry.
type TLBView struct {
	VA     x86.GVA
	GPA    x86.GPA
	HPA    x86.HPA
	Rights x86.Rights
	Global bool
	PCID   uint16 // the PCID current when it was filled (a global entry serves every PCID)
	Key    int8   // the protection key of a user page (IA-32e), -1 for a supervisor page
}

// VisitTLB calls fn for every valid TLB entry.
func (s *Shadow) VisitTLB(fn func(TLBView) bool) {
	for i := range s.tlb.e {
		e := &s.tlb.e[i]
		va := x86.GVA((e.vpn - 1) << x86.PageShift)
		if e.vpn == 0 || s.tlb.lookup(va) != e {
			continue
		}
		key := int8(e.pk)
		if e.pk == pkSupervisor {
			key = -1
		}
		if !fn(TLBView{VA: va, GPA: e.gpa, HPA: e.hpa, Rights: e.rights, Global: e.global, PCID: e.pcid, Key: key}) {
			return
		}
	}
}

// GuestWalk translates va through the guest tables as acc would, peeking
// at them (see above): the walk inspector's guest column. MMIO reads as
// all ones here, where a guest's walk would ask the device.
func (g *guest) GuestWalk(va x86.GVA, acc x86.Access) x86.Walk {
	var w x86.Walk
	g.format.Walk(g.mem.Peeker(), g.regs.Root(), va, acc, &w)
	return w
}

// ShadowStep is one level of a walk of the shadow tables.
type ShadowStep struct {
	Level x86.LevelKind
	Index int
	Entry x86.Entry
	Kind  PoolKind // the table holding the entry
	Table x86.HPA
	Stale bool
}

// ShadowWalk lists the shadow (or nested) levels for va until a
// not-present entry: the walk inspector's shadow column.
func (s *Shadow) ShadowWalk(va x86.GVA) []ShadowStep {
	var steps []ShadowStep
	p, ok := s.descend(va)
	for ok {
		steps = append(steps, ShadowStep{Level: s.shw.Levels[p.Level].Kind, Index: int(p.Index), Entry: p.Entry,
			Kind: p.Page.kind, Table: p.Page.hpa, Stale: p.Page.isStale(int(p.Index))})
		ok = p.down()
	}
	return steps
}

// ShadowFormat is the paging format of the shadow (or nested) tables.
func (s *Shadow) ShadowFormat() *x86.Format { return s.shw }

// PoolTurnover reads two cheap figures that together change whenever
// pool pages are allocated or freed: the pages taken fresh (cache
// misses) since the engine started, and the pages in use. Trace analysis
// compares readings before and after an event and walks the pool
// (VisitPool) only when they differ, which is rare, instead of after
// every event.
func (s *Shadow) PoolTurnover() (fresh uint64, used int) {
	return s.st.CacheMisses.Value(), s.pool.used
}
