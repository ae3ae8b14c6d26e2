package engine

import (
	"fmt"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// Path is how an engine resolved an event: the vocabulary of outcomes,
// the UI's highlights and trace analysis. The numbers are stable.
type Path uint8

const (
	PathNone         Path = 0
	PathWalk         Path = 1  // the reference CPU walked the guest tables
	PathIdentity     Path = 2  // no paging: linear = physical
	PathTLBHit       Path = 3  // the software TLB had the translation
	PathShadowHit    Path = 4  // the shadow tables had it
	PathSyncPage     Path = 5  // a #PF synced one or more shadow PTEs
	PathSyncPT       Path = 6  // a #PF created a shadow page table
	PathDirtyTrap    Path = 7  // a write hit a dirty-tracking read-only shadow PTE
	PathAccessedTrap Path = 8  // an access hit an accessed-emulation not-present PTE
	PathGuestFault   Path = 9  // a real guest #PF, reflected
	PathGP           Path = 10 // a #GP (non-canonical address)
	PathHandler      Path = 11 // an access handler was called
	PathPoolEvict    Path = 12 // resolving needed a pool eviction
	PathNestedWalk   Path = 13 // nested paging: 2D walk
	PathPhys         Path = 14 // a physical access (pw/pr)
	PathMonitorWrite Path = 15 // a write to a monitored guest page table, emulated
	PathWPEmulation  Path = 16 // a CR0.WP=0 supervisor write to a read-only page, emulated
	PathNestedFault  Path = 17 // nested paging: a nested entry was missing and got synced
	PathSMEPFault    Path = 18 // a guest #PF refused by SMEP, reflected
	PathSMAPFault    Path = 19 // a guest #PF refused by SMAP (AC=0), reflected
	PathKeyFault     Path = 20 // a guest #PF refused by a protection key (PK set), reflected
	pathMax          Path = 21
)

var pathNames = [pathMax]string{
	"", "walk", "identity", "tlb-hit", "shadow-hit", "sync-page", "sync-pt", "dirty-trap",
	"accessed-trap", "guest-fault", "gp", "handler", "pool-evict", "nested-walk", "phys",
	"pt-write", "wp-emulation", "nested-fault", "smep-fault", "smap-fault", "pkey-fault",
}

func (p Path) String() string {
	if p < pathMax {
		return pathNames[p]
	}
	return fmt.Sprintf("Path(%d)", uint8(p))
}

// Notes are side effects of an event worth showing, beside its path.
type Notes uint32

const (
	NoteModeChange  Notes = 1 << iota // the guest paging mode changed
	NoteCR3Load                       // CR3 was (re)loaded
	NoteTLBFlush                      // the TLB was flushed (non-global)
	NoteTLBFlushAll                   // the TLB was flushed including global entries
	NotePoolEvict                     // a pool page was evicted
	NotePoolFlush                     // the whole pool was flushed
	NoteLabel                         // a label event
)

// Outcome is what happened when an engine applied one event.
type Outcome struct {
	Index   uint64 // event index, from 0
	Event   Event
	OK      bool      // the access completed (always true for non-access events)
	GPA     x86.GPA   // translation of the first byte (accesses), or the physical address
	Value   uint64    // data read (r, pr)
	Fault   x86.Fault // why OK is false
	Path    Path
	Notes   Notes
	MemRefs uint16 // memory references of the translation (nested: 2D walk)
	Handler string // the physical handler the event called, if any
	// AS is the address space the event ran in: CR3 as it was before
	// the event, PCID bits included, so that the same address in two
	// processes stays two addresses for trace analysis.
	AS uint64
}

// Reported reports whether the outcome appears in `--outcomes=jsonl`:
// guest reads, writes, fetches and physical reads.
func (o *Outcome) Reported() bool {
	return o.Event.Kind.Access() || o.Event.Kind == EvPhysRead
}
