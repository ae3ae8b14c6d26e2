// Package synth generates long synthetic traces with the locality of real
// programs, to measure the trace formats (size, encoding and decoding
// speed) and to build the large traces of `make traces`. It is not a
// guest model: it does not look at outcomes. It does build real page
// tables, so its traces replay without trace errors and mostly without
// faults.
//
// The guest: long mode with NX and global pages; a kernel mapped global
// at the top of the address space; a few processes, each with code,
// a heap and a stack. The stream interleaves instruction fetches that run
// through basic blocks, stack and heap accesses (fields of the current
// object, array walks, pointer chasing), system calls (cpl 0, kernel
// code and data), context switches (cr3, with a label), and now and
// then a heap page mapped or unmapped (pw8 of a PTE, invlpg).
//
// The same seed gives the same stream.
package synth

import (
	"fmt"
	"math/rand/v2"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
)

// Layout of the guest.
const (
	ramStart  = 1 << 20
	ramSize   = 255 << 20
	firstPage = 2 << 20 // frames are handed out from here

	userCode  = 0x400000
	codePages = 64
	userHeap  = 0x10000000
	heapPages = 512 // one page table's worth
	heapStart = 64  // pages mapped at the start
	stackTop  = 0x7ffffff00000
	stackPgs  = 16
	kernBase  = 0xffffffff80000000
	kernCode  = 64 // pages of kernel code, then as many of data

	pteP, pteRW, pteUS = 1, 2, 4
	pteA, pteD, pteG   = 0x20, 0x40, 0x100
	pteNX              = 1 << 63
	tableFlags         = pteP | pteRW | pteUS
)

// Processes is the number of processes of a generator.
const Processes = 8

// Gen is a stream of events. Use New, then Next as often as needed.
type Gen struct {
	rng   *rand.Rand
	queue []engine.Event
	head  int

	nextFrame uint64
	free      []uint64 // frames of unmapped heap pages
	kernPDPT  uint64
	procs     [Processes]proc
	cur       int
	user      bool // cpl 3
	steps     int  // events of the current slice so far
	slice     int  // events until the next context switch
	kpc       uint64
}

type proc struct {
	pml4, heapPT uint64
	frames       [heapPages]uint64 // of the mapped heap pages
	pc           uint64            // next instruction
	ret          []uint64          // return addresses
	sp           uint64
	obj          uint64 // current heap object
	mapped       [heapPages]bool
	nmapped      int
}

// Config is the machine the traces describe.
func Config() engine.Config {
	return engine.Config{
		Ranges: []phys.RangeSpec{
			{Type: phys.TypeRAM, Start: 0, Size: 0xa0000, Name: "low"},
			{Type: phys.TypeROM, Start: 0xf0000, Size: 64 << 10, Name: "bios"},
			{Type: phys.TypeRAM, Start: ramStart, Size: ramSize, Name: "main"},
		},
		Host:      engine.HostAMD64NX,
		PoolPages: 1024,
	}
}

// New starts a stream: the first events build the page tables and enter
// long mode.
func New(seed uint64) *Gen {
	g := &Gen{rng: rand.New(rand.NewPCG(seed, 0x5eed)), nextFrame: firstPage}
	g.setup()
	return g
}

// Next returns the next event. The stream does not end.
func (g *Gen) Next() engine.Event {
	for g.head == len(g.queue) {
		g.queue, g.head = g.queue[:0], 0
		g.step()
	}
	e := g.queue[g.head]
	g.head++
	return e
}

func (g *Gen) emit(e engine.Event) { g.queue = append(g.queue, e) }

func (g *Gen) label(format string, a ...any) {
	g.emit(engine.Event{Kind: engine.EvLabel, Text: fmt.Sprintf(format, a...)})
}

func (g *Gen) frame() uint64 {
	if n := len(g.free); n > 0 {
		f := g.free[n-1]
		g.free = g.free[:n-1]
		return f
	}
	f := g.nextFrame
	g.nextFrame += 0x1000
	if g.nextFrame > ramStart+ramSize {
		panic("synth: out of guest RAM")
	}
	return f
}

// pte writes one 8-byte table entry.
func (g *Gen) pte(table uint64, index int, val uint64) {
	g.emit(engine.Event{Kind: engine.EvPhysWrite, Size: 8, Addr: table + uint64(index)*8, Value: val})
}

func idx(va uint64, level int) int { return int(va>>(12+9*level)) & 511 }

