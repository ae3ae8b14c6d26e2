package app

import "strings"

// The guided tour: the modes-tour labels say what changed; these tips
// say where on the screen to see it. Each is keyed by words of the
// label it goes with, so that a reworded label loses its tip rather than
// getting the wrong one.
var tourTips = []struct{ key, tip string }{
	{"with five it is", "five steps in the walk inspector"},
	{"maps a 2 MiB page", "the walk stops at the page directory: a 2 MiB page"},
	{"Real mode", "the mode bar at the top: no paging yet, so both page-table panels are empty"},
	{"read-only memory (ROM)", "the memory map: the ROM range near 1 MiB, and the last read in Recent events"},
	{"Protected mode without paging", "CR0 in the mode bar: PE is on, PG still off"},
	{"builds its first page tables", "nothing is translated yet: the tables are only bytes in guest memory"},
	{"maps the memory holding its page tables", "the memory map: the pages that will hold tables"},
	{"splits into 10 + 10 + 12 bits", "the walk inspector splits the address into its index fields"},
	{"paging is on", "the page-table panel: the guest's tables above, the shadow copy the CPU really uses below"},
	{"records its use of entries", "the A and D flags light up in the walk inspector"},
	{"raises a page fault", "the walk stops at the missing entry; the event turns red in Recent events"},
	{"handles the fault", "a new green page appears in the page table; the retried access succeeds"},
	{"read-only by clearing its Writable bit", "the W flag of the entry in the walk inspector"},
	{"Writing to the read-only page now faults", "the error code under the walk, and the red event"},
	{"User mode (CPL 3)", "CPL in the mode bar, and the U flags along the walk"},
	{"Big pages", "the walk ends one level early, at a page directory entry with S (big page)"},
	{"PAE paging", "the mode bar: PAE; entries are now 8 bytes, 512 to a table"},
	{"To change the format of the tables", "CR4.PAE and CR3 in the mode bar"},
	{"takes three steps", "the walk inspector: PDPT, page directory, page table"},
	{"no-execute bit", "the X flag in the walk: reading works, fetching faults"},
	{"has no NX bit", "the fetch succeeds: no X flag along the walk"},
	{"Long mode (64-bit)", "a fourth level, the PML4, on top of the hierarchy"},
	{"upper half of the address space", "a second path through the PML4 for the kernel's address"},
	{"To enter long mode", "EFER in the mode bar: LME, then LMA"},
	{"Two virtual addresses, one physical page", "both walks end at the same guest-physical page"},
	{"canonical", "#GP instead of #PF: the walk does not even start"},
	{"maps a 1 GiB page", "the walk ends at the PDPT"},
	{"clears NX", "the invlpg event, then a fetch that succeeds"},
	{"5-level paging", "a PML5 above the PML4"},
	{"LA57 can only change", "CR4.LA57 in the mode bar"},
	{"End of the tour", "press o to try the other scenarios, or change the host mode and replay"},
}

// tourTip is where to look at for a tour label, or "".
func tourTip(label string) string {
	for _, t := range tourTips {
		if strings.Contains(label, t.key) {
			return t.tip
		}
	}
	return ""
}
