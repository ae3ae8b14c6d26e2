package rguest

import (
	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// Shared page tables: a page table of user mappings linked into several
// address spaces (shared memory), each space linking it at most once
// (an OS that maps one table at two addresses of one space must
// invalidate both, which the generator's leaf edits do not do), possibly
// at different addresses. The burst below drives the pattern that broke
// dirty page tables: the table shadowed from one space, written several
// times from another whose shadow does not link it, an entry cleared and
// invalidated, the table linked and used there, and a switch back.

// sharedTable is a page table shared between address spaces.
type sharedTable struct {
	table   x86.GPA
	first   int     // entries live in [first, first+sharedSpan)
	aliases []alias // where spaces link it
}

type alias struct {
	space int
	va    x86.GVA // the start of the range the table maps
}

// sharedSpan keeps a table's entries within one half of a 32-bit page
// table, which PAE shadows mirror with two pool pages (a guest page with
// two shadows is never left unmonitored).
const sharedSpan = 256

// newShared creates a shared table linked into every space, with a few
// mappings. It runs while the tables are built, before paging is on.
func (g *Gen) newShared() {
	f := g.f
	n := int(f.Levels[f.N-2].Covers() / x86.PageSize)
	sh := sharedTable{table: g.newTable(), first: sharedSpan * g.r.IntN(max(1, n/sharedSpan))}
	var at x86.GVA
	for s := range g.spaces {
		va, ok := g.freeSlot(s, at)
		if !ok {
			continue
		}
		at = va
		g.link(s, va, sh.table)
		sh.aliases = append(sh.aliases, alias{s, va})
	}
	if len(sh.aliases) == 0 {
		return
	}
	g.shared = append(g.shared, sh)
	for i := 0; i < 6; i++ {
		g.sharedMap(&g.shared[len(g.shared)-1], g.r.IntN(2) == 0)
	}
}

// freeSlot finds a user address in space s, aligned to what a page table
// maps, whose directory entry is empty and whose upper levels exist (and
// are loaded, for PDPTE registers, when s is the current space). It tries
// prefer first when it is not zero.
func (g *Gen) freeSlot(s int, prefer x86.GVA) (x86.GVA, bool) {
	f := g.f
	span := f.Levels[f.N-2].Covers()
	for try := 0; try < 8; try++ {
		va := prefer
		if try > 0 || va == 0 {
			va = g.randomVA() &^ x86.GVA(span-1)
		}
		if va < 4<<20 || g.kernelVA(va) {
			continue
		}
		if addr, ok := g.dirEntry(s, va); ok && g.mem[addr] == 0 {
			return va, true
		}
	}
	return 0, false
}

// dirEntry is the address of the directory entry above va's page table in
// space s, when every level above it is a present table.
func (g *Gen) dirEntry(s int, va x86.GVA) (x86.GPA, bool) {
	f := g.f
	table := x86.GPA(g.spaces[s].root & f.RootMask)
	for l := 0; l < f.N-1; l++ {
		lv := &f.Levels[l]
		addr := table + x86.GPA(lv.Index(va)*uint64(lv.EntrySize))
		if l == f.N-2 {
			return addr, true
		}
		e := g.mem[addr]
		if lv.Register && g.regs.CR0&x86.CR0PG != 0 && s == g.cur {
			e = g.regs.PDPTE[lv.Index(va)] // what the processor uses
		}
		if e&uint64(x86.P) == 0 || (lv.BigPages && e&uint64(x86.PS) != 0) || lv.Reserved(x86.Entry(e)) != 0 {
			return 0, false
		}
		table = g.tableOf(lv, e)
	}
	return 0, false
}

// link points space s's directory entry for va at table t (user and
// writable, so both privilege levels use it).
func (g *Gen) link(s int, va x86.GVA, t x86.GPA) {
	addr, _ := g.dirEntry(s, va)
	lv := &g.f.Levels[g.f.N-2]
	g.writeEntryBy(addr, lv.EntrySize, uint64(t)|uint64(x86.P|x86.RW|x86.US), false)
}

// live lists the aliases whose directory entry still points at the table
// (a big page may have replaced one).
func (g *Gen) live(sh *sharedTable) []alias {
	var out []alias
	lv := &g.f.Levels[g.f.N-2]
	for _, a := range sh.aliases {
		addr, ok := g.dirEntry(a.space, a.va)
		if e := g.mem[addr]; ok && e&uint64(x86.P) != 0 && !(lv.BigPages && e&uint64(x86.PS) != 0) && lv.Table(x86.Entry(e)) == sh.table {
			out = append(out, a)
		}
	}
	return out
}

// entryVA is the address alias a maps entry i of its table at.
func entryVA(a alias, i int) x86.GVA { return a.va + x86.GVA(i)*x86.GVA(x86.PageSize) }

// sharedMap fills an empty entry of sh with a 4 KiB mapping (a guest
// write when guest is set and paging is on) and records it for every
// alias. It returns the entry index, or -1 when none was free.
func (g *Gen) sharedMap(sh *sharedTable, guest bool) int {
	lv := &g.f.Levels[g.f.N-1]
	for try := 0; try < 8; try++ {
		i := sh.first + g.r.IntN(sharedSpan)
		addr := sh.table + x86.GPA(i*int(lv.EntrySize))
		if g.mem[addr] != 0 {
			continue
		}
		v := uint64(g.frame(12)) | g.flags(false) | uint64(x86.P)
		g.writeEntryBy(addr, lv.EntrySize, v, guest && g.regs.CR0&x86.CR0PG != 0)
		for _, a := range sh.aliases {
			g.maps = append(g.maps, mapping{va: entryVA(a, i), shift: 12, space: a.space})
		}
		return i
	}
	return -1
}

// present lists the present entries of sh.
func (g *Gen) present(sh *sharedTable) []int {
	lv := &g.f.Levels[g.f.N-1]
	var out []int
	for i := sh.first; i < sh.first+sharedSpan; i++ {
		if g.mem[sh.table+x86.GPA(i*int(lv.EntrySize))]&uint64(x86.P) != 0 {
			out = append(out, i)
		}
	}
	return out
}

func (g *Gen) switchTo(s int) {
	g.cur = s
	g.cr(engine.EvCR3, g.spaces[s].root)
}

func (g *Gen) read(va x86.GVA) {
	size := uint8(1 << g.r.IntN(4))
	g.emit(engine.Event{Kind: engine.EvRead, Size: size, Addr: uint64(va)})
}

// sharedBurst plays the dirty-table pattern on a random shared table.
func (g *Gen) sharedBurst() {
	if len(g.shared) == 0 {
		return
	}
	sh := &g.shared[g.r.IntN(len(g.shared))]
	live := g.live(sh)
	if len(live) == 0 {
		return
	}
	a := live[g.r.IntN(len(live))]
	g.switchTo(a.space)
	if p := g.present(sh); len(p) > 0 {
		g.read(entryVA(a, p[g.r.IntN(len(p))])) // the table gets a shadow
	}
	b := g.r.IntN(len(g.spaces))
	g.switchTo(b)
	// b's shadow must not link the table while it is written: unlink it
	// (a directory change, so a full flush follows).
	var bva x86.GVA
	for _, l := range live {
		if l.space == b {
			bva = l.va
			addr, _ := g.dirEntry(b, l.va)
			g.writeEntry(addr, g.f.Levels[g.f.N-2].EntrySize, 0)
			g.afterChange(l.va, false, true)
		}
	}
	for n := 4 + g.r.IntN(4); n > 0; n-- {
		g.sharedMap(sh, true)
	}
	p := g.present(sh)
	if len(p) == 0 {
		return
	}
	victim := p[g.r.IntN(len(p))]
	lv := &g.f.Levels[g.f.N-1]
	g.writeEntryBy(sh.table+x86.GPA(victim*int(lv.EntrySize)), lv.EntrySize, 0, true)
	relinkFirst := g.r.IntN(2) == 0
	if bva == 0 {
		bva = a.va
	}
	relink := func() bool {
		if addr, ok := g.dirEntry(b, bva); !ok || g.mem[addr] != 0 {
			var free bool
			if bva, free = g.freeSlot(b, 0); !free {
				return false
			}
		}
		g.link(b, bva, sh.table)
		sh.aliases = append(dropSpace(sh.aliases, b), alias{b, bva})
		for _, i := range g.present(sh) {
			g.maps = append(g.maps, mapping{va: entryVA(alias{b, bva}, i), shift: 12, space: b})
		}
		return true
	}
	linked := relinkFirst && relink()
	g.emit(engine.Event{Kind: engine.EvInvlpg, Addr: uint64(entryVA(alias{b, bva}, victim))})
	if !relinkFirst {
		linked = relink()
	}
	if linked {
		if p := g.present(sh); len(p) > 0 {
			g.read(entryVA(alias{b, bva}, p[g.r.IntN(len(p))]))
		}
		g.read(entryVA(alias{b, bva}, victim))
	}
	if a.space != b {
		g.switchTo(a.space)
		g.read(entryVA(a, victim))
	}
}

// invalidateShared follows a change to a present entry at addr: when it
// is in a shared table that the current space links, the address the
// current space maps it at is invalidated too (the caller invalidates
// the address it changed the entry for, which may be another alias's).
func (g *Gen) invalidateShared(addr x86.GPA) {
	if g.regs.CR0&x86.CR0PG == 0 {
		return
	}
	esize := x86.GPA(g.f.Levels[g.f.N-1].EntrySize)
	for i := range g.shared {
		sh := &g.shared[i]
		if x86.PageDown(addr) != sh.table {
			continue
		}
		for _, a := range g.live(sh) {
			if a.space == g.cur {
				g.emit(engine.Event{Kind: engine.EvInvlpg, Addr: uint64(entryVA(a, int((addr-sh.table)/esize)))})
			}
		}
	}
}

func dropSpace(list []alias, s int) []alias {
	out := list[:0]
	for _, a := range list {
		if a.space != s {
			out = append(out, a)
		}
	}
	return out
}
