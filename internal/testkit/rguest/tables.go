package rguest

import (
	"slices"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

func sortedKeys(m map[x86.GPA]uint8) []x86.GPA {
	keys := make([]x86.GPA, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// writeEntry stores a table entry, with a physical write or (when paging
// is on and the table area is mapped) a guest write through the identity
// mapping, which the engine must notice like any other write.
func (g *Gen) writeEntry(addr x86.GPA, size uint8, v uint64) {
	g.writeEntryBy(addr, size, v, g.regs.CR0&x86.CR0PG != 0 && g.r.IntN(2) == 0)
}

// writeEntryBy is writeEntry with the kind of write chosen by the caller:
// guest writes (only with paging on) are what the pool's monitoring and
// dirty page tables count.
func (g *Gen) writeEntryBy(addr x86.GPA, size uint8, v uint64, guest bool) {
	if guest {
		if g.cpl != 0 {
			g.setCPL(0)
		}
		g.emit(engine.Event{Kind: engine.EvWrite, Size: size, Addr: uint64(addr), Value: v})
	} else {
		g.emit(engine.Event{Kind: engine.EvPhysWrite, Size: size, Addr: uint64(addr), Value: v})
	}
	old := g.mem[addr]
	g.mem[addr] = v
	if old&uint64(x86.P) != 0 {
		g.invalidateShared(addr)
		g.modernStale()
	}
	page := x86.PageDown(addr)
	if g.written[page] == nil {
		g.written[page] = map[x86.GPA]uint8{}
	}
	g.written[page][addr] = size
}

func (g *Gen) setCPL(c uint8) {
	g.cpl = c
	g.emit(engine.Event{Kind: engine.EvCPL, Value: uint64(c)})
}

// tableOf is the table an entry points at in the generator's view.
func (g *Gen) tableOf(lv *x86.Level, e uint64) x86.GPA { return lv.Table(x86.Entry(e)) }

// mapPage installs a leaf for va at level leaf (an index into g.f.Levels)
// mapping physical base, creating intermediate tables as needed. It
// returns whether an existing present entry changed (the caller must
// then flush), and whether a directory entry changed.
func (g *Gen) mapPage(space int, va x86.GVA, leaf int, base x86.GPA, flags uint64) (changedLeaf, changedDir bool) {
	f := g.f
	table := x86.GPA(g.spaces[space].root & f.RootMask)
	global := flags&uint64(x86.G) != 0
	for l := 0; l < leaf; l++ {
		lv := &f.Levels[l]
		addr := table + x86.GPA(lv.Index(va)*uint64(lv.EntrySize))
		e := g.mem[addr]
		present := e&uint64(x86.P) != 0 && !(lv.BigPages && e&uint64(x86.PS) != 0) && lv.Reserved(x86.Entry(e)) == 0
		if !present {
			t := g.newTable()
			ne := uint64(t) | uint64(x86.P)
			if !lv.Register {
				ne |= uint64(x86.RW | x86.US)
				if g.r.IntN(4) == 0 {
					ne |= uint64(x86.A)
				}
			}
			if e&uint64(x86.P) != 0 {
				changedDir = true
			}
			g.writeEntry(addr, lv.EntrySize, ne)
			e = ne
		}
		if global && !lv.Register && e&uint64(x86.A) == 0 {
			// The path to a global page is accessed from the start, as an
			// OS's kernel tables are: each space has its own copy of it, and
			// a global translation filled in one space serves the others
			// without the walk that would set A in their copies.
			e |= uint64(x86.A)
			g.writeEntry(addr, lv.EntrySize, e)
		}
		table = g.tableOf(lv, e)
	}
	lv := &f.Levels[leaf]
	addr := table + x86.GPA(lv.Index(va)*uint64(lv.EntrySize))
	v := uint64(base) | flags | uint64(x86.P)
	if leaf < f.N-1 {
		v |= uint64(x86.PS)
	}
	old := g.mem[addr]
	if old&uint64(x86.P) != 0 {
		if leaf < f.N-1 || (lv.BigPages && old&uint64(x86.PS) != 0) {
			changedDir = true
		} else {
			changedLeaf = true
		}
	}
	g.writeEntry(addr, lv.EntrySize, v)
	return changedLeaf, changedDir
}

// linked is a page table shared between address spaces.
type linked struct {
	va    x86.GVA
	table x86.GPA
}

// identity maps the table area 1:1 for supervisor access in the current
// space (4 KiB pages), reusing the given leaf tables when there are any.
func (g *Gen) identity(shared []linked) []linked {
	f := g.f
	leaf := f.N - 1
	if len(shared) > 0 {
		// Point this space's directory entries at the shared page tables.
		for _, l := range shared {
			g.linkTable(g.cur, l.va, l.table)
		}
		return shared
	}
	var tables []linked
	for va := x86.GVA(tableLo); va < tableHi; va += x86.GVA(x86.PageSize) {
		flags := uint64(x86.RW | x86.A)
		g.mapPage(g.cur, va, leaf, x86.GPA(va), flags)
		if t := g.leafTable(g.cur, va); len(tables) == 0 || tables[len(tables)-1].table != t {
			tables = append(tables, linked{va, t})
		}
	}
	return tables
}

// linkTable makes the directory entry above the PT level for va point at
// page table t.
func (g *Gen) linkTable(space int, va x86.GVA, t x86.GPA) {
	f := g.f
	table := x86.GPA(g.spaces[space].root & f.RootMask)
	for l := 0; l < f.N-1; l++ {
		lv := &f.Levels[l]
		addr := table + x86.GPA(lv.Index(va)*uint64(lv.EntrySize))
		if l == f.N-2 {
			ne := uint64(t) | uint64(x86.P|x86.RW|x86.A)
			g.writeEntry(addr, lv.EntrySize, ne)
			return
		}
		e := g.mem[addr]
		if e&uint64(x86.P) == 0 {
			nt := g.newTable()
			e = uint64(nt) | uint64(x86.P)
			if !lv.Register {
				e |= uint64(x86.RW | x86.US)
			}
			g.writeEntry(addr, lv.EntrySize, e)
		}
		table = g.tableOf(lv, e)
	}
}

// leafTable is the page table that maps va in space.
func (g *Gen) leafTable(space int, va x86.GVA) x86.GPA {
	f := g.f
	table := x86.GPA(g.spaces[space].root & f.RootMask)
	for l := 0; l < f.N-1; l++ {
		lv := &f.Levels[l]
		table = g.tableOf(lv, g.mem[table+x86.GPA(lv.Index(va)*uint64(lv.EntrySize))])
	}
	return table
}
