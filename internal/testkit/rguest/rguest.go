// Package rguest generates random well-behaved guests: page tables built
// and changed through guest and physical writes, invlpg or CR3 reloads
// after every change to a present entry, mode switches in architectural
// order, several address spaces, big pages, NX, read-only and user or
// supervisor pages, accesses that mostly hit mapped memory. It is the
// workload of the engine's differential tests: any engine configuration
// must give such a guest exactly what the reference CPU gives it.
package rguest

import (
	"math/rand/v2"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// Layout of the generated guests' physical memory.
const (
	RAMSize   = 8 << 20
	tableLo   = 1 << 20 // page tables live in [tableLo, tableHi)
	tableHi   = 3 << 20 // identity-mapped so the guest can edit them with w
	dataLo    = 4 << 20
	ROMBase   = 0x900000
	ROMSize   = 64 << 10
	MMIOBase  = 0xa00000
	MMIOSize  = 16 << 10
	FBBase    = 5 << 20 // a write-watched frame buffer in data RAM
	FBSize    = 64 << 10
	WatchBase = 6 << 20 // a range whose every access is watched
	WatchSize = 16 << 10
	TmpBase   = 7 << 20 // where FromBytes's guests register handlers for a while
	TmpSize   = 64 << 10
)

// Ranges is the guests' physical memory.
func Ranges() []phys.RangeSpec {
	return []phys.RangeSpec{
		{Type: phys.TypeRAM, Start: 0, Size: RAMSize, Name: "ram"},
		{Type: phys.TypeROM, Start: ROMBase, Size: ROMSize, Name: "rom"},
		{Type: phys.TypeMMIO, Start: MMIOBase, Size: MMIOSize, Name: "mmio"},
	}
}

type mapping struct {
	va    x86.GVA
	shift uint8 // page size
	space int
}

type space struct {
	root uint64 // CR3 value
}

// Gen produces the events of one random guest.
type Gen struct {
	r      *rand.Rand
	out    []engine.Event
	regs   x86.Regs
	f      *x86.Format
	mem    map[x86.GPA]uint64 // the generator's own view of table entries it wrote
	next   x86.GPA            // bump allocator for table pages
	spaces []space
	cur    int
	maps   []mapping
	cpl    uint8
	modes  []x86.Mode
	// written remembers, per table page, the entries ever written non-zero
	// (in any mode), so a page can be cleared before it is reused.
	written map[x86.GPA]map[x86.GPA]uint8
	// ballooned are the data pages the balloon holds (a guest writing one
	// gets a fresh page, as the engine allows).
	ballooned []uint64
	shared    []sharedTable
	snap      bool    // a snapshot of the current mode exists
	virt      x86.GVA // start of the current mode's virtual handler (0: none)
	mod       modernState
	// more adds the hypervisor events of FromBytes's guests (resets,
	// physical handlers registered and removed); tmp is the start of the
	// handler registered now (0: none).
	more bool
	tmp  uint64
}

// New returns a generator; modes lists the paging modes it may visit.
func New(seed uint64, modes []x86.Mode) *Gen {
	g := &Gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), modes: modes,
		written: map[x86.GPA]map[x86.GPA]uint8{}}
	g.regs.Reset(x86.DefaultMaxPhys)
	return g
}

// FromBytes returns a generator for fuzzing: its choices come from data,
// one byte each, so that a fuzzer's mutations change single decisions,
// and once data runs out from a generator seeded by data. Its guests
// also reset the machine and register and remove physical handlers,
// which New's guests do not (New's event sequences stay what the
// benchmarks and the goldens were measured on).
func FromBytes(data []byte, modes []x86.Mode) *Gen {
	var h uint64 = 0xcbf29ce484222325
	for _, b := range data {
		h = (h ^ uint64(b)) * 0x100000001b3
	}
	src := &byteSource{data: data, rest: rand.NewPCG(h, uint64(len(data)))}
	g := &Gen{r: rand.New(src), modes: modes, written: map[x86.GPA]map[x86.GPA]uint8{}, more: true}
	g.regs.Reset(x86.DefaultMaxPhys)
	return g
}

// byteSource is a rand.Source that spreads each byte of data over 64
// bits, then goes on with rest.
type byteSource struct {
	data []byte
	i    int
	rest rand.Source
}

