package workload

import (
	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

func init() {
	register(&spec{
		Info: Info{
			Name:    "boot",
			Summary: "a PC boots from real mode through protected mode, 32-bit paging and PAE to long mode, building every mode's page tables itself",
			Params: []Param{
				intParam("touches", 16, 1, 1000, "memory accesses in each mode"),
				intParam("heap", 4, 0, 64, "kernel heap pages that each paging mode maps on first use, through a page fault"),
				intParam("ram", 32, 8, 1024, "memory size in MiB"),
			},
		},
		build: newBoot,
	})
}

// Physical layout of the booting kernel.
const (
	kernelBase  = 0x100000 // the kernel image, loaded by the boot loader
	kernelText  = 48 << 10 // code at kernelBase, data after it
	kernelData  = 16 << 10
	bootTables  = 0x180000 // page tables of every stage, in the identity-mapped 2 MiB
	bootIdEnd   = 2 << 20  // end of the identity map of the boot stages
	bootFrames  = 4 << 20  // frames of the kernel heap
	kernelHalf  = 0xc0000000
	kernelLong  = 0xffffffff80000000 // where long mode maps physical 0 (as Linux maps its text)
	directLong  = 0xffff888000000000 // long-mode direct map of all RAM
	vmallocLong = 0xffffc90000000000 // long-mode kernel heap
)

type boot struct {
	m         *machine
	touches   int
	heapPages int
	ram       uint64
	nextTable x86.GPA
	nextFrame x86.GPA
}

func newBoot(seed uint64, a args) (Workload, error) {
	b := &boot{m: newMachine(seed), touches: a.Int("touches"), heapPages: a.Int("heap"),
		ram: uint64(a.Int("ram")) << 20, nextTable: bootTables, nextFrame: bootFrames}
	h := newHeader("boot", seed, a, pcRanges(b.ram))
	return start("boot", h, b.m, b.run), nil
}

// table is a fresh page for a page table (memory is zero at power on and
// the boot never reuses a page).
func (b *boot) table() x86.GPA {
	t := b.nextTable
	if t >= bootIdEnd {
		panic("workload boot: out of table pages")
	}
	b.nextTable += page
	return t
}

func (b *boot) frame() x86.GPA {
	f := b.nextFrame
	b.nextFrame += page
	return f
}

// Regions the boot touches, at their physical addresses.
var (
	biosCode   = region{va: biosBase, size: biosSize, code: true}
	bootSector = region{va: 0x7c00, size: 512, code: true}
	bootStack  = region{va: 0x7000, size: 0xc00}
	kcode      = region{va: kernelBase, size: kernelText, code: true}
	kdata      = region{va: kernelBase + kernelText, size: kernelData}
)

// at is r seen at base+r.va.
func (r region) at(base x86.GVA) region { r.va += base; return r }

func (b *boot) run() {
	m := b.m
	m.label("power on: real mode; the first instruction comes from the BIOS ROM at 0xffff0")
	m.must(m.exec(resetVec))
	m.touch(b.touches, biosCode)

	m.label("the BIOS fills in the interrupt vector table and the BIOS data area")
	for i := range 8 {
		m.must(m.write(x86.GVA(4*i), 4, 0xf000<<16|uint64(0xe000+0x100*i)))
	}
	m.must(m.write(0x410, 2, 0x0021))
	m.must(m.write(0x413, 2, lowMemEnd>>10))

	m.label("the BIOS has the disk controller copy the boot sector to 0x7c00")
	for off := x86.GPA(0); off < 0x1f8; off += 32 {
		m.pw(0x7c00+off, 8, m.value(8))
	}
	m.pw(0x7dfe, 2, 0xaa55)
	m.label("the boot loader runs at 0x7c00, its stack just below")
	m.must(m.exec(0x7c00))
	m.touch(b.touches, bootSector, bootStack)

	m.label("the boot loader has the disk controller copy the kernel to 1 MiB")
	for off := x86.GPA(0); off < kernelText+kernelData; off += 0x800 {
		m.pw(kernelBase+off, 8, m.value(8))
	}

	m.cr(engine.EvCR0, x86.CR0PE|x86.CR0ET)
	m.label("protected mode: 32-bit code, no paging yet; addresses are still physical")
	m.must(m.exec(kernelBase))
	m.touch(b.touches, kcode, kdata, bootStack)

	b.paging32()
	b.pae()
	b.long()
	m.label("boot complete")
}

// identity maps [0, bootIdEnd) at its own address with 4 KiB supervisor
// pages (not the hole), creating the tables under root.
func (b *boot) identity(pg *pager, root x86.GPA) {
	for pa := x86.GPA(0); pa < bootIdEnd; pa += page {
		if !inHole(pa) {
			pg.mapPage(root, x86.GVA(pa), pg.leaf(), pa, fRW, false)
		}
	}
}

// alias points the entry for va at level l to the same table as the
// entry for from: one table mapped at two places.
func (b *boot) alias(pg *pager, root x86.GPA, va, from x86.GVA, l int) {
	src, ok := pg.entry(root, from, l, false, false)
	if !ok {
		panic("workload boot: alias of an unmapped address")
	}
	dst, _ := pg.entry(root, va, l, true, false)
	pg.set(dst, pg.f.Levels[l].EntrySize, b.m.ent[src])
}

// heap maps kernel heap pages at va on first use: each first write
// faults (not present), the handler maps a fresh frame, the write is
// retried, and a read checks the data.
func (b *boot) heap(pg *pager, root x86.GPA, va x86.GVA, flags uint64) {
	if b.heapPages == 0 {
		return
	}
	m := b.m
	m.label("the kernel heap at %#x is mapped on demand: the first access to a page faults, the handler maps a page, the access is retried", uint64(va))
	for i := range b.heapPages {
		a := va + x86.GVA(i*page) + x86.GVA(8*m.rnd.IntN(page/8))
		v := m.value(8)
		if o := m.write(a, 8, v); !o.OK {
			if o.Fault.Code&x86.PFPresent != 0 {
				m.fail("heap write at %#x: protection fault %#x", uint64(a), uint32(o.Fault.Code))
			}
			pg.mapPage(root, a, pg.leaf(), b.frame(), flags, false)
			m.must(m.write(a, 8, v))
		}
		if got := m.must(m.read(a, 8)).Value; got != v {
			m.fail("heap at %#x reads %#x after writing %#x", uint64(a), got, v)
		}
	}
}

func (b *boot) paging32() {
	m := b.m
	m.label("the kernel builds 32-bit page tables: a page directory, and a page table mapping the first 2 MiB both at their own address and at 0xc0000000")
	pg := &pager{m: m, f: m.format(x86.Mode32Bit, 0), alloc: b.table}
	pd := b.table()
	b.identity(pg, pd)
	b.alias(pg, pd, kernelHalf, 0, 0)
	m.cr(engine.EvCR3, uint64(pd))
	m.cr(engine.EvCR0, x86.CR0PE|x86.CR0ET|x86.CR0PG|x86.CR0WP)
	m.label("32-bit paging is on: the kernel runs at 0xc0100000; low memory is still at its own address")
	m.touch(b.touches, kcode.at(kernelHalf), kdata.at(kernelHalf), bootStack, region{va: biosBase, size: biosSize, ro: true})
	b.heap(pg, pd, kernelHalf+8<<20, fRW)
}

func (b *boot) pae() {
	m := b.m
	m.label("the kernel builds PAE tables: 8-byte entries, a page-directory-pointer table of 4 entries, page directories and page tables of 512")
	pg := &pager{m: m, f: m.format(x86.ModePAE, x86.CR4PAE), alloc: b.table}
	pdpt := b.table()
	b.identity(pg, pdpt)
	b.alias(pg, pdpt, kernelHalf, 0, 1)
	m.label("to change the paging format the kernel turns paging off, sets CR4.PAE, loads CR3 and turns paging on")
	m.cr(engine.EvCR0, x86.CR0PE|x86.CR0ET)
	m.cr(engine.EvCR4, x86.CR4PAE)
	m.cr(engine.EvCR3, uint64(pdpt))
	m.cr(engine.EvCR0, x86.CR0PE|x86.CR0ET|x86.CR0PG|x86.CR0WP)
	m.label("PAE paging is on: three levels, the same addresses as before")
	m.touch(b.touches, kcode.at(kernelHalf), kdata.at(kernelHalf), bootStack)
	b.heap(pg, pdpt, kernelHalf+8<<20, fRW)
}

func (b *boot) long() {
	m := b.m
	m.label("the kernel builds 4-level tables for long mode, reusing the PAE page directories, and maps all RAM at 0xffff888000000000 with global 2 MiB pages")
	pg := &pager{m: m, f: m.format(x86.ModeAMD64NX, x86.CR4PAE), alloc: b.table}
	pml4 := b.table()
	paePDPT := x86.GPA(m.regs.CR3 & 0xffffffe0)
	for _, l := range []struct{ va, pd x86.GVA }{{0, 0}, {kernelLong, kernelHalf}} {
		pd := m.ent[paePDPT+x86.GPA(8*(uint64(l.pd)>>30))] & 0xfffff000
		a, _ := pg.entry(pml4, l.va, 1, true, false)
		pg.set(a, 8, pd|dirFlags(&pg.f.Levels[1], false))
	}
	for pa := uint64(0); pa < b.ram; pa += 2 << 20 {
		pg.mapPage(pml4, directLong+x86.GVA(pa), 2, x86.GPA(pa), fRW|fA|fD|fG|fNX, false)
	}
	m.label("to enter long mode the kernel turns paging off, sets EFER.LME (and NXE), loads CR3 and turns paging on")
	m.cr(engine.EvCR0, x86.CR0PE|x86.CR0ET)
	m.cr(engine.EvEFER, x86.EFERLME|x86.EFERNXE)
	m.cr(engine.EvCR4, x86.CR4PAE|x86.CR4PGE)
	m.cr(engine.EvCR3, uint64(pml4))
	m.cr(engine.EvCR0, x86.CR0PE|x86.CR0ET|x86.CR0PG|x86.CR0WP)
	m.label("long mode is on: four levels, 48-bit addresses; the kernel runs at 0xffffffff80100000")
	direct := region{va: directLong + bootFrames + 1<<20, size: 1 << 20}
	m.touch(b.touches, kcode.at(kernelLong), kdata.at(kernelLong), direct, bootStack)
	m.kva = func(pa x86.GPA) (x86.GVA, bool) { return directLong + x86.GVA(pa), true }
	b.heap(pg, pml4, vmallocLong, fRW|fNX)

	m.label("the kernel drops the identity map of low memory: a directory entry changed, so it reloads CR3")
	pg.set(slot(&pg.f.Levels[0], pml4, 0), 8, 0)
	m.cr(engine.EvCR3, uint64(pml4))
	m.label("low addresses are not mapped any more: this read faults")
	if o := m.read(bootStack.va, 4); o.OK {
		m.fail("read at %#x after the identity map went", uint64(bootStack.va))
	}
	m.touch(b.touches, kcode.at(kernelLong), kdata.at(kernelLong), direct, bootStack.at(directLong))
}
