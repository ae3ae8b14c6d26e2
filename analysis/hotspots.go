package analysis

import (
	"fmt"
	"sort"
	"strings"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// KeyKind is what hot spots are counted by.
type KeyKind uint8

const (
	ByVA         KeyKind = iota // the guest virtual address of an access (or invlpg)
	ByPage                      // its 4 KiB page
	ByGPA                       // the 4 KiB guest physical page (a completed access's translation, pw, pr)
	ByAS                        // the address space (CR3 in force)
	ByGuestTable                // the guest page table the engine worked on (see Analyzer)
	ByPoolPage                  // the pool page allocated or freed (its index)
	ByPath                      // the outcome path
	ByLabel                     // the label in force (the workload's phase)
)

var keyKindNames = []string{"va", "page", "gpa", "as", "guest-table", "pool-page", "path", "label"}

func (k KeyKind) String() string {
	if int(k) < len(keyKindNames) {
		return keyKindNames[k]
	}
	return fmt.Sprintf("KeyKind(%d)", uint8(k))
}

// ParseKeyKind reads a --by value.
func ParseKeyKind(s string) (KeyKind, error) {
	for i, n := range keyKindNames {
		if n == s {
			return KeyKind(i), nil
		}
	}
	return 0, fmt.Errorf("unknown key %q (want %s)", s, strings.Join(keyKindNames, ", "))
}

// FormatKey prints a key of kind k.
func (k KeyKind) FormatKey(key uint64) string {
	switch k {
	case ByPath:
		if key == uint64(engine.PathNone) {
			return "(none)" // events with no path: control registers, labels, ...
		}
		return engine.Path(key).String()
	case ByPoolPage:
		return fmt.Sprintf("#%d", key)
	}
	return hex(key)
}

// Table counts per key with a cap on the number of keys: once Cap keys
// are held, events of a new key are counted in Other instead, so memory
// stays bounded on any trace and the report says how much was dropped.
type Table struct {
	Cap   int
	keys  map[uint64]*Counts
	Other Counts // events whose key came after the cap was reached
	// last is the key looked up last and its counts: runs of events on
	// one page or in one address space skip the map.
	lastKey uint64
	last    *Counts
}

// NewTable makes a table of at most cap keys (cap <= 0: no keys, all
// in Other).
func NewTable(cap int) *Table {
	return &Table{Cap: cap, keys: make(map[uint64]*Counts, min(max(cap, 0), 1024))}
}

// at returns the counts of key, or Other when the table is full.
func (t *Table) at(key uint64) *Counts {
	if t.last != nil && t.lastKey == key {
		return t.last
	}
	if c := t.keys[key]; c != nil {
		t.lastKey, t.last = key, c
		return c
	}
	if len(t.keys) >= t.Cap {
		return &t.Other
	}
	c := &Counts{}
	t.keys[key] = c
	t.lastKey, t.last = key, c
	return c
}

// Len is the number of keys held.
func (t *Table) Len() int { return len(t.keys) }

// Row is one key's counts in a report.
type Row struct {
	Key uint64
	Counts
}

// SortBy names a column hot spots are ordered by.
var SortBy = []string{"events", "accesses", "faults", "work", "allocs", "evictions", "memrefs"}

func sortValue(c *Counts, by string) uint64 {
	switch by {
	case "accesses":
		return c.Accesses
	case "faults":
		return c.Faults
	case "work":
		return c.Work()
	case "allocs":
		return c.Allocs
	case "evictions":
		return c.Evictions + c.Freed[engine.FreeEvicted]
	case "memrefs":
		return c.MemRefs
	}
	return c.Events
}

// Top returns the n rows with the largest value of column by (ties: the
// smaller key first); n <= 0 returns every row.
func (t *Table) Top(n int, by string) []Row {
	rows := make([]Row, 0, len(t.keys))
	for k, c := range t.keys {
		rows = append(rows, Row{k, *c})
	}
	sort.Slice(rows, func(i, j int) bool {
		a, b := sortValue(&rows[i].Counts, by), sortValue(&rows[j].Counts, by)
		if a != b {
			return a > b
		}
		return rows[i].Key < rows[j].Key
	})
	if n > 0 && len(rows) > n {
		rows = rows[:n]
	}
	return rows
}

// guestWalker is what the guest-table keying needs of an engine.
type guestWalker interface {
	GuestWalk(va x86.GVA, acc x86.Access) x86.Walk
}

// guestTableOf is the guest page table an outcome's engine work was
// about: for a sync or an accessed/dirty trap, the table holding the
// guest's entry for the address (found by walking the guest tables
// after the event, read-only); for an emulated page-table write, the
// page written. Other outcomes have none.
func guestTableOf(o *engine.Outcome, w guestWalker) (uint64, bool) {
	switch o.Path {
	case engine.PathMonitorWrite:
		return uint64(o.GPA) &^ (x86.PageSize - 1), o.OK
	case engine.PathSyncPage, engine.PathSyncPT, engine.PathDirtyTrap, engine.PathAccessedTrap, engine.PathPoolEvict:
		if w == nil || !o.Event.Kind.Access() {
			return 0, false
		}
		acc := x86.Access{}
		walk := w.GuestWalk(x86.GVA(o.Event.Addr), acc)
		if walk.N == 0 {
			return 0, false
		}
		last := &walk.Steps[walk.N-1]
		return uint64(last.EntryAddr) &^ (x86.PageSize - 1), true
	}
	return 0, false
}