func (s *byteSource) Uint64() uint64 {
	if s.i >= len(s.data) {
		return s.rest.Uint64()
	}
	// splitmix64 of the byte and its position: neighbouring bytes and
	// values give unrelated draws.
	z := uint64(s.data[s.i])<<32 + uint64(s.i) + 0x9e3779b97f4a7c15
	s.i++
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

func (g *Gen) emit(e engine.Event) { g.out = append(g.out, e) }

// Events generates about n events.
func (g *Gen) Events(n int) []engine.Event {
	// Devices: an MMIO register file, a write-watched frame buffer and a
	// fully watched page range, as a machine's devices would register.
	g.emit(engine.Event{Kind: engine.EvPhysHandler, Size: uint8(engine.PhysMMIO), Addr: MMIOBase, Value: MMIOSize, Text: "dev"})
	g.emit(engine.Event{Kind: engine.EvPhysHandler, Size: uint8(engine.PhysWrite), Addr: FBBase, Value: FBSize, Text: "fb"})
	g.emit(engine.Event{Kind: engine.EvPhysHandler, Size: uint8(engine.PhysAll), Addr: WatchBase, Value: WatchSize, Text: "watch"})
	g.emit(engine.Event{Kind: engine.EvLabel, Text: "real mode"})
	for i := 0; i < 10; i++ {
		g.access(x86.GVA(g.r.Uint64N(RAMSize)))
	}
	g.cr(engine.EvCR0, x86.CR0PE|x86.CR0ET)
	for len(g.out) < n {
		g.enterMode(g.modes[g.r.IntN(len(g.modes))])
		steps := 50 + g.r.IntN(400)
		for i := 0; i < steps && len(g.out) < n; i++ {
			g.step()
		}
		g.leavePaging()
	}
	return g.out
}

func (g *Gen) cr(k engine.EventKind, v uint64) {
	reg, _ := k.Reg()
	if _, err := g.regs.Write(reg, v, genMem{g}); err != nil {
		panic("rguest: generated an illegal write: " + err.Error())
	}
	g.emit(engine.Event{Kind: k, Value: v})
}

// genMem is the generator's view of its tables as processor memory, so
// that its registers load the PDPTEs the guest's CPU loads.
type genMem struct{ g *Gen }

func (m genMem) ReadEntry(a x86.GPA, _ int) uint64 { return m.g.mem[a] }
func (genMem) SetEntryBits(x86.GPA, int, uint64)   {}

// leavePaging returns to protected mode without paging, in legal order
// (FromBytes's guests reset the machine a quarter of the time instead).
func (g *Gen) leavePaging() { g.leave(g.more && g.r.IntN(4) == 0) }

// leave leaves paging, by a machine reset when reset is set.
func (g *Gen) leave(reset bool) {
	g.modernLeave()
	g.snap = false
	if g.virt != 0 {
		g.emit(engine.Event{Kind: engine.EvVirtUnhandler, Addr: uint64(g.virt)})
		g.virt = 0
	}
	if reset {
		g.reset()
		return
	}
	g.cr(engine.EvCR0, x86.CR0PE|x86.CR0ET)
	if g.regs.EFER&x86.EFERLME != 0 {
		g.cr(engine.EvEFER, g.regs.EFER&^x86.EFERLME)
	}
	g.cr(engine.EvCR4, 0)
	if g.r.IntN(3) == 0 {
		for i := 0; i < 5; i++ {
			g.access(x86.GVA(g.r.Uint64N(RAMSize)))
		}
	}
}

// enterMode builds fresh page tables for mode m and turns paging on.
func (g *Gen) enterMode(m x86.Mode) {
	g.emit(engine.Event{Kind: engine.EvLabel, Text: "enter " + m.String()})
	var cr4, efer uint64
	switch m {
	case x86.Mode32Bit:
		if g.r.IntN(2) == 0 {
			cr4 |= x86.CR4PSE
		}
	case x86.ModePAE, x86.ModePAENX:
		cr4 |= x86.CR4PAE
	case x86.ModeAMD64, x86.ModeAMD64NX:
		cr4 |= x86.CR4PAE
		efer |= x86.EFERLME
	case x86.ModeLA57, x86.ModeLA57NX:
		cr4 |= x86.CR4PAE | x86.CR4LA57
		efer |= x86.EFERLME
	}
	if m.NX() {
		efer |= x86.EFERNXE
	}
	if g.r.IntN(2) == 0 {
		cr4 |= x86.CR4PGE
	}
	f, err := x86.NewFormat(m, cr4, x86.DefaultMaxPhys)
	if err != nil {
		panic(err)
	}
	g.f = f
	g.mem = map[x86.GPA]uint64{}
	g.next = tableLo
	g.maps = g.maps[:0]
	g.spaces = g.spaces[:0]
	g.shared = g.shared[:0]
	nspaces := 1 + g.r.IntN(3)
	var shared []linked
	for s := 0; s < nspaces; s++ {
		root := g.newTable()
		if f.Mode == x86.ModePAE || f.Mode == x86.ModePAENX {
			// The PDPT may sit at any 32-byte offset.
			root += x86.GPA(32 * g.r.IntN(4))
		}
		g.spaces = append(g.spaces, space{root: uint64(root)})
		g.cur = s
		// Identity-map the table area, sharing leaf tables between spaces
		// after the first, so pool pages get several users.
		shared = g.identity(shared)
	}
	g.cur = 0
	if g.r.IntN(4) != 0 {
		g.newShared()
	}
	for i := 0; i < 20; i++ {
		g.mapRandom()
	}
	// A virtual handler over a mapped region (a kernel structure, say):
	// its pages follow the guest's remaps.
	g.virt = 0
	if len(g.maps) > 0 {
		m := g.maps[g.r.IntN(len(g.maps))]
		typ := engine.VirtWrite
		if g.r.IntN(3) == 0 {
			typ = engine.VirtAll
		}
		g.virt = m.va
		g.emit(engine.Event{Kind: engine.EvVirtHandler, Size: uint8(typ), Addr: uint64(m.va), Value: 2 * x86.PageSize, Text: "vh"})
	}
	if efer != g.regs.EFER {
		g.cr(engine.EvEFER, efer)
	}
	g.cr(engine.EvCR4, cr4)
	g.cr(engine.EvCR3, g.spaces[0].root)
	cr0 := x86.CR0PE | x86.CR0ET | x86.CR0PG
	if g.r.IntN(4) != 0 {
		cr0 |= x86.CR0WP
	}
	g.cr(engine.EvCR0, cr0)
	g.modernEnter()
}

// newTable allocates a zeroed page-table page. Pages are not reused
// within a mode; a page used in an earlier mode has its old entries
// cleared (with pw, paging being off or the page unused by now).
func (g *Gen) newTable() x86.GPA {
	if g.next >= tableHi {
		g.next = tableLo
	}
	t := g.next
	g.next += x86.GPA(x86.PageSize)
	for _, a := range sortedKeys(g.written[t]) {
		g.emit(engine.Event{Kind: engine.EvPhysWrite, Size: g.written[t][a], Addr: uint64(a)})
	}
	delete(g.written, t)
	return t
}
