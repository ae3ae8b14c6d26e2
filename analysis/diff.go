package analysis

import (
	"sort"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// Change kinds of a diff line.
const (
	Added   = '+'
	Removed = '-'
	Changed = '~'
)

// EntryChange is a page-table entry added, removed or changed between
// two snapshots. Old is zero when added, New when removed.
type EntryChange struct {
	Op       byte
	Key      EntryKey
	Level    x86.LevelKind
	Old, New x86.Entry
	// Shadow entries only: the pool kind and the guest page mapped.
	Kind           engine.PoolKind
	OldGPA, NewGPA x86.GPA
}

// PoolChange is a pool page taken into use, freed, or reused for
// another table (Changed) between the snapshots.
type PoolChange struct {
	Op       byte
	Index    uint16
	Old, New PoolEntry
}

// RegChange is a register whose value differs.
type RegChange struct {
	Name string `json:"name"`
	From string `json:"from"`
	To   string `json:"to"`
}

// StatDelta is a statistic whose value changed.
type StatDelta struct {
	Name     string
	From, To uint64
}

// ControlEvent is a control-register write between the two moments.
type ControlEvent struct {
	Index      uint64 `json:"i"`
	Op         string `json:"op"`
	Value      uint64 `json:"value"`
	ModeChange bool   `json:"mode_change"`
}

// DiffReport is what changed between two snapshots of one replay.
type DiffReport struct {
	From, To  uint64 // events applied at each moment
	Regs      []RegChange
	Controls  []ControlEvent // recorded by the caller while replaying between the two
	MoreCtl   uint64         // control writes past the ones kept
	Spaces    []uint64       // address spaces walked at To (and From)
	Truncated []uint64
	Guest     []EntryChange // by address space (in Spaces order), address, depth
	Shadow    []EntryChange
	Paging    engine.Paging
	Pool      []PoolChange
	Stats     []StatDelta
}

// Diff compares two snapshots of the same replay, a taken before b.
func Diff(a, b *Snapshot) *DiffReport {
	d := &DiffReport{From: a.At, To: b.At, Paging: b.Paging}
	reg := func(name string, x, y uint64) {
		if x != y {
			d.Regs = append(d.Regs, RegChange{name, hex(x), hex(y)})
		}
	}
	reg("cr0", a.Regs.CR0, b.Regs.CR0)
	reg("cr3", a.Regs.CR3, b.Regs.CR3)
	reg("cr4", a.Regs.CR4, b.Regs.CR4)
	reg("efer", a.Regs.EFER, b.Regs.EFER)
	reg("cpl", uint64(a.Regs.CPL), uint64(b.Regs.CPL))
	if a.Mode != b.Mode {
		d.Regs = append(d.Regs, RegChange{"mode", a.Mode.String(), b.Mode.String()})
	}
	d.Spaces = unionSpaces(a.Spaces, b.Spaces)
	d.Truncated = unionSpaces(a.Truncated, b.Truncated)
	for k, o := range a.Guest {
		if n, ok := b.Guest[k]; !ok {
			d.Guest = append(d.Guest, EntryChange{Op: Removed, Key: k, Level: o.Level, Old: o.Entry})
		} else if n.Entry != o.Entry {
			d.Guest = append(d.Guest, EntryChange{Op: Changed, Key: k, Level: n.Level, Old: o.Entry, New: n.Entry})
		}
	}
	for k, n := range b.Guest {
		if _, ok := a.Guest[k]; !ok {
			d.Guest = append(d.Guest, EntryChange{Op: Added, Key: k, Level: n.Level, New: n.Entry})
		}
	}
	for k, o := range a.Shadow {
		if n, ok := b.Shadow[k]; !ok {
			d.Shadow = append(d.Shadow, EntryChange{Op: Removed, Key: k, Level: o.Level, Old: o.Entry, Kind: o.Kind, OldGPA: o.GPA})
		} else if n.Entry != o.Entry || n.GPA != o.GPA {
			d.Shadow = append(d.Shadow, EntryChange{Op: Changed, Key: k, Level: n.Level, Old: o.Entry, New: n.Entry,
				Kind: n.Kind, OldGPA: o.GPA, NewGPA: n.GPA})
		}
	}
	for k, n := range b.Shadow {
		if _, ok := a.Shadow[k]; !ok {
			d.Shadow = append(d.Shadow, EntryChange{Op: Added, Key: k, Level: n.Level, New: n.Entry, Kind: n.Kind, NewGPA: n.GPA})
		}
	}
	order := map[uint64]int{}
	for i, as := range d.Spaces {
		order[as] = i
	}
	sortChanges(d.Guest, order)
	sortChanges(d.Shadow, order)
	for i, o := range a.Pool {
		if n, ok := b.Pool[i]; !ok {
			d.Pool = append(d.Pool, PoolChange{Op: Removed, Index: i, Old: o})
		} else if n != o {
			d.Pool = append(d.Pool, PoolChange{Op: Changed, Index: i, Old: o, New: n})
		}
	}
	for i, n := range b.Pool {
		if _, ok := a.Pool[i]; !ok {
			d.Pool = append(d.Pool, PoolChange{Op: Added, Index: i, New: n})
		}
	}
	sort.Slice(d.Pool, func(i, j int) bool { return d.Pool[i].Index < d.Pool[j].Index })
	// Statistics only ever register more, so a's names are a prefix of b's.
	for i, name := range b.StatNames {
		var from uint64
		if i < len(a.Stats) {
			from = a.Stats[i]
		}
		if i < len(b.Stats) && b.Stats[i] != from {
			d.Stats = append(d.Stats, StatDelta{name, from, b.Stats[i]})
		}
	}
	return d
}

func sortChanges(cs []EntryChange, order map[uint64]int) {
	sort.Slice(cs, func(i, j int) bool {
		a, b := cs[i].Key, cs[j].Key
		if a.AS != b.AS {
			return order[a.AS] < order[b.AS]
		}
		if a.VA != b.VA {
			return a.VA < b.VA
		}
		return a.Depth < b.Depth
	})
}

func unionSpaces(a, b []uint64) []uint64 {
	seen := map[uint64]bool{}
	var out []uint64
	for _, l := range [][]uint64{a, b} {
		for _, as := range l {
			if !seen[as] {
				seen[as] = true
				out = append(out, as)
			}
		}
	}
	return out
}

// Count returns how many changes of each kind cs has.
func Count(cs []EntryChange) (added, removed, changed int) {
	for _, c := range cs {
		switch c.Op {
		case Added:
			added++
		case Removed:
			removed++
		default:
			changed++
		}
	}
	return
}
