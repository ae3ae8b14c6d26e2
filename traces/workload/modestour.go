package workload

import (
	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

func init() {
	register(&spec{
		Info: Info{
			Name:    "modes-tour",
			Summary: "a short guided tour of every x86 paging mode, the TLB, shadow and nested paging, and today's MMU (PCIDs, SMEP, SMAP, protection keys), with an explanation at each step for someone who has just met page tables",
			Params: []Param{
				boolParam("la57", true, "end with 5-level paging"),
			},
		},
		build: newModesTour,
	})
}

// Physical layout of the tour: its page tables in the 64 KiB at 1 MiB
// (identity-mapped in every mode, so the guest can edit them with
// ordinary writes), its data pages at 2 MiB, a big page's target at
// 16 MiB.
const (
	tourTables    = 0x100000
	tourTablesEnd = 0x110000
	tourData      = 0x200000
	tourBig       = 0x1000000
	tourVA        = 0x400000 // the virtual page the tour follows
	tourLow       = 0x7c00   // a byte of low memory written in real mode
)

type modesTour struct {
	m         *machine
	la57      bool
	nextTable x86.GPA
	value     uint64 // written at tourVA+0x10
	pml4      x86.GPA
	low       uint64 // written at tourLow in real mode
}

func newModesTour(seed uint64, a args) (Workload, error) {
	t := &modesTour{m: newMachine(seed), la57: a.Bool("la57"), nextTable: tourTables}
	h := newHeader("modes-tour", seed, a, pcRanges(32<<20))
	return start("modes-tour", h, t.m, t.run), nil
}

func (t *modesTour) table() x86.GPA {
	p := t.nextTable
	if p >= tourTablesEnd {
		panic("workload modes-tour: out of table pages")
	}
	t.nextTable += page
	return p
}

// identity maps the table area and the low page holding tourLow at
// their own addresses, supervisor only.
func (t *modesTour) identity(pg *pager, root x86.GPA) {
	pg.mapPage(root, x86.GVA(tourLow&^0xfff), pg.leaf(), tourLow&^0xfff, fRW, false)
	for pa := x86.GPA(tourTables); pa < tourTablesEnd; pa += page {
		pg.mapPage(root, x86.GVA(pa), pg.leaf(), pa, fRW, false)
	}
}

// expect checks a guest access's outcome against what the tour explains.
func (t *modesTour) expect(o engine.Outcome, ok bool, code x86.ErrorCode) engine.Outcome {
	switch {
	case o.OK != ok:
		t.m.fail("%s %#x: ok %v, the tour expects %v", o.Event.Op(), o.Event.Addr, o.OK, ok)
	case !ok && o.Fault.Kind != x86.NonCanonical && o.Fault.Code != code:
		t.m.fail("%s %#x: error code %#x, the tour expects %#x", o.Event.Op(), o.Event.Addr, uint32(o.Fault.Code), uint32(code))
	}
	return o
}

func (t *modesTour) run() {
	t.real()
	t.paging32()
	t.pae()
	t.long()
	if t.la57 {
		t.fiveLevel()
	}
	t.hypervisor()
	t.modern()
	t.m.label("End of the tour. The same physical bytes were reached in real mode, in protected mode, and through 32-bit, PAE, " +
		"long-mode and 5-level page tables: paging changes how an address is translated, not what memory holds. Under the " +
		"guest, the hypervisor made it work with shadow tables it kept in step, or with nested tables.")
}

func (t *modesTour) real() {
	m := t.m
	m.label("Real mode: the processor has just been switched on. There is no paging: the address a program uses is the physical " +
		"address, so address 0x7c00 is byte 0x7c00 of RAM. The first instruction is fetched at 0xffff0, near the top of the BIOS ROM.")
	m.must(m.exec(resetVec))
	t.low = m.value(4)
	m.must(m.write(tourLow, 4, t.low))
	m.must(m.read(tourLow, 4))
	m.label("The BIOS lives in read-only memory (ROM) at 0xf0000. Reading it works; a write to ROM is ignored, so reading it " +
		"again still gives the old value.")
	m.must(m.read(biosBase, 4))
	m.must(m.write(biosBase, 4, m.value(4)))
	m.must(m.read(biosBase, 4))

	m.cr(engine.EvCR0, x86.CR0PE|x86.CR0ET)
	m.label("Protected mode without paging: setting bit 0 of CR0 (PE) turns on 32-bit protected mode, but addresses are still " +
		"physical. Paging has a switch of its own, bit 31 of CR0 (PG).")
	m.must(m.read(tourLow, 4))
	m.must(m.write(tourData+0x10, 4, m.value(4)))
}

func (t *modesTour) paging32() {
	m := t.m
	m.label("The guest builds its first page tables. In 32-bit paging, CR3 holds the physical address of a page directory: " +
		"1024 entries of 4 bytes. Each present entry points to a page table, whose 1024 entries each map one 4 KiB page.")
	pg := &pager{m: m, f: m.format(x86.Mode32Bit, x86.CR4PSE), alloc: t.table}
	pd := t.table()
	m.label("First the guest maps the memory holding its page tables (from 1 MiB) and page 0x7000 at their own " +
		"addresses, so that it can still reach them once paging is on.")
	t.identity(pg, pd)
	m.label("Virtual address 0x400000 splits into 10 + 10 + 12 bits: page directory entry 1, page table entry 0, offset 0. " +
		"The guest makes that entry point to physical page 0x200000, with the User bit so that programs may use it.")
	pte := pg.mapPage(pd, tourVA, pg.leaf(), tourData, fRW|fUS, true)
	m.cr(engine.EvCR3, uint64(pd))
	m.cr(engine.EvCR0, x86.CR0PE|x86.CR0ET|x86.CR0PG|x86.CR0WP)
	m.label("CR3 points to the page directory and CR0.PG is set: paging is on. Virtual 0x400010 now goes through both " +
		"tables and lands at physical 0x200010.")
	t.value = m.value(4)
	m.must(m.write(tourVA+0x10, 4, t.value))
	m.must(m.read(tourVA+0x10, 4))
	m.label("The processor records its use of entries: Accessed (bit 5) when it uses an entry, Dirty (bit 6) in the page " +
		"table entry when it writes the page. The guest reads its own page table entry to see them: its low byte is 0x67 = " +
		"Present (1) + Writable (2) + User (4) + Accessed (0x20) + Dirty (0x40).")
	m.must(m.read(x86.GVA(pte), 4))

	m.label("Virtual 0x401000 has no entry yet (Present = 0), so reading it raises a page fault. Error code 0 means: page " +
		"not present, a read, in supervisor mode.")
	t.expect(m.read(tourVA+0x1000, 4), false, 0)
	m.label("The operating system handles the fault as it would any missing page: it writes a page table entry for a free " +
		"physical page (0x201000), then runs the access again, which now works.")
	pg.mapPage(pd, tourVA+0x1000, pg.leaf(), tourData+0x1000, fRW|fUS, true)
	m.must(m.read(tourVA+0x1000, 4))

	m.label("The guest makes page 0x400000 read-only by clearing its Writable bit (bit 1). The old entry was present, so " +
		"the processor may still hold the old translation in its TLB (its cache of translations): the guest invalidates it " +
		"with invlpg.")
	pg.mapPage(pd, tourVA, pg.leaf(), tourData, fUS, true)
	m.invlpg(tourVA)
	m.label("Writing to the read-only page now faults (CR0.WP is set, so the rule holds in supervisor mode too): error " +
		"code 3 = Present (1) + Write (2): the page is there, the write is not allowed.")
	t.expect(m.write(tourVA+0x10, 4, m.value(4)), false, x86.PFPresent|x86.PFWrite)

	m.label("User mode (CPL 3) may only use pages whose entries all have the User bit. Page 0x400000 has it; the page " +
		"tables themselves do not, so reading one from user mode faults with error code 5 = Present (1) + User (4).")
	m.setCPL(3)
	m.must(m.read(tourVA+0x10, 4))
	t.expect(m.read(tourTables, 4), false, x86.PFPresent|x86.PFUser)
	m.setCPL(0)

	m.label("Big pages: with CR4.PSE set, a page directory entry with the PS bit (bit 7) maps a whole 4 MiB page itself, " +
		"with no page table. Entry 2 maps virtual 0x800000 to physical 0x1000000: 0x812344 becomes 0x1012344.")
	m.cr(engine.EvCR4, x86.CR4PSE)
	pg.mapPage(pd, 0x800000, 0, tourBig, fRW, false)
	m.must(m.write(0x812344, 4, m.value(4)))
	m.must(m.read(0x812344, 4))
}

func (t *modesTour) pae() {
	m := t.m
	m.label("PAE paging: entries grow to 8 bytes, so a 4 KiB table holds 512 of them and each level takes 9 bits of the " +
		"address. A small table of 4 entries, the page-directory-pointer table (PDPT), sits on top: 2 + 9 + 9 + 12 = 32 " +
		"bits. The wider entries can point above 4 GiB of physical memory.")
	pg := &pager{m: m, f: m.format(x86.ModePAE, x86.CR4PAE), alloc: t.table}
	pdpt := t.table()
	t.identity(pg, pdpt)
	pg.mapPage(pdpt, tourVA, pg.leaf(), tourData, fRW|fUS, true)
	pg.mapPage(pdpt, tourVA+0x1000, pg.leaf(), tourData+0x1000, fRW|fUS, true)
	m.label("To change the format of the tables, the guest turns paging off, sets CR4.PAE, points CR3 at the PDPT and " +
		"turns paging on again.")
	m.cr(engine.EvCR0, x86.CR0PE|x86.CR0ET)
	m.cr(engine.EvCR4, x86.CR4PAE)
	m.cr(engine.EvCR3, uint64(pdpt))
	m.cr(engine.EvCR0, x86.CR0PE|x86.CR0ET|x86.CR0PG|x86.CR0WP)
	m.label("Virtual 0x400010 now takes three steps: PDPT entry 0, page directory entry 2, page table entry 0. The value " +
		"written in 32-bit mode is still there: only the way to reach it changed.")
	if o := m.must(m.read(tourVA+0x10, 4)); o.Value != t.value {
		m.fail("read %#x, wrote %#x", o.Value, t.value)
	}
	m.label("In PAE paging a page directory entry with PS maps a 2 MiB page: entry 4 maps virtual 0x800000 to " +
		"physical 0x1000000 again.")
	pg.mapPage(pdpt, 0x800000, 1, tourBig, fRW, false)
	m.must(m.read(0x812344, 4))

	m.label("EFER.NXE turns on the no-execute bit, bit 63 of every entry. A page marked NX holds data only: reading it " +
		"works, fetching an instruction from it faults: error code 0x11 = Present (1) + Instruction fetch (0x10).")
	m.cr(engine.EvEFER, x86.EFERNXE)
	pg.mapPage(pdpt, tourVA+0x2000, pg.leaf(), tourData+0x2000, fRW|fNX, false)
	m.must(m.read(tourVA+0x2000, 4))
	t.expect(m.exec(tourVA+0x2000), false, x86.PFPresent|x86.PFFetch)
	m.label("Page 0x400000 has no NX bit: the processor may fetch instructions from it.")
	m.must(m.exec(tourVA))
}

func (t *modesTour) long() {
	m := t.m
	m.label("Long mode (64-bit) uses four levels of 512 entries: PML4, PDPT, page directory, page table: 9 + 9 + 9 + 9 + " +
		"12 = 48 bits of address. The entries have the PAE format, so the guest hangs its PAE page directory under a new " +
		"PML4 and PDPT.")
	pg := &pager{m: m, f: m.format(x86.ModeAMD64NX, x86.CR4PAE), alloc: t.table}
	pml4 := t.table()
	t.pml4 = pml4
	paePD := m.ent[x86.GPA(m.regs.CR3&0xffffffe0)] & 0xfffff000
	pdpt, _ := pg.entry(pml4, 0, 1, true, true)
	pg.set(pdpt, 8, paePD|dirFlags(&pg.f.Levels[1], true))
	m.label("Kernels live in the upper half of the address space. The guest also maps virtual 0xffff800000400000 to the " +
		"same physical page 0x200000, through tables of its own.")
	pg.mapPage(pml4, 0xffff800000400000, pg.leaf(), tourData, fRW, false)
	m.label("To enter long mode the guest turns paging off, sets EFER.LME, points CR3 at the PML4 and turns paging on; " +
		"the processor then sets EFER.LMA: long mode is active.")
	m.cr(engine.EvCR0, x86.CR0PE|x86.CR0ET)
	m.cr(engine.EvEFER, x86.EFERLME|x86.EFERNXE)
	m.cr(engine.EvCR3, uint64(pml4))
	m.cr(engine.EvCR0, x86.CR0PE|x86.CR0ET|x86.CR0PG|x86.CR0WP)
	m.must(m.read(tourVA+0x10, 4))
	m.label("Two virtual addresses, one physical page: 0xffff800000400010 reads the same bytes as 0x400010.")
	if o := m.must(m.read(0xffff800000400010, 4)); o.Value != t.value {
		m.fail("read %#x, wrote %#x", o.Value, t.value)
	}
	m.label("Addresses are 64-bit numbers, but only 48 bits are translated: bits 63 to 47 must all be equal (a canonical " +
		"address). 0x0000800000000000 is not canonical: the processor does not even look at the tables and raises a " +
		"general-protection fault instead of a page fault.")
	t.expect(m.read(0x800000000000, 8), false, 0)

	m.label("A PDPT entry with PS maps a 1 GiB page: one entry instead of 262144 page table entries. Entry 1 maps virtual " +
		"0x40000000 to physical 0, marked no-execute. Virtual 0x40007c00 reads the bytes written at 0x7c00 in real " +
		"mode; fetching an instruction there faults.")
	pte := pg.mapPage(pml4, 0x40000000, 1, 0, fRW|fNX, false)
	if o := m.must(m.read(0x40000000+tourLow, 4)); o.Value != t.low {
		m.fail("read %#x, wrote %#x", o.Value, t.low)
	}
	t.expect(m.exec(0x40000000+tourLow), false, x86.PFPresent|x86.PFFetch)
	m.label("The guest clears NX in that entry. The old entry was present, so it invalidates the page with invlpg; then " +
		"the fetch works.")
	pg.set(pte, 8, m.ent[pte]&^fNX)
	m.invlpg(0x40000000)
	m.must(m.exec(0x40000000 + tourLow))
}

func (t *modesTour) fiveLevel() {
	m := t.m
	m.label("5-level paging (CR4.LA57) puts a fifth table, the PML5, on top: 57-bit addresses. The guest makes PML5 " +
		"entries 0 and 1 both point to its PML4.")
	pg := &pager{m: m, f: m.format(x86.ModeLA57NX, x86.CR4PAE|x86.CR4LA57), alloc: t.table}
	pml5 := t.table()
	pml4 := uint64(m.regs.CR3) & 0xfffff000
	for i := x86.GPA(0); i < 2; i++ {
		pg.set(pml5+8*i, 8, pml4|dirFlags(&pg.f.Levels[0], true))
	}
	m.label("LA57 can only change while long mode is off: the guest turns paging off, sets CR4.LA57, points CR3 at the " +
		"PML5 and turns paging on.")
	m.cr(engine.EvCR0, x86.CR0PE|x86.CR0ET)
	m.cr(engine.EvCR4, x86.CR4PAE|x86.CR4LA57)
	m.cr(engine.EvCR3, uint64(pml5))
	m.cr(engine.EvCR0, x86.CR0PE|x86.CR0ET|x86.CR0PG|x86.CR0WP)
	m.must(m.read(tourVA+0x10, 4))
	m.label("0x0001000000400010 was not canonical with four levels; with five it is, and goes through PML5 entry 1 to " +
		"the same PML4, page tables and physical page as 0x400010.")
	if o := m.must(m.read(0x0001000000400010, 4)); o.Value != t.value {
		m.fail("read %#x, wrote %#x", o.Value, t.value)
	}
}
