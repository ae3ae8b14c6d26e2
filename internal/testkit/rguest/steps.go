package rguest

import (
	"slices"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// step emits one random guest action in the current paging mode.
func (g *Gen) step() {
	if g.more && g.r.IntN(12) == 0 {
		// The fuzzer's guests: hypervisor events are what they are for.
		g.hypervisor()
		return
	}
	if g.mod.on && g.r.IntN(3) == 0 {
		g.modernStep()
		return
	}
	switch r := g.r.IntN(100); {
	case r < 55 && len(g.maps) > 0:
		g.accessMapped(g.maps[g.r.IntN(len(g.maps))])
	case r < 62:
		g.access(g.randomVA())
	case r < 70:
		g.mapRandom()
	case r < 75 && len(g.maps) > 0:
		g.remap(g.maps[g.r.IntN(len(g.maps))])
	case r < 79 && len(g.maps) > 0:
		g.unmap(g.maps[g.r.IntN(len(g.maps))])
	case r < 83 && len(g.maps) > 0:
		g.clearAD(g.maps[g.r.IntN(len(g.maps))])
	case r < 88:
		g.cur = g.r.IntN(len(g.spaces))
		g.cr(engine.EvCR3, g.spaces[g.cur].root)
	case r < 91:
		g.setCPL(uint8(3 * g.r.IntN(2)))
	case r < 93:
		g.cr(engine.EvCR0, g.regs.CR0^x86.CR0WP)
	case r < 94:
		g.cr(engine.EvCR4, g.regs.CR4^x86.CR4PGE)
	case r < 95:
		g.emit(engine.Event{Kind: engine.EvInvlpg, Addr: uint64(g.randomVA())})
	case r < 96:
		g.hypervisor()
	case r < 97:
		g.sharedBurst()
	case r < 98:
		g.bigHalves()
	default:
		size := uint8(1 << g.r.IntN(4))
		gpa := uint64(dataLo) + g.r.Uint64N(RAMSize-dataLo-8)
		if g.r.IntN(2) == 0 {
			g.emit(engine.Event{Kind: engine.EvPhysWrite, Size: size, Addr: gpa, Value: g.value(size)})
		} else {
			g.emit(engine.Event{Kind: engine.EvPhysRead, Size: size, Addr: gpa})
		}
	}
}

// bigHalves makes a big page clean and writable, then reads and writes
// both its halves with small accesses, one across the middle: a 32-bit
// guest's 4 MiB page is shadowed on PAE and long-mode hosts as two 2 MiB
// halves that track the guest's one dirty bit each on their own.
func (g *Gen) bigHalves() {
	var big []mapping
	for _, m := range g.maps {
		if m.shift > 12 && m.shift < 30 {
			big = append(big, m)
		}
	}
	if len(big) == 0 {
		return
	}
	m := big[g.r.IntN(len(big))]
	g.editLeaf(m, func(old uint64) uint64 { return old&^uint64(x86.D) | uint64(x86.A|x86.RW) })
	half := uint64(1) << (m.shift - 1)
	first := uint64(g.r.IntN(2)) * half
	second := half - first
	at := func(h uint64) uint64 { return uint64(m.va) + h + g.r.Uint64N(half-8) }
	small := func() uint8 { return uint8(1 + g.r.IntN(2)) }
	g.emit(engine.Event{Kind: engine.EvRead, Size: small(), Addr: at(first)})
	g.emit(engine.Event{Kind: engine.EvRead, Size: small(), Addr: at(second)})
	size := small()
	g.emit(engine.Event{Kind: engine.EvWrite, Size: size, Addr: at(first), Value: g.value(size)})
	if g.r.IntN(2) == 0 {
		g.emit(engine.Event{Kind: engine.EvWrite, Size: 2, Addr: uint64(m.va) + half - 1, Value: g.value(2)})
	}
	size = small()
	g.emit(engine.Event{Kind: engine.EvWrite, Size: size, Addr: at(second), Value: g.value(size)})
	g.emit(engine.Event{Kind: engine.EvRead, Size: small(), Addr: at(second)})
}

func (g *Gen) value(size uint8) uint64 {
	v := g.r.Uint64()
	if size < 8 {
		v &= 1<<(8*size) - 1
	}
	return v
}

// kernelVA reports whether va is in the kernel half, which every address
// space maps identically (the only place global pages may live, as a
// well-behaved OS keeps them).
func (g *Gen) kernelVA(va x86.GVA) bool {
	if g.f.VABits == 32 {
		return va >= 0xc0000000
	}
	return va>>(g.f.VABits-1)&1 != 0
}

// randomVA is an address outside the identity-mapped table area, within
// the mode's linear address space.
func (g *Gen) randomVA() x86.GVA {
	for {
		var va x86.GVA
		switch g.f.VABits {
		case 32:
			va = x86.GVA(g.r.Uint32())
		default:
			va = x86.GVA(g.r.Uint64N(1 << (g.f.VABits - 1)))
			if g.r.IntN(2) == 0 { // upper half, sign-extended
				va |= ^x86.GVA(0) << (g.f.VABits - 1)
			}
		}
		if g.inFix(va, 1) {
			continue
		}
		if va >= 4<<20 || va < tableLo && g.r.IntN(8) == 0 {
			return va
		}
	}
}

// access emits a read or fetch (never a write: the address is random and
// may hit the guest's own page tables).
func (g *Gen) access(va x86.GVA) {
	if g.r.IntN(4) == 0 {
		g.emit(engine.Event{Kind: engine.EvExec, Addr: uint64(va)})
		return
	}
	size := uint8(1 << g.r.IntN(4))
	g.emit(engine.Event{Kind: engine.EvRead, Size: size, Addr: uint64(va)})
}

// accessMapped touches a mapping at a random offset, writes included.
func (g *Gen) accessMapped(m mapping) {
	size := uint8(1 << g.r.IntN(4))
	span := uint64(1) << m.shift
	off := g.r.Uint64N(span)
	if m.shift >= 30 {
		// A 1 GiB page maps the page tables too: stay in data or beyond RAM.
		off = dataLo + g.r.Uint64N(span-dataLo)
	}
	if g.r.IntN(6) == 0 {
		off = span - uint64(1+g.r.IntN(7)) // cross into the next page
	}
	va := m.va + x86.GVA(off)
	switch k := g.r.IntN(100); {
	case k < 45:
		g.emit(engine.Event{Kind: engine.EvRead, Size: size, Addr: uint64(va)})
	case k < 85:
		if m.shift >= 30 && off+uint64(size) > span {
			return
		}
		g.emit(engine.Event{Kind: engine.EvWrite, Size: size, Addr: uint64(va), Value: g.value(size)})
	default:
		g.emit(engine.Event{Kind: engine.EvExec, Addr: uint64(va)})
	}
}

// leafLevel picks the level a new mapping ends at.
func (g *Gen) leafLevel() int {
	f := g.f
	leaf := f.N - 1
	if g.r.IntN(4) == 0 && f.Levels[leaf-1].BigPages {
		leaf--
		if g.r.IntN(6) == 0 && leaf > 0 && f.Levels[leaf-1].BigPages {
			leaf--
		}
	}
	return leaf
}

// frame picks a physical base for a page of 1<<shift bytes: data RAM
// mostly, sometimes ROM, MMIO or nothing at all, never the page tables
// (except through a 1 GiB page, which must start at 0 here).
func (g *Gen) frame(shift uint8) x86.GPA {
	switch shift {
	case 12:
		switch r := g.r.IntN(20); {
		case r == 0:
			return ROMBase + x86.GPA(g.r.Uint64N(ROMSize>>12)<<12)
		case r == 1:
			return MMIOBase + x86.GPA(g.r.Uint64N(MMIOSize>>12)<<12)
		case r == 2:
			return x86.GPA(16<<20 + g.r.Uint64N(256)<<12)
		}
		return x86.GPA(dataLo + g.r.Uint64N((RAMSize-dataLo)>>12)<<12)
	case 21:
		return []x86.GPA{4 << 20, 6 << 20, 8 << 20, 16 << 20}[g.r.IntN(4)]
	case 22:
		return []x86.GPA{4 << 20, 8 << 20, 16 << 20}[g.r.IntN(3)]
	}
	return 0
}

// flags picks random leaf flags for the mode; only kernel mappings may
// be global.
func (g *Gen) flags(kernel bool) uint64 {
	var f uint64
	bit := func(pct int, b x86.Flag) {
		if g.r.IntN(100) < pct {
			f |= uint64(b)
		}
	}
	bit(75, x86.RW)
	bit(60, x86.US)
	bit(50, x86.A)
	bit(30, x86.D)
	bit(10, x86.PWT)
	bit(10, x86.PCD)
	if kernel {
		bit(30, x86.G)
	}
	if f&uint64(x86.G) != 0 {
		// Every space holds its own copy of a kernel entry, and a walk
		// sets A and D in the copy it reads only; a global translation
		// filled from one copy then outlives CR3 loads into a space whose
		// copy is clean, and a write through it would set no D bit there,
		// which a CPU without a TLB would. An OS keeps its global pages
		// accessed and dirty from the start (Linux's kernel mappings are),
		// and so do these guests.
		f |= uint64(x86.A | x86.D)
	}
	if g.f.NX {
		bit(25, x86.NX)
	}
	if g.r.IntN(40) == 0 && g.f.Mode.PAEFormat() {
		f |= 1 << 45 // above MAXPHYADDR: a reserved bit
	}
	return f
}

func (g *Gen) mapRandom() {
	if g.next >= tableHi-8*x86.GPA(x86.PageSize) {
		return // out of table pages for this mode
	}
	leaf := g.leafLevel()
	shift := g.f.Levels[leaf].Shift
	va := g.randomVA() &^ x86.GVA(1<<shift-1)
	if va < 4<<20 || g.inFix(va, 1<<shift) {
		return
	}
	kernel := g.kernelVA(va)
	base, flags := g.frame(shift), g.flags(kernel)
	var changedLeaf, changedDir bool
	for _, sp := range g.spacesOf(g.r.IntN(len(g.spaces)), kernel) {
		l, d := g.mapPage(sp, va, leaf, base, flags)
		changedLeaf, changedDir = changedLeaf || l, changedDir || d
	}
	g.afterChange(va, changedLeaf, changedDir)
	g.maps = append(g.maps, mapping{va: va, shift: shift, space: g.cur})
}

// spacesOf lists the spaces a change applies to: all of them in the
// kernel half, the chosen one elsewhere.
func (g *Gen) spacesOf(space int, kernel bool) []int {
	if !kernel {
		return []int{space}
	}
	all := make([]int, len(g.spaces))
	for i := range all {
		all[i] = i
	}
	return all
}

// afterChange flushes as a well-behaved OS does after changing a present
// entry: invlpg for a leaf, a full flush (global pages too) for a
// directory entry.
func (g *Gen) afterChange(va x86.GVA, leaf, dir bool) {
	switch {
	case dir && g.regs.CR4&x86.CR4PGE != 0:
		g.cr(engine.EvCR4, g.regs.CR4&^x86.CR4PGE)
		g.cr(engine.EvCR4, g.regs.CR4|x86.CR4PGE)
	case dir:
		g.cr(engine.EvCR3, g.spaces[g.cur].root)
	case leaf:
		g.emit(engine.Event{Kind: engine.EvInvlpg, Addr: uint64(va)})
	}
}

// leafEntry finds the address of the leaf entry of mapping m.
func (g *Gen) leafEntry(m mapping) (x86.GPA, uint8, bool) {
	f := g.f
	table := x86.GPA(g.spaces[m.space].root & f.RootMask)
	for l := 0; l < f.N; l++ {
		lv := &f.Levels[l]
		addr := table + x86.GPA(lv.Index(m.va)*uint64(lv.EntrySize))
		e := g.mem[addr]
		if lv.Shift == m.shift {
			return addr, lv.EntrySize, e&uint64(x86.P) != 0
		}
		if e&uint64(x86.P) == 0 || (lv.BigPages && e&uint64(x86.PS) != 0) {
			return 0, 0, false
		}
		table = g.tableOf(lv, e)
	}
	return 0, 0, false
}

// editLeaf rewrites the leaf of mapping m (in every space for kernel
// addresses) with edit, then flushes.
func (g *Gen) editLeaf(m mapping, edit func(old uint64) uint64) {
	changed := false
	for _, sp := range g.spacesOf(m.space, g.kernelVA(m.va)) {
		m.space = sp
		addr, size, ok := g.leafEntry(m)
		if !ok {
			continue
		}
		v := edit(g.mem[addr])
		if v&uint64(x86.P|x86.G) == uint64(x86.P|x86.G) {
			g.accessPath(m)
		}
		g.writeEntry(addr, size, v)
		changed = true
	}
	if changed {
		g.afterChange(m.va, m.shift == 12, m.shift != 12)
	}
}

// accessPath sets A in every directory entry on the way to mapping m's
// leaf, as an OS keeps the paths to its global pages (see tables.go).
func (g *Gen) accessPath(m mapping) {
	f := g.f
	table := x86.GPA(g.spaces[m.space].root & f.RootMask)
	for l := 0; l < f.N; l++ {
		lv := &f.Levels[l]
		if lv.Shift == m.shift {
			return
		}
		addr := table + x86.GPA(lv.Index(m.va)*uint64(lv.EntrySize))
		e := g.mem[addr]
		if e&uint64(x86.P) == 0 || (lv.BigPages && e&uint64(x86.PS) != 0) {
			return
		}
		if !lv.Register && e&uint64(x86.A) == 0 {
			e |= uint64(x86.A)
			g.writeEntry(addr, lv.EntrySize, e)
		}
		table = g.tableOf(lv, e)
	}
}

func (g *Gen) remap(m mapping) {
	v := uint64(g.frame(m.shift)) | g.flags(g.kernelVA(m.va)) | uint64(x86.P)
	if m.shift != 12 {
		v |= uint64(x86.PS)
	}
	g.editLeaf(m, func(uint64) uint64 { return v })
}

func (g *Gen) unmap(m mapping) { g.editLeaf(m, func(uint64) uint64 { return 0 }) }

// clearAD clears the accessed and dirty bits of a leaf, as an OS scanning
// for idle pages does, then invalidates it.
func (g *Gen) clearAD(m mapping) {
	g.editLeaf(m, func(old uint64) uint64 {
		if old&uint64(x86.G) != 0 {
			return old // an OS leaves its global pages accessed and dirty
		}
		return old &^ uint64(x86.A|x86.D)
	})
}

// hypervisor emits what the machine around the guest does: a frame-buffer
// page turned off and re-armed, the balloon taking and giving back a data
// page, a sharing pass.
func (g *Gen) hypervisor() {
	n := 7
	if g.more {
		n = 10
	}
	switch g.r.IntN(n) {
	case 9:
		// A reset in the middle of the guest's work, then paging again.
		g.leave(true)
		g.enterMode(g.modes[g.r.IntN(len(g.modes))])
	case 7:
		// A device claims a few data pages for a while: writes to them
		// (or every access) go through its handler.
		if g.tmp == 0 {
			g.tmp = TmpBase + g.r.Uint64N(TmpSize>>12-4)<<12
			typ := []engine.PhysHandlerType{engine.PhysWrite, engine.PhysAll}[g.r.IntN(2)]
			g.emit(engine.Event{Kind: engine.EvPhysHandler, Size: uint8(typ), Addr: g.tmp, Value: (1 + g.r.Uint64N(4)) << 12, Text: "tmp"})
		}
	case 8:
		if g.tmp != 0 {
			g.emit(engine.Event{Kind: engine.EvPhysUnhandler, Addr: g.tmp})
			g.tmp = 0
		}
	case 5:
		g.emit(engine.Event{Kind: engine.EvSave, Text: "snap"})
		g.snap = true
	case 6:
		// Back to the snapshot (taken in this mode): the guest's own view
		// of its tables may now be ahead of memory, which both engines
		// see alike.
		if g.snap {
			g.emit(engine.Event{Kind: engine.EvRestore, Text: "snap"})
		}
	case 0:
		page := FBBase + g.r.Uint64N(FBSize>>12)<<12
		g.emit(engine.Event{Kind: engine.EvPhysHandlerOff, Addr: FBBase, Value: page})
	case 1:
		g.emit(engine.Event{Kind: engine.EvPhysHandlerReset, Addr: FBBase})
	case 2:
		page := uint64(dataLo) + g.r.Uint64N((RAMSize-dataLo)>>12)<<12
		if !slices.Contains(g.ballooned, page) {
			g.ballooned = append(g.ballooned, page)
			g.emit(engine.Event{Kind: engine.EvBalloon, Addr: page})
		}
	case 3:
		if n := len(g.ballooned); n > 0 {
			i := g.r.IntN(n)
			g.emit(engine.Event{Kind: engine.EvDeflate, Addr: g.ballooned[i]})
			g.ballooned = slices.Delete(g.ballooned, i, i+1)
		}
	default:
		g.emit(engine.Event{Kind: engine.EvShare})
	}
}

// reset is a machine reset between two paging modes: memory back to
// zeros, the processor in real mode (then protected mode, as at the
// start). Handlers stay registered, as devices stay plugged in.
func (g *Gen) reset() {
	g.emit(engine.Event{Kind: engine.EvReset})
	g.regs.Reset(x86.DefaultMaxPhys)
	g.cpl = 0
	g.ballooned = g.ballooned[:0]
	g.written = map[x86.GPA]map[x86.GPA]uint8{}
	for i := 0; i < 5; i++ {
		g.access(x86.GVA(g.r.Uint64N(RAMSize)))
	}
	g.cr(engine.EvCR0, x86.CR0PE|x86.CR0ET)
}