// setup builds the kernel's tables, then each process's, then enters
// long mode in process 0.
func (g *Gen) setup() {
	g.label("build the kernel's page tables (global)")
	g.kernPDPT = g.frame()
	kpd, kpt := g.frame(), g.frame()
	g.pte(g.kernPDPT, idx(kernBase, 2), kpd|tableFlags)
	g.pte(kpd, idx(kernBase, 1), kpt|tableFlags)
	for i := range 2 * kernCode {
		flags := uint64(pteP | pteA | pteG)
		if i >= kernCode {
			flags |= pteRW | pteD | pteNX
		}
		g.pte(kpt, i, g.frame()|flags)
	}
	for p := range g.procs {
		g.label("build the page tables of process %d", p)
		g.buildProc(&g.procs[p])
	}
	g.label("enter long mode")
	g.emit(engine.Event{Kind: engine.EvCR4, Value: 0xa0})   // PAE, PGE
	g.emit(engine.Event{Kind: engine.EvEFER, Value: 0x900}) // LME, NXE
	g.emit(engine.Event{Kind: engine.EvCR3, Value: g.procs[0].pml4})
	g.emit(engine.Event{Kind: engine.EvCR0, Value: 0x80010011}) // PG, WP, ET, PE
	g.emit(engine.Event{Kind: engine.EvCPL, Value: 3})
	g.user = true
	g.slice = g.sliceLen()
}

func (g *Gen) buildProc(p *proc) {
	p.pml4 = g.frame()
	pdpt, pd, codePT := g.frame(), g.frame(), g.frame()
	p.heapPT = g.frame()
	spdpt, spd, spt := g.frame(), g.frame(), g.frame()
	g.pte(p.pml4, idx(kernBase, 3), g.kernPDPT|tableFlags)
	g.pte(p.pml4, idx(userCode, 3), pdpt|tableFlags)
	g.pte(pdpt, idx(userCode, 2), pd|tableFlags)
	g.pte(pd, idx(userCode, 1), codePT|tableFlags)
	g.pte(pd, idx(userHeap, 1), p.heapPT|tableFlags)
	for i := range codePages {
		g.pte(codePT, i, g.frame()|pteP|pteUS|pteA)
	}
	for i := range heapStart {
		g.mapHeap(p, i)
	}
	g.pte(p.pml4, idx(stackTop-1, 3), spdpt|tableFlags)
	g.pte(spdpt, idx(stackTop-1, 2), spd|tableFlags)
	g.pte(spd, idx(stackTop-1, 1), spt|tableFlags)
	for i := range stackPgs {
		va := uint64(stackTop - (i+1)*0x1000)
		g.pte(spt, idx(va, 0), g.frame()|pteP|pteRW|pteUS|pteNX)
	}
	p.pc = userCode
	p.sp = stackTop - 0x100
	p.obj = userHeap
}

func (g *Gen) mapHeap(p *proc, i int) {
	p.frames[i] = g.frame()
	g.pte(p.heapPT, i, p.frames[i]|pteP|pteRW|pteUS|pteNX)
	p.mapped[i] = true
	p.nmapped++
}

func (g *Gen) sliceLen() int { return 2000 + g.rng.IntN(8000) }

// step appends a few events: one instruction and what it does.
func (g *Gen) step() {
	g.steps++
	if g.steps >= g.slice {
		g.contextSwitch()
		return
	}
	r := g.rng.IntN(10000)
	switch {
	case r < 4:
		g.syscall()
	case r < 6:
		g.heapChange()
	default:
		g.instruction(&g.procs[g.cur])
	}
}

func (g *Gen) contextSwitch() {
	g.steps, g.slice = 0, g.sliceLen()
	g.cur = g.rng.IntN(Processes)
	g.emit(engine.Event{Kind: engine.EvCPL, Value: 0})
	g.kernelRun(20)
	g.label("switch to process %d", g.cur)
	g.emit(engine.Event{Kind: engine.EvCR3, Value: g.procs[g.cur].pml4})
	g.kernelRun(10)
	g.emit(engine.Event{Kind: engine.EvCPL, Value: 3})
}

func (g *Gen) syscall() {
	g.emit(engine.Event{Kind: engine.EvCPL, Value: 0})
	g.kernelRun(30 + g.rng.IntN(200))
	g.emit(engine.Event{Kind: engine.EvCPL, Value: 3})
}

// kernelRun fetches n kernel instructions, with accesses to kernel data
// and to the user stack.
func (g *Gen) kernelRun(n int) {
	if g.kpc == 0 {
		g.kpc = kernBase
	}
	for range n {
		g.fetch(&g.kpc, kernBase, kernCode)
		switch r := g.rng.IntN(8); {
		case r == 0:
			a := kernBase + kernCode*0x1000 + uint64(g.rng.IntN(kernCode*0x1000/8))*8
			g.emit(engine.Event{Kind: engine.EvRead, Size: 8, Addr: a})
		case r == 1:
			a := kernBase + kernCode*0x1000 + uint64(g.rng.IntN(512))*8
			g.emit(engine.Event{Kind: engine.EvWrite, Size: 8, Addr: a, Value: g.value()})
		case r == 2:
			p := &g.procs[g.cur]
			g.emit(engine.Event{Kind: engine.EvRead, Size: 8, Addr: p.sp + uint64(g.rng.IntN(16))*8})
		}
	}
}

