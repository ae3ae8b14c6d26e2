package analysis

import (
	"sort"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// PathSlots is the number of outcome paths counted (engine.Path values
// 0 up to it; later paths share the last slot).
const PathSlots = 24

// ErrGP is the error-code slot of a #GP (non-canonical address), beside
// the #PF error codes 0x0..0xff.
const ErrGP = 0x100

// ErrCount is how many faults had one error code (ErrGP for #GP).
type ErrCount struct {
	Code uint16
	N    uint64
}

// Counts is what happened under one key (or in total).
type Counts struct {
	Events    uint64            // matching events counted here
	Accesses  uint64            // of which r, w, x, pr, pw
	Faults    uint64            // of which accesses that faulted (#PF or #GP)
	Paths     [PathSlots]uint64 // events by outcome path
	Evictions uint64            // events during which a pool page was evicted
	Flushes   uint64            // events that flushed the whole pool
	MemRefs   uint64            // memory references of translations (nested: the 2D walk)
	Allocs    uint64            // pool pages allocated (pool-page, guest-table and totals only)
	Freed     [4]uint64         // pool pages freed, by engine.FreeCause
	Errs      []ErrCount        // faults by error code, in the order first seen
}

// addOutcome counts o.
func (c *Counts) addOutcome(o *engine.Outcome) {
	c.Events++
	k := o.Event.Kind
	if k.Access() || k == engine.EvPhysRead || k == engine.EvPhysWrite {
		c.Accesses++
		if !o.OK {
			c.Faults++
			code := uint16(o.Fault.Code)
			if o.Fault.Kind == x86.NonCanonical {
				code = ErrGP
			}
			c.addErr(code, 1)
		}
	}
	c.Paths[pathSlot(o.Path)]++
	if o.Notes&engine.NotePoolEvict != 0 {
		c.Evictions++
	}
	if o.Notes&engine.NotePoolFlush != 0 {
		c.Flushes++
	}
	c.MemRefs += uint64(o.MemRefs)
}

func pathSlot(p engine.Path) int { return min(int(p), PathSlots-1) }

func (c *Counts) addErr(code uint16, n uint64) {
	for i := range c.Errs {
		if c.Errs[i].Code == code {
			c.Errs[i].N += n
			return
		}
	}
	c.Errs = append(c.Errs, ErrCount{code, n})
}

// merge adds d into c.
func (c *Counts) merge(d *Counts) {
	c.Events += d.Events
	c.Accesses += d.Accesses
	c.Faults += d.Faults
	for i := range c.Paths {
		c.Paths[i] += d.Paths[i]
	}
	c.Evictions += d.Evictions
	c.Flushes += d.Flushes
	c.MemRefs += d.MemRefs
	c.Allocs += d.Allocs
	for i := range c.Freed {
		c.Freed[i] += d.Freed[i]
	}
	for _, e := range d.Errs {
		c.addErr(e.Code, e.N)
	}
}

// Path is the count of one outcome path.
func (c *Counts) Path(p engine.Path) uint64 { return c.Paths[pathSlot(p)] }

// Work is the engine work counted here: events the engine resolved with
// more than a TLB or shadow hit (syncs, traps, emulations, nested
// faults), the figure hot spots sort by with --sort work.
func (c *Counts) Work() uint64 {
	var n uint64
	for _, p := range workPaths {
		n += c.Path(p)
	}
	return n
}

// workPaths are the outcome paths that cost the hypervisor work.
var workPaths = []engine.Path{engine.PathSyncPage, engine.PathSyncPT, engine.PathDirtyTrap, engine.PathAccessedTrap,
	engine.PathMonitorWrite, engine.PathWPEmulation, engine.PathHandler, engine.PathPoolEvict, engine.PathNestedFault}

// SortedErrs is Errs, most frequent first (ties: lower code first).
func (c *Counts) SortedErrs() []ErrCount {
	e := append([]ErrCount(nil), c.Errs...)
	sort.Slice(e, func(i, j int) bool {
		if e[i].N != e[j].N {
			return e[i].N > e[j].N
		}
		return e[i].Code < e[j].Code
	})
	return e
}

// ErrName prints an error-code slot as outcomes do: 0x7, or gp.
func ErrName(code uint16) string {
	if code == ErrGP {
		return "gp"
	}
	return hex(uint64(code))
}
