// Package engine is the PGM engine: it applies guest events (control
// register writes, memory accesses, invlpg, physical accesses) to a model
// machine and reports an Outcome for each.
//
// Two engines share the guest-visible machine (registers and physical
// memory) and differ in how they translate:
//
//   - Reference walks the guest page tables on every access, with no TLB
//     and no shadow state. It is the oracle: for a well-behaved guest,
//     everything the guest can observe must be the same under every other
//     engine configuration.
//   - the shadow engine (shadow paging or nested paging) translates through
//     host-format tables built lazily in a page pool.
//
// Engines are single-threaded and deterministic: the same configuration
// and events give the same outcomes, byte for byte. Apply returns each
// outcome; ApplyTo writes it over one the caller keeps, which is what
// replay loops use (an outcome is about 150 bytes, and copying it per
// event cost more than a TLB hit's translation).
//
// The package depends on the standard library alone. Outcomes and saved
// states (State, LoadState) are plain values; package traces encodes
// them (the JSON lines of outcomes, the msgpack of saved states).
// Inspection (Visit*, GuestWalk, ShadowWalk, Pool) and the checkers
// (Check for everything, CheckTouched for what the events since the last
// check touched) change no state and no statistic: they peek at guest
// memory (phys.Memory.Peeker).
//
// The modern rights (SMEP, SMAP with RFLAGS.AC, protection keys with
// PKRU) are not folded into the shadow tables, which cannot express
// them: the shadow keeps the guest's U/S bits exact and carries each
// IA-32e leaf's key, and every TLB or shadow hit is checked against a
// small table of what the current CPL, CR0.WP, CR4, AC and PKRU refuse,
// so that the kernel's frequent ac and pkru changes cost no flush and
// no resync; a refused hit traps and the fault is reflected (rights.go).
//
// Global translations outlive CR3 loads in the software TLB, as on
// hardware. A guest that keeps the paths to its global pages accessed
// (and the pages accessed and dirty) in every address space, as an OS
// does, sees the outcomes of a CPU without a TLB. One that leaves them
// clean in some space gets no A bit there from an access the TLB
// answers, like on hardware.
//
// PCIDs tag the software TLB; shadow roots stay keyed by the guest
// tables they mirror (write monitoring keeps them exact for every PCID),
// and a CR3 load with bit 63 switches roots without SyncCR3 (pcid.go).
package engine