// fetch emits one instruction fetch at *pc and moves it on, branching now
// and then within the code of pages pages at base.
func (g *Gen) fetch(pc *uint64, base uint64, pages int) {
	g.emit(engine.Event{Kind: engine.EvExec, Addr: *pc})
	*pc += 1 + uint64(g.rng.IntN(6))
	if g.rng.IntN(6) == 0 { // a taken branch
		if g.rng.IntN(4) == 0 {
			*pc = base + uint64(g.rng.IntN(pages*0x1000-16)) // a call
		} else {
			*pc += uint64(g.rng.IntN(256)) - 128
		}
	}
	if *pc < base || *pc >= base+uint64(pages)*0x1000-16 {
		*pc = base + uint64(g.rng.IntN(pages*0x1000-16))
	}
}

// instruction is one user instruction, with a data access one time in
// two.
func (g *Gen) instruction(p *proc) {
	g.fetch(&p.pc, userCode, codePages)
	r := g.rng.IntN(100)
	switch {
	case r < 50:
		return
	case r < 70: // the stack: locals, pushes and pops
		if g.rng.IntN(8) == 0 {
			d := uint64(g.rng.IntN(5)) * 8
			if g.rng.IntN(2) == 0 && p.sp-d > stackTop-stackPgs*0x1000+0x100 {
				p.sp -= d
			} else if p.sp+d <= stackTop-0x100 {
				p.sp += d
			}
		}
		a := p.sp + uint64(g.rng.IntN(12))*8
		g.access(a, 8, p)
	default: // the heap: fields of the current object, arrays, pointers
		switch q := g.rng.IntN(20); {
		case q == 0: // follow a pointer elsewhere
			p.obj = g.heapAddr(p) &^ 15
		case q < 4: // walk an array
			p.obj += 8
			if p.obj >= userHeap+heapPages*0x1000-64 || !p.mapped[(p.obj-userHeap)>>12] {
				p.obj = g.heapAddr(p) &^ 15
			}
		}
		size := uint8(8)
		if g.rng.IntN(4) == 0 {
			size = 4
		}
		a := p.obj + uint64(g.rng.IntN(8))*uint64(size)
		if pg := (a - userHeap) >> 12; pg >= heapPages || !p.mapped[pg] || (a+uint64(size)-1)>>12 != a>>12 {
			a = p.obj
		}
		g.access(a, size, p)
	}
}

// access reads or writes (one time in three) size bytes at a.
func (g *Gen) access(a uint64, size uint8, p *proc) {
	if g.rng.IntN(3) > 0 {
		g.emit(engine.Event{Kind: engine.EvRead, Size: size, Addr: a})
		return
	}
	v := g.value()
	if g.rng.IntN(4) == 0 {
		v = g.heapAddr(p)
	}
	if size < 8 {
		v &= 1<<(8*size) - 1
	}
	g.emit(engine.Event{Kind: engine.EvWrite, Size: size, Addr: a, Value: v})
}

// value is data a program writes: mostly small numbers, sometimes any.
func (g *Gen) value() uint64 {
	switch r := g.rng.IntN(10); {
	case r < 6:
		return uint64(g.rng.IntN(256))
	case r < 9:
		return uint64(g.rng.IntN(1 << 20))
	}
	return g.rng.Uint64()
}

// heapAddr is an address in a mapped heap page.
func (g *Gen) heapAddr(p *proc) uint64 {
	for {
		i := g.rng.IntN(heapPages)
		if p.mapped[i] {
			return userHeap + uint64(i)<<12 + uint64(g.rng.IntN(0x1000/8))*8
		}
	}
}

// heapChange maps a page (the heap grows) or unmaps one (then invlpg).
func (g *Gen) heapChange() {
	p := &g.procs[g.cur]
	i := g.rng.IntN(heapPages)
	g.emit(engine.Event{Kind: engine.EvCPL, Value: 0})
	g.kernelRun(20)
	switch {
	case !p.mapped[i]:
		g.mapHeap(p, i)
	case p.nmapped > heapStart/2 && userHeap+uint64(i)<<12 != p.obj&^0xfff:
		g.pte(p.heapPT, i, 0)
		g.free = append(g.free, p.frames[i])
		p.mapped[i] = false
		p.nmapped--
		g.emit(engine.Event{Kind: engine.EvInvlpg, Addr: userHeap + uint64(i)<<12})
	}
	g.emit(engine.Event{Kind: engine.EvCPL, Value: 3})
}
