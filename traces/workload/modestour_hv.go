package workload

import (
	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// The second half of the tour: what the hypervisor does under the guest.
// The guest keeps doing ordinary things (reads, writes, editing an entry
// and invlpg); the labels say what the engine does for each. The
// explorer replays the nested-paging chapter with nested paging (see
// gui/app's tour table): the events are the same, the engine differs.

// tourFar is a guest-physical page far from the others, which only the
// nested fault's step touches.
const tourFar = 0x1800000

// hypervisor runs the chapters on the TLB, shadow paging, nested
// paging and the hypervisor's own mappings, in 4-level long mode.
func (t *modesTour) hypervisor() {
	m := t.m
	if t.la57 {
		m.label("Back to 4-level long mode for the rest of the tour: the guest turns paging off, clears CR4.LA57, points " +
			"CR3 at its PML4 again and turns paging on.")
		m.cr(engine.EvCR0, x86.CR0PE|x86.CR0ET)
		m.cr(engine.EvCR4, x86.CR4PAE)
		m.cr(engine.EvCR3, uint64(t.pml4))
		m.cr(engine.EvCR0, x86.CR0PE|x86.CR0ET|x86.CR0PG|x86.CR0WP)
	}
	pg := &pager{m: m, f: m.format(x86.ModeAMD64NX, x86.CR4PAE), alloc: t.table}

	m.label("The TLB (translation lookaside buffer) is the processor's cache of translations. The first access to a page " +
		"walks the tables; the next ones to the same page are answered by the TLB without a walk: tlb-hit in Recent events.")
	m.must(m.read(tourVA+0x20, 4))
	m.must(m.read(tourVA+0x28, 4))
	m.label("The guest points its entry for 0x400000 at another physical page, 0x203000. The TLB may still hold the old " +
		"translation, so the guest runs invlpg 0x400000: the entry is dropped and the next access walks the tables again " +
		"and reaches the new page. Then the guest puts the old entry back, with invlpg again.")
	pte := pg.mapPage(t.pml4, tourVA, pg.leaf(), tourData+0x3000, fRW|fUS, true)
	m.invlpg(tourVA)
	m.must(m.read(tourVA+0x20, 4))
	pg.set(pte, 8, uint64(tourData)|fP|fRW|fUS|fA|fD)
	m.invlpg(tourVA)
	m.must(m.read(tourVA+0x10, 4))

	m.label("Why shadow tables: the guest's tables hold guest-physical addresses, but its memory lives elsewhere in the " +
		"host, and the processor cannot translate twice. So the hypervisor builds shadow tables, in the host's format, " +
		"whose entries point to host-physical pages; CR3 really points to them. Look at the two rows of each level in the walk.")
	m.must(m.read(tourVA+0x1000, 4))
	m.label("The shadow pool: shadow tables are pages of a pool the hypervisor owns, one for each guest table in use. " +
		"When the pool is full, the least recently used shadow tables are freed and rebuilt when needed again.")
	m.must(m.read(0xffff800000400000, 4))
	m.label("A sync on a fault: shadow tables are filled lazily. The guest maps page 0x404000; its first access finds no " +
		"shadow entry, so the processor faults to the hypervisor, which copies (syncs) the guest's entry and resumes. The " +
		"guest never sees this fault: sync-page in Recent events.")
	pg.mapPage(t.pml4, tourVA+0x4000, pg.leaf(), tourData+0x4000, fRW|fUS|fA, true)
	m.must(m.read(tourVA+0x4000, 4))
	m.label("Dirty-bit tracking by write protection: page 0x404000 is writable but not yet Dirty, so its shadow entry is " +
		"read-only. The first write traps (dirty-trap): the hypervisor sets D in the guest's entry, as the processor would, " +
		"and makes the shadow entry writable. Later writes run at full speed.")
	m.must(m.write(tourVA+0x4000, 4, m.value(4)))
	m.must(m.write(tourVA+0x4008, 4, m.value(4)))
	m.label("Write monitoring: the pages holding the guest's page tables are write-protected in the shadow tables. When the " +
		"guest edits an entry (here it maps 0x405000), the write traps (pt-write) so that the hypervisor can update or drop " +
		"the shadow copy before the guest uses it.")
	pg.mapPage(t.pml4, tourVA+0x5000, pg.leaf(), tourFar, fRW|fUS|fA|fD, true)

	m.label("Nested paging (AMD's NPT, Intel's EPT): no shadow tables. The processor walks the guest's own tables, and " +
		"translates every guest-physical address it meets through a second set of tables, the hypervisor's nested tables. " +
		"The explorer now replays the same guest with nested paging.")
	m.must(m.read(tourVA+0x10, 4))
	m.label("The 2D walk: each of the 4 guest entries sits at a guest-physical address, which takes a nested walk of 4 " +
		"references before the entry itself can be read, and so does the final page: (4 + 1) x (4 + 1) - 1 = 24 memory " +
		"references for one TLB miss, where native paging needs 4.")
	m.invlpg(tourVA)
	m.must(m.read(tourVA+0x18, 4))
	m.label("A nested fault: guest-physical page 0x1800000 is mapped by the guest at 0x405000, but no access has reached " +
		"it yet, so the nested tables do " +
		"not map it yet. The access exits to the hypervisor, which maps the page in the nested tables and resumes: " +
		"nested-fault in Recent events. The guest sees nothing.")
	m.must(m.read(tourVA+0x5000, 4))

	m.label("Hypervisor mappings: a hypervisor like this one can keep pages of its own (the switcher, which moves the " +
		"processor between host and guest) mapped in the guest's address space, at a place the guest does not use. View 5 " +
		"shows the guest's linear space in 4 MiB slots; this guest has none registered (the sample mapping-conflict.txt " +
		"has them, and shows what happens when the guest wants their place).")
	m.must(m.read(tourVA+0x10, 4))
	m.label("The intermediate context: during the switch neither the host's nor the guest's tables can be used, so the " +
		"switcher runs on tables of its own, which map its code both at its own host address and at the hypervisor's " +
		"address (0xa0000000 here). View 5 draws them under the shadow tables.")
	m.must(m.read(tourVA+0x1010, 4))
}
