package app

import (
	"strconv"
	"strings"

	"github.com/pgm-explorer/pgm-explorer/viz"
)

// The glossary: hovering over a word the screen shows explains it. An
// entry is found in the text under the cursor by its key (the longest
// key the text contains wins, so "PDPT" is not read as "PD").
var glossary = []struct{ key, text string }{
	// The mode bar.
	{"guest", "guest: the virtual machine's own paging mode, as its control registers set it"},
	{"shadow", "shadow: the format of the tables the processor really walks; under shadow paging the hypervisor builds them from the guest's (shadow PAE: shadow tables in PAE format)"},
	{"host", "host: the paging mode the hypervisor itself runs in"},
	{"switcher", "switcher: the hypervisor code that moves the processor between the host's and the guest's worlds; AMD64-to-PAE names the host mode and the shadow mode it switches between"},
	{"paging", "paging: how the hypervisor translates guest-physical memory: shadow tables, or nested paging (AMD NPT, Intel EPT) done by the processor"},
	{"Nested", "Nested: no shadow tables; the processor walks the guest's tables and the hypervisor's nested tables (a 2D walk)"},
	{"CR0", "CR0: control register 0; PE turns on protected mode, PG paging, WP makes read-only pages read-only for the kernel too"},
	{"CR3", "CR3: the physical address of the top page table (the root of the walk)"},
	{"CR4", "CR4: control register 4; PSE allows 4 MiB pages, PAE 8-byte entries, PGE global pages, LA57 5-level paging"},
	{"EFER", "EFER: extended feature register; LME asks for long mode, LMA says it is active, NXE enables the no-execute bit"},
	{"CPL", "CPL: current privilege level; 0 is the kernel, 3 user programs (which need the U bit on every level)"},
	{"PE", "PE: protection enable (CR0 bit 0): protected mode"},
	{"ET", "ET: extension type (CR0 bit 4), always set on modern processors"},
	{"WP", "WP: write protect (CR0 bit 16): read-only pages are read-only for the kernel too"},
	{"PG", "PG: paging (CR0 bit 31): addresses go through the page tables"},
	{"PGE", "PGE: global pages, kept in the TLB across CR3 loads"},
	{"AMD64", "AMD64: long mode (64-bit), four levels of 512 entries (+NX: with the no-execute bit)"},
	{"-to-", "the switcher's worlds: the host's paging mode, then the mode of the shadow (or nested) tables the guest runs on"},
	{"nested", "nested paging: the processor walks the guest's tables and the hypervisor's nested tables (AMD-V's NPT, Intel's EPT); no shadow tables"},
	{"PSE", "PSE: page size extension, 4 MiB pages in 32-bit paging"},
	{"PAE", "PAE: physical address extension: 8-byte entries, 512 to a table, a 4-entry PDPT on top"},
	{"LA57", "LA57: 5-level paging, a PML5 above the PML4 (57-bit addresses)"},
	{"NXE", "NXE: enables bit 63, no-execute, in every entry"},
	{"LME", "LME: long mode enable (takes effect when paging is turned on)"},
	{"LMA", "LMA: long mode active, set by the processor"},
	{"Real", "Real mode: no paging and no protection; an address is a physical address"},
	// The other bits the mode bar shows when the window is wide: they do
	// not decide how addresses are translated.
	{"MP", "MP: monitor coprocessor (CR0 bit 1), with TS for lazy FPU switching"},
	{"EM", "EM: emulate the FPU (CR0 bit 2)"},
	{"TS", "TS: task switched (CR0 bit 3): the next FPU instruction traps, for lazy FPU state switching"},
	{"NE", "NE: numeric error (CR0 bit 5): FPU errors as exceptions"},
	{"AM", "AM: alignment mask (CR0 bit 18): with RFLAGS.AC, alignment checks at CPL 3"},
	{"NW", "NW: not write-through (CR0 bit 29), a cache control"},
	{"CD", "CD: cache disable (CR0 bit 30)"},
	{"VME", "VME: virtual-8086 mode extensions (CR4 bit 0)"},
	{"PVI", "PVI: protected-mode virtual interrupts (CR4 bit 1)"},
	{"TSD", "TSD: time stamp disable (CR4 bit 2): rdtsc only at CPL 0"},
	{"DE", "DE: debugging extensions (CR4 bit 3)"},
	{"MCE", "MCE: machine-check exceptions (CR4 bit 6)"},
	{"PCE", "PCE: performance counters readable at any CPL (CR4 bit 8)"},
	{"OSFXSR", "OSFXSR: the OS saves SSE state with fxsave (CR4 bit 9)"},
	{"OSXMMEXCPT", "OSXMMEXCPT: SSE exceptions as #XM (CR4 bit 10)"},
	{"UMIP", "UMIP: user-mode instruction prevention (CR4 bit 11): sgdt, sidt and friends only at CPL 0"},
	{"VMXE", "VMXE: VMX (Intel VT-x) enabled (CR4 bit 13)"},
	{"SMXE", "SMXE: safer mode extensions (CR4 bit 14)"},
	{"FSGSBASE", "FSGSBASE: rdfsbase and friends allowed (CR4 bit 16)"},
	{"OSXSAVE", "OSXSAVE: the OS saves extended state with xsave (CR4 bit 18)"},
	{"SCE", "SCE: syscall and sysret enabled (EFER bit 0)"},
	{"SVME", "SVME: AMD-V (SVM) enabled (EFER bit 12)"},
	{"LMSLE", "LMSLE: long-mode segment limits (EFER bit 13, AMD)"},
	{"FFXSR", "FFXSR: fast fxsave and fxrstor (EFER bit 14, AMD)"},
	{"TCE", "TCE: translation cache extension (EFER bit 15, AMD): invlpg drops less of the paging-structure caches"},
	// Today's MMU: the rights the entries alone do not decide, and PCIDs.
	{"PCIDE", "PCIDE: process-context identifiers (CR4 bit 17): the low 12 bits of CR3 name the address space, so the TLB keeps each one's translations apart"},
	{"PCID", "PCID: process-context identifier, CR3 bits 11:0 with CR4.PCIDE; a CR3 load with bit 63 set keeps that PCID's TLB entries, so a switch back finds them (tlb-hit)"},
	{"SMEP", "SMEP: supervisor-mode execution prevention (CR4 bit 20): the kernel may not fetch instructions from a user page (#PF with error code 0x11)"},
	{"SMAP", "SMAP: supervisor-mode access prevention (CR4 bit 21): the kernel may not read or write a user page unless RFLAGS.AC is 1 (stac sets it, clac clears it)"},
	{"AC", "AC: RFLAGS.AC, SMAP's override: while it is 1 (after stac) the kernel may read and write user pages; 0 (after clac) it may not"},
	{"PKE", "PKE: protection keys (CR4 bit 22): each user page carries a key (bits 62:59 of its entry) whose rights PKRU restricts"},
	{"PKRU", "PKRU: the protection-key rights register, two bits per key: AD (bit 2k) forbids every data access with key k, WD (bit 2k+1) forbids writes; set from user mode with wrpkru, no TLB flush"},
	{"protection key", "protection key: a 4-bit tag in a user page's entry; PKRU can take away reading or writing for all pages of a key at once; a refusal sets PK (bit 5, 0x20) in the error code"},
	// Tables and walks.
	{"PML5", "PML5: the top table of 5-level paging"},
	{"PML4", "PML4: the top table of 4-level long-mode paging, 512 entries of 512 GiB each"},
	{"PDPT", "PDPT: page-directory-pointer table; in PAE only 4 entries, loaded into registers when CR3 is written (PDPTE registers)"},
	{"PD", "PD: page directory; an entry points to a page table, or maps a big page itself (PS)"},
	{"PT", "PT: page table; each entry maps one 4 KiB page"},
	{"offset", "offset: the low bits of the address, the byte within the page"},
	{"sign", "sign: the bits above the translated ones, which must copy the top one (a canonical address)"},
	{"_FOR_", "a shadow pool page's kind: the shadow table's format FOR the guest table's (e.g. PAE_PT_FOR_32BIT_PT shadows a 32-bit page table with a PAE one)"},
	{"2D walk", "2D walk: under nested paging every guest-physical address of the guest walk is itself walked through the nested tables"},
	// Legends.
	{"points to a table", "an entry that points to the next table down"},
	{"dirty tracking", "read-only: dirty tracking: the guest's page is writable but not yet dirty, so the shadow maps it read-only; the first write traps and the hypervisor sets D"},
	{"accessed emulation", "not present: accessed emulation: the guest's entry has A clear, so the shadow leaves it out; the first access traps and the hypervisor sets A"},
	{"not synced yet", "not synced yet: the guest has the entry, the shadow has not copied it; the first access syncs it"},
	{"stale", "stale: the guest changed its entry; the shadow copy is out of date until the guest flushes its TLB"},
	{"hypervisor mapping", "hypervisor mapping: a range of the guest's linear space the hypervisor uses for itself"},
	{"reserved bits", "reserved bits set: bits that must be zero are not, so the processor raises a page fault"},
	{"zero page", "zero page: guest memory never written, backed by one shared page of zeros"},
	{"holds a shadowed guest table", "a guest page holding a page table the pool shadows: writes to it are monitored"},
	{"physical handler", "physical handler: a range whose accesses the hypervisor intercepts (a device, a monitored page)"},
	{"intermediate", "intermediate context: the tables the switcher runs on while neither the host's nor the guest's are in use"},
	// Paths of Recent events.
	{"tlb-hit", "tlb-hit: the translation was in the TLB, no walk at all"},
	{"shadow-hit", "shadow-hit: the shadow tables had the entry; the processor walked them without the hypervisor"},
	{"sync-page", "sync-page: a fault the hypervisor took to copy one guest entry into the shadow table; the guest never sees it"},
	{"sync-pt", "sync-pt: the hypervisor built the shadow of a whole guest page table"},
	{"accessed-trap", "accessed-trap: the first use of an entry whose A bit was clear; the hypervisor set A and mapped the page"},
	{"dirty-trap", "dirty-trap: the first write to a clean page; the hypervisor set D in the guest's entry and made the shadow writable"},
	{"pt-write", "pt-write: the guest wrote to one of its own page tables, which are write-monitored; the hypervisor updated its shadow"},
	{"nested-walk", "nested-walk: a TLB miss under nested paging, translated by the 2D walk"},
	{"nested-fault", "nested-fault: the nested tables did not map the guest-physical page yet; the hypervisor mapped it and resumed"},
	{"guest-fault", "guest-fault: a page fault the guest's own tables cause; it is delivered to the guest"},
	{"smep-fault", "smep-fault: a guest page fault SMEP caused (a supervisor fetch from a user page); the shadow tables cannot say it, so the engine checks the guest's rights and delivers it"},
	{"smap-fault", "smap-fault: a guest page fault SMAP caused (a supervisor data access to a user page with AC=0); delivered to the guest"},
	{"pkey-fault", "pkey-fault: a guest page fault a protection key caused (PKRU forbade the access); the error code has PK (0x20)"},
	{"invpcid", "invpcid: drop TLB entries by PCID: type 0 one address, 1 one PCID, 2 everything, 3 everything but global pages"},
	{"/PGM/PCID", "/PGM/PCID counters: CR3 loads that kept the TLB (bit 63) or flushed it, root switches without a resync, INVPCIDs by type"},
	{"/PGM/Rights", "/PGM/Rights counters: ac and pkru events, which change rights without flushing anything"},
	{"GuestPF/", "guest faults by the rule that refused them: SMEP, SMAP, a protection key (PKey)"},
	{"#PF", "#PF: page fault, with an error code: bit 0 present, 1 write, 2 user, 3 reserved bit, 4 instruction fetch, 5 protection key"},
	{"pool", "shadow page pool: the host pages the hypervisor keeps shadow tables in; full, it frees the least recently used"},
	{"/PGM", "/PGM counters: the page manager's statistics, named as in the original hypervisor; hover over one for what it counts"},
	{"TLB", "TLB: translation lookaside buffer, the processor's cache of translations; invlpg drops one entry"},
	{"invlpg", "invlpg: drop the TLB's translation of one page, after the guest changed its entry"},
}

// The protection keys an entry shows (" K1" to " K15"), each its own
// key so that a word such as " Kernel" is not read as one.
func init() {
	for k := 1; k < 16; k++ {
		glossary = append(glossary, struct{ key, text string }{" K" + strconv.Itoa(k),
			"K" + strconv.Itoa(k) + ": the page's protection key (bits 62:59 of an IA-32e leaf entry); PKRU says what each key allows (K0 is not shown)"})
	}
}

// glossaryFor is the explanation of the longest glossary key s holds.
func glossaryFor(s string) string {
	best, text := 0, ""
	for _, g := range glossary {
		if len(g.key) > best && strings.Contains(s, g.key) {
			best, text = len(g.key), g.text
		}
	}
	return text
}

// textAt is the text of the frame's panels under (x, y), if any.
func (a *App) textAt(x, y int) string {
	l := &a.list
	for i := len(l.Prims) - 1; i >= 0; i-- {
		p := &l.Prims[i]
		if p.Op == viz.OpText && p.Rect().Contains(x, y) {
			return string(l.TextOf(p))
		}
	}
	return ""
}
