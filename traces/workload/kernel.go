package workload

import (
	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// kernel is the small operating system the devices, mapping-conflict
// and overcommit guests share: one paging mode, its image at 1 MiB, all
// RAM mapped at a direct-map address with big global pages, and a stack
// of free frames. The guests add what they are about on top of it.
type kernel struct {
	m      *machine
	mode   x86.Mode
	nx     bool // data mappings are no-execute
	pg     *pager
	root   x86.GPA // the kernel's top-level table
	lay    kernelLayout
	ram    uint64
	free   []x86.GPA // free frames, a stack: the last freed is reused first
	tables int       // frames taken for page tables
}

// Physical layout of the small kernel: its image (code, then data) at
// 1 MiB, free frames from 2 MiB.
const (
	kimgBase  = 0x100000
	kimgText  = 64 << 10
	kimgEnd   = 0x120000
	kfreeBase = 0x200000
)

// kernelLayout is where the small kernel puts things in its address
// space.
type kernelLayout struct {
	direct  x86.GVA // all RAM, big global pages
	text    x86.GVA // the kernel's code again, with 4 KiB pages
	vmalloc x86.GVA // mappings made on demand: device registers, buffers
}

// kernelModes are the paging modes the small kernel runs in.
var kernelModes = []string{"32bit", "pae", "long"}

// modeParam is the parameter choosing the small kernel's paging mode.
func modeParam(def string) Param {
	return choiceParam("mode", def, kernelModes,
		"paging mode of the guest: 32bit (with 4 MiB pages), pae (with NX) or long (with NX)")
}

// newKernel prepares a kernel in the named mode (one of kernelModes) for
// a machine with ram bytes, whose free frames start at first. nx false
// leaves EFER.NXE off in PAE and long mode.
func newKernel(m *machine, mode string, nx bool, ram uint64, first x86.GPA) *kernel {
	k := &kernel{m: m, ram: ram}
	cr4 := x86.CR4PAE
	switch mode {
	case "32bit":
		k.mode, cr4 = x86.Mode32Bit, x86.CR4PSE
		k.lay = kernelLayout{direct: 0xc0000000, text: 0xf0000000, vmalloc: 0xf8000000}
	case "pae":
		k.mode, k.nx = x86.ModePAE, nx
		if nx {
			k.mode = x86.ModePAENX
		}
		k.lay = kernelLayout{direct: 0xc0000000, text: 0xf0000000, vmalloc: 0xf8000000}
	case "long":
		k.mode, k.nx = x86.ModeAMD64, nx
		if nx {
			k.mode = x86.ModeAMD64NX
		}
		k.lay = kernelLayout{direct: directLong, text: kernelLong + 0x1000000, vmalloc: vmallocLong}
	default:
		panic("workload: kernel mode " + mode)
	}
	k.pg = &pager{m: m, f: m.format(k.mode, cr4), alloc: k.table}
	for f := x86.GPA(ram) - page; f >= first; f -= page {
		k.free = append(k.free, f)
	}
	return k
}

// frame takes a free frame. Workloads check their parameters so that
// memory never runs out.
func (k *kernel) frame() x86.GPA {
	n := len(k.free)
	if n == 0 {
		panic("workload: the kernel is out of memory")
	}
	f := k.free[n-1]
	k.free = k.free[:n-1]
	return f
}

// release gives frame f back.
func (k *kernel) release(f x86.GPA) { k.free = append(k.free, f) }

// table is a zeroed frame for a page table.
func (k *kernel) table() x86.GPA {
	t := k.frame()
	k.m.zero(t)
	k.tables++
	return t
}

// noExec is fNX when the kernel marks data no-execute.
func (k *kernel) noExec() uint64 {
	if k.nx {
		return fNX
	}
	return 0
}

// load has the boot loader copy the kernel image to 1 MiB.
func (k *kernel) load() {
	m := k.m
	m.label("the boot loader has the disk controller copy the kernel to 1 MiB")
	for off := x86.GPA(0); off < kimgEnd-kimgBase; off += page {
		m.pw(kimgBase+off+x86.GPA(8*m.rnd.IntN(page/8)), 8, m.value(8))
	}
	m.cr(engine.EvCR0, x86.CR0PE|x86.CR0ET)
}

// boot builds the kernel's tables (the direct map of all RAM with big
// global pages, the image's code again at lay.text with 4 KiB pages) and
// turns paging on. In PAE mode the four page directories are allocated
// up front: PDPTEs are loaded with CR3 and cannot change afterwards.
func (k *kernel) boot() {
	m := k.m
	m.label("the kernel maps all %d MiB of RAM at %#x with global pages and its code at %#x (%v)", k.ram>>20,
		uint64(k.lay.direct), uint64(k.lay.text), k.mode)
	k.root = k.table()
	if top := &k.pg.f.Levels[0]; top.Register {
		for i := range 4 {
			k.pg.set(k.root+x86.GPA(8*i), 8, uint64(k.table())|dirFlags(top, false))
		}
	}
	big := k.pg.f.N - 2
	size := uint64(1) << k.pg.f.Levels[big].Shift
	for pa := uint64(0); pa < k.ram; pa += size {
		f := fRW | fA | fD | fG
		if pa >= kimgEnd {
			f |= k.noExec()
		}
		k.pg.mapPage(k.root, k.lay.direct+x86.GVA(pa), big, x86.GPA(pa), f, false)
	}
	for off := uint64(0); off < kimgText; off += page {
		k.pg.mapPage(k.root, k.lay.text+x86.GVA(off), k.pg.leaf(), kimgBase+x86.GPA(off), fA, false)
	}
	switch {
	case k.mode == x86.Mode32Bit:
		m.cr(engine.EvCR4, x86.CR4PSE|x86.CR4PGE)
	case k.mode.Long():
		efer := x86.EFERLME
		if k.nx {
			efer |= x86.EFERNXE
		}
		m.cr(engine.EvEFER, efer)
		m.cr(engine.EvCR4, x86.CR4PAE|x86.CR4PGE)
	default:
		if k.nx {
			m.cr(engine.EvEFER, x86.EFERNXE)
		}
		m.cr(engine.EvCR4, x86.CR4PAE|x86.CR4PGE)
	}
	m.cr(engine.EvCR3, uint64(k.root))
	m.cr(engine.EvCR0, x86.CR0PE|x86.CR0ET|x86.CR0PG|x86.CR0WP)
	m.kva = func(pa x86.GPA) (x86.GVA, bool) { return k.lay.direct + x86.GVA(pa), true }
	m.label("paging is on: the kernel runs from %#x", uint64(k.lay.text))
	m.must(m.exec(k.lay.text))
}

// mapPage maps the 4 KiB page at va to pa in the kernel's tables.
func (k *kernel) mapPage(va x86.GVA, pa x86.GPA, flags uint64) x86.GPA {
	return k.pg.mapPage(k.root, va, k.pg.leaf(), pa, flags, false)
}

// leafEntry is the address of the 4 KiB entry mapping va, which must be
// mapped.
func (k *kernel) leafEntry(va x86.GVA) x86.GPA {
	a, ok := k.pg.entry(k.root, va, k.pg.leaf(), false, false)
	if !ok || k.m.ent[a]&fP == 0 {
		panic("workload: no kernel mapping to change")
	}
	return a
}

// remap points the 4 KiB kernel page at va to pa, keeping its flags, and
// invalidates the old translation.
func (k *kernel) remap(va x86.GVA, pa x86.GPA) {
	a := k.leafEntry(va)
	lv := &k.pg.f.Levels[k.pg.leaf()]
	old := k.m.peek(a, lv.EntrySize) // the flags the processor set too
	k.pg.set(a, lv.EntrySize, uint64(pa)|old&^lv.FrameMask)
	k.m.invlpg(va)
}

// direct is where the kernel reaches physical address pa.
func (k *kernel) direct(pa x86.GPA) x86.GVA { return k.lay.direct + x86.GVA(pa) }

// text is a random instruction address in the kernel's code.
func (k *kernel) text() x86.GVA {
	return k.lay.text + x86.GVA(k.m.rnd.IntN(kimgText)&^0xf)
}

// data is a random 8-byte word of the kernel's data.
func (k *kernel) data() x86.GVA {
	return k.direct(kimgBase+kimgText) + x86.GVA(8*k.m.rnd.IntN((kimgEnd-kimgBase-kimgText)/8))
}

// work is the kernel at work: a fetch of its code and an access to its
// data.
func (k *kernel) work() {
	m := k.m
	m.must(m.exec(k.text()))
	if m.rnd.IntN(2) == 0 {
		m.must(m.read(k.data(), 8))
	} else {
		m.must(m.write(k.data(), 8, m.value(8)))
	}
}
