package workload

import (
	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// The last chapter of the tour: what today's processors add to the
// 2009 MMU and today's kernels turn on (Linux 6.x does all of it):
// PCIDs, SMEP, SMAP with RFLAGS.AC, and protection keys. The guest is in
// 4-level long mode on its PML4, where the hypervisor chapters left it;
// page 0x400000 is a user page (U on every level, executable), and
// 0xffff800000400000 maps the same physical page for the kernel. Each
// step ends on the access it is about, since the explorer's walk shows
// the last access with the registers of the moment; so the chapter ends
// at CPL 3 with PKRU still forbidding the write.

// tourKey is the protection key the chapter gives page 0x400000.
const tourKey = 3

func (t *modesTour) modern() {
	m := t.m
	pg := &pager{m: m, f: m.format(x86.ModeAMD64NX, x86.CR4PAE), alloc: t.table}
	cr4 := x86.CR4PAE

	m.label("Today's MMU, PCIDs: a TLB without them must drop its entries (all but the global ones) on every CR3 " +
		"load, since they belong to the address space that is leaving. With CR4.PCIDE the low 12 bits of CR3 name the address space (its PCID) " +
		"and every TLB entry is tagged with it. The guest turns PCIDE on and loads its PML4 as PCID 1; the mode bar " +
		"shows PCID 1.")
	cr4 |= x86.CR4PCIDE
	m.cr(engine.EvCR4, cr4)
	m.cr(engine.EvCR3, uint64(t.pml4)|1)
	m.must(m.read(tourVA+0x10, 4))
	m.must(m.read(tourVA+0x1010, 4))

	m.label("CR3 bit 63: a second process (its PML4 a copy of the first's, as after a fork) runs as PCID 2. The guest " +
		"switches to it and back twice with bit 63 of CR3 set, which tells the processor to keep the TLB. The first round " +
		"builds PCID 2's shadow tables; in the second, the read right after each switch is a tlb-hit, with no walk at all. " +
		"A kernel switching among a few processes this way keeps its TLB hit ratio, and the hypervisor (/PGM/PCID in the " +
		"statistics) its shadow tables.")
	// The second address space, a copy of the PML4.
	pml4b := t.table()
	for i := x86.GPA(0); i < page; i += 8 {
		if v, ok := m.ent[t.pml4+i]; ok {
			pg.set(pml4b+i, 8, v)
		}
	}
	for range 2 {
		m.cr(engine.EvCR3, uint64(pml4b)|2|x86.CR3NoFlush)
		m.must(m.read(tourVA+0x10, 4))
		m.cr(engine.EvCR3, uint64(t.pml4)|1|x86.CR3NoFlush)
		m.must(m.read(tourVA+0x10, 4))
		m.must(m.read(tourVA+0x1010, 4))
	}

	m.label("SMEP (supervisor-mode execution prevention, CR4 bit 20): the kernel may no longer fetch instructions " +
		"from a user page, so an attacker cannot make it jump into code a program wrote. The kernel's own code at " +
		"0xffff800000400000 runs; page 0x400000 is a user page (U on every level), and the kernel's fetch there " +
		"faults with error code 0x11 = Present (1) + Instruction fetch (0x10).")
	cr4 |= x86.CR4SMEP
	m.cr(engine.EvCR4, cr4)
	m.must(m.exec(0xffff800000400000))
	t.expect(m.exec(tourVA), false, x86.PFPresent|x86.PFFetch)

	m.label("SMAP (supervisor-mode access prevention, CR4 bit 21): the kernel may not read or write user pages " +
		"either, unless it says it means to. Reading 0x400010 in supervisor mode now faults with error code 1 = " +
		"Present: the page is there, the kernel may not touch it.")
	cr4 |= x86.CR4SMAP
	m.cr(engine.EvCR4, cr4)
	t.expect(m.read(tourVA+0x10, 4), false, x86.PFPresent)

	m.label("stac and clac: where the kernel copies from or to a program (copy_from_user in Linux) it sets " +
		"RFLAGS.AC with stac, and SMAP lets it through; clac clears AC right after. The mode bar shows AC 1, then 0. " +
		"Changing AC flushes nothing: only the rights differ.")
	m.setAC(1)
	m.must(m.read(tourVA+0x10, 4))
	m.setAC(0)
	t.expect(m.read(tourVA+0x10, 4), false, x86.PFPresent)

	m.label("Protection keys (CR4.PKE): bits 62:59 of a user page's entry hold its key, 0 to 15, and the register "+
		"PKRU takes rights away per key: bit 2k forbids every data access with key k, bit 2k+1 writing. The guest gives "+
		"page 0x400000 key %d (K%d in the walk) and a program sets PKRU to 0x%x (write disable for key %d) with wrpkru, "+
		"with no system call and no TLB flush.", tourKey, tourKey, 1<<(2*tourKey+1), tourKey)
	cr4 |= x86.CR4PKE
	m.cr(engine.EvCR4, cr4)
	pte, _ := pg.entry(t.pml4, tourVA, pg.leaf(), false, true)
	pg.set(pte, 8, m.ent[pte]|tourKey<<x86.KeyShift)
	m.invlpg(tourVA)
	m.setCPL(3)
	m.emit(engine.Event{Kind: engine.EvPKRU, Value: 1 << (2*tourKey + 1)})
	m.must(m.read(tourVA+0x10, 4))

	m.label("Now the program's write to page 0x400000 faults although the entry is writable: error code 0x27 = " +
		"Present (1) + Write (2) + User (4) + PK (0x20), the bit that tells the kernel a key refused it. Clearing the " +
		"key's write-disable bit in PKRU would let the write through; the ordinary rights never changed.")
	t.expect(m.write(tourVA+0x10, 4, m.value(4)), false, x86.PFPresent|x86.PFWrite|x86.PFUser|x86.PFPK)
}
