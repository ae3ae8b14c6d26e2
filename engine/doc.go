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
// and events give the same outcomes, byte for byte.
package engine
