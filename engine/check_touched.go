package engine

import (
	"errors"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// The incremental checker. Check compares every shadow entry with the
// guest tables, which after every event of a guest with tens of thousands
// of mapped pages costs hours. CheckTouched checks instead what the
// events since the last check changed or relied on:
//
//   - every shadow entry the engine wrote (setEntry is the only writer),
//     on every path from the current root that reaches it, and the TLB
//     entry of each leaf's address;
//   - every table the pool allocated, took from its cache or freed: its
//     bookkeeping (present count, hash, monitor chain, user records,
//     tracking of its PTEs), and for cache hits every entry, since a
//     cached table is linked unchanged;
//   - the shadow path and TLB entry of each address an access or invlpg
//     used, which is where a stale entry the engine forgot shows;
//   - the shadow entries mirroring the guest bytes a write changed, in
//     every table shadowing that guest page (a write the monitor missed).
//
// What it cannot see, a wrong entry nothing touched since, the periodic
// full check finds. Events that change global state (mode changes, pool
// flushes, handlers, mappings, snapshots, machine events) and logs that
// grow past maxTouched make the next CheckTouched a full check.

// maxTouched bounds the log: past it, a full check is cheaper.
const maxTouched = 1 << 14

type touchedEntry struct {
	pg uint16
	i  int
}

// touchLog is what the events since the last check touched; nil in
// Shadow.touch while incremental checking is off, so that recording costs
// one nil test.
type touchLog struct {
	entries []touchedEntry
	pages   []uint16 // allocated or freed
	cached  []uint16 // taken from the cache
	vas     []x86.GVA
	writes  []x86.GPARange
	full    bool
}

func (t *touchLog) reset() {
	*t = touchLog{entries: t.entries[:0], pages: t.pages[:0], cached: t.cached[:0], vas: t.vas[:0], writes: t.writes[:0]}
}

func (t *touchLog) entry(pg uint16, i int) {
	if t.full {
		return
	}
	if len(t.entries) < maxTouched {
		t.entries = append(t.entries, touchedEntry{pg, i})
	} else {
		t.full = true
	}
}

func (t *touchLog) page(pg uint16, cached bool) {
	switch {
	case t.full:
	case len(t.pages)+len(t.cached) >= maxTouched:
		t.full = true
	case cached:
		t.cached = append(t.cached, pg)
	default:
		t.pages = append(t.pages, pg)
	}
}

// event records what an applied event used (its outcome o).
func (t *touchLog) event(ev Event, o *Outcome) {
	if t.full {
		return // the next check checks everything: nothing to remember
	}
	switch k := ev.Kind; {
	case k.Access():
		size := uint64(max(ev.Size, 1))
		t.vas = append(t.vas, x86.GVA(ev.Addr), x86.GVA(ev.Addr+size-1))
		if k == EvWrite && o.OK {
			t.writes = append(t.writes, x86.GPARange{Start: o.GPA, End: o.GPA + x86.GPA(size)})
		}
	case k == EvInvlpg:
		t.vas = append(t.vas, x86.GVA(ev.Addr))
	case k == EvPhysWrite:
		t.writes = append(t.writes, x86.GPARange{Start: x86.GPA(ev.Addr), End: x86.GPA(ev.Addr + uint64(ev.Size))})
	case k == EvPhysRead || k == EvLabel || k == EvCPL || k == EvAC || k == EvPKRU:
	case k == EvCR0 || k == EvCR3 || k == EvCR4 || k == EvEFER:
		// Mode changes and pool flushes mark the log full themselves; a
		// CR3 load's resync goes through setEntry and poolAlloc.
	default:
		t.full = true
	}
	if len(t.vas) > maxTouched || len(t.writes) > maxTouched {
		t.full = true
	}
}

// CheckTouched verifies what the events since the last check touched (see
// above), or everything, like Check, on its first call and after events
// that changed global state. Check every so often still: CheckTouched
// trusts what nothing touched.
func (s *Shadow) CheckTouched() error {
	t := s.touch
	if t == nil || t.full {
		if t == nil {
			s.touch = new(touchLog)
		}
		return s.Check()
	}
	c := checker{s: s}
	c.touched(t)
	t.reset()
	return errors.Join(c.errs...)
}

func (c *checker) touched(t *touchLog) {
	s := c.s
	p := &s.pool
	for _, idx := range t.pages {
		c.pageBooks(&p.pages[idx])
	}
	for _, idx := range t.cached {
		pg := &p.pages[idx]
		c.pageBooks(pg)
		if pg.inUse {
			c.allEntries(pg)
		}
	}
	seen := map[uint16]bool{}
	for _, te := range t.entries {
		pg := &p.pages[te.pg]
		if !seen[te.pg] {
			seen[te.pg] = true
			c.pageBooks(pg)
		}
		if pg.inUse && te.i < len(pg.ents) {
			c.entryEverywhere(pg, te.i)
		}
	}
	if s.root == nilIdx {
		return
	}
	for _, va := range t.vas {
		c.path(s.format.Linear(va))
	}
	for _, w := range t.writes {
		c.mirrorsOf(w)
	}
}

// DefaultCheckEvery is how many events apart `--check` runs a full check
// by default; in between it checks what each event touched.
const DefaultCheckEvery = 10000

// CheckAfter is the schedule of `--check`: after the n-th event applied
// (counted from 1), what it touched, and everything when n is a multiple
// of every (every 1 or less: after each event). full says which it was.
// Check once more at the end: what nothing touched since the last full
// check is checked only then.
func (s *Shadow) CheckAfter(n uint64, every int) (full bool, err error) {
	if every <= 1 || n%uint64(every) == 0 {
		return true, s.Check()
	}
	return false, s.CheckTouched()
}
