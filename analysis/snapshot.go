package analysis

import (
	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// Snapshot is what `explorer diff` compares: the engine's visible state
// at one moment, read through the inspection API (nothing is changed).
type Snapshot struct {
	At     uint64 // events applied
	Regs   x86.Regs
	Mode   x86.Mode
	Paging engine.Paging
	// Guest holds the present entries of every address space walked,
	// Shadow the shadow (or nested) hierarchy's, Pool the pool pages in
	// use by index.
	Guest  map[EntryKey]GuestEntry
	Shadow map[EntryKey]ShadowEntry
	Pool   map[uint16]PoolEntry
	// Spaces are the address spaces walked; Truncated those whose walk
	// ran out of budget (their entries are incomplete).
	Spaces    []uint64
	Truncated []uint64
	StatNames []string
	Stats     []uint64
}

// EntryKey names a page-table entry: the address space (CR3; 0 for
// shadow entries), its depth from the root and the first address it
// maps. Two snapshots' entries with equal keys are the same entry.
type EntryKey struct {
	AS    uint64
	Depth int
	VA    x86.GVA
}

// GuestEntry is a guest entry's value and level.
type GuestEntry struct {
	Entry x86.Entry
	Level x86.LevelKind
}

// ShadowEntry is a shadow entry's value with what it mirrors.
type ShadowEntry struct {
	Entry x86.Entry
	Level x86.LevelKind
	Kind  engine.PoolKind
	GPA   x86.GPA // leaf: the guest page it maps
}

// PoolEntry is a pool page in use.
type PoolEntry struct {
	Kind        engine.PoolKind
	Key         x86.GPA
	AllocatedAt uint64 // 1 + the event index that allocated it
}

// Space tracking: the address spaces an analysis has seen, so that a
// snapshot can walk them all rather than only the one loaded.

// Spaces collects the CR3 values loaded, each with the paging mode in
// force when it was last loaded; at most Cap are kept (later ones are
// counted in Dropped).
type Spaces struct {
	Cap     int
	Only    map[uint64]bool // when not nil, the only CR3 values kept
	mode    map[uint64]x86.Mode
	order   []uint64
	Dropped uint64
}

// NewSpaces tracks at most cap address spaces.
func NewSpaces(cap int) *Spaces { return &Spaces{Cap: cap, mode: map[uint64]x86.Mode{}} }

// Note records the CR3 in force after an event applied to eng.
func (s *Spaces) Note(eng engine.Engine) {
	cr3, m := eng.Regs().CR3, eng.Format().Mode.WithoutNX()
	if s.Only != nil && !s.Only[cr3] {
		return
	}
	if old, ok := s.mode[cr3]; ok {
		if old != m {
			s.mode[cr3] = m
		}
		return
	}
	if len(s.order) >= s.Cap {
		s.Dropped++
		return
	}
	s.mode[cr3] = m
	s.order = append(s.order, cr3)
}

// InMode lists the address spaces last loaded in paging mode m, in the
// order first seen: those whose tables mean something in m.
func (s *Spaces) InMode(m x86.Mode) []uint64 {
	m = m.WithoutNX() // NX changes what a bit means, not where the tables are
	var out []uint64
	for _, cr3 := range s.order {
		if s.mode[cr3] == m {
			out = append(out, cr3)
		}
	}
	return out
}

// TakeSnapshot reads eng's state: the guest tables of every address
// space in spaces (at most budget entries in all), the shadow hierarchy,
// the pool and the statistics.
func TakeSnapshot(eng *engine.Shadow, spaces []uint64, budget int) *Snapshot {
	s := &Snapshot{At: eng.Events(), Regs: eng.Regs(), Mode: eng.Format().Mode, Paging: eng.Config().Paging,
		Guest: map[EntryKey]GuestEntry{}, Shadow: map[EntryKey]ShadowEntry{}, Pool: map[uint16]PoolEntry{}}
	s.WalkGuests(eng, spaces, budget)
	eng.VisitShadow(func(v engine.EntryView) bool {
		s.Shadow[EntryKey{0, v.Depth, v.VA}] = ShadowEntry{Entry: v.Entry, Level: v.Level, Kind: v.Kind, GPA: v.GPA}
		return true
	})
	eng.VisitPool(func(v engine.PoolPageView) bool {
		if v.Kind != engine.KindFree {
			s.Pool[v.Index] = PoolEntry{Kind: v.Kind, Key: v.Key, AllocatedAt: v.AllocatedAt}
		}
		return true
	})
	s.StatNames = eng.Stats().AppendNames(nil)
	s.Stats = eng.Stats().AppendValues(nil)
	return s
}

// GuestVisitor is what walking guest tables needs of an engine (the
// shadow engine, or a reference CPU loaded with a saved state).
type GuestVisitor interface {
	VisitGuestAt(cr3 uint64, budget int, fn func(engine.EntryView) bool)
	Format() *x86.Format
}

// WalkGuests (re)reads the guest entries of spaces from g, replacing
// what s held: at most budget entries over all of them, so that memory
// stays bounded however many address spaces a trace has. The spaces
// whose walk the budget cut short (or left out) are in Truncated.
func (s *Snapshot) WalkGuests(g GuestVisitor, spaces []uint64, budget int) {
	s.Guest, s.Spaces, s.Truncated = map[EntryKey]GuestEntry{}, nil, nil
	if !g.Format().Mode.Paging() {
		return
	}
	left := budget
	for _, as := range spaces {
		s.Spaces = append(s.Spaces, as)
		if left <= 0 {
			s.Truncated = append(s.Truncated, as)
			continue
		}
		n := 0
		g.VisitGuestAt(as, left, func(v engine.EntryView) bool {
			n++
			s.Guest[EntryKey{as, v.Depth, v.VA}] = GuestEntry{v.Entry, v.Level}
			return true
		})
		if left -= n; left <= 0 {
			s.Truncated = append(s.Truncated, as)
		}
	}
}
