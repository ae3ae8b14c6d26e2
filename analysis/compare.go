package analysis

import (
	"errors"
	"fmt"
	"math"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// Side is one configuration of a comparison.
type Side struct {
	Spec   string        // as given (--a, --b)
	Config engine.Config // the trace header's with the spec over it
	Eng    *engine.Shadow
	Counts Counts // every event
	Work   Work   // the cost model's items
	win    Work
	paths  [PathSlots]uint64 // of the current window
}

// PoolFigures reads the pool's totals from the engine's statistics:
// pages allocated fresh, pages evicted, whole-pool flushes.
func (s *Side) PoolFigures() (allocs, evictions, flushes uint64) {
	st := s.Eng.Stats()
	a, _ := st.Lookup("/PGM/Pool/Cache/Misses")
	e, _ := st.Lookup("/PGM/Pool/Cache/FreeUpOne")
	f, _ := st.Lookup("/PGM/Pool/FlushAllInt")
	return a.Value, e.Value, f.Calls
}

// Stretch is a window of events [From, To) and what each side did in it.
type Stretch struct {
	From, To uint64
	Label    string // the label in force at From
	Work     [2]Work
	Paths    [2][PathSlots]uint64
	Delta    float64 // cycles of side a minus side b
}

// Mismatch is an event whose guest-visible outcome differs between the
// two sides: an engine bug, since shadow paging must be invisible.
type Mismatch struct {
	Index uint64
	Event engine.Event
	A, B  engine.Outcome
	Why   string
	// Memory: the guest memory differs at the end (Why says where); no
	// event or outcome goes with it.
	Memory bool
}

// ErrDiverged is returned by Apply when one side refused an event the
// other accepted: the two engines can no longer be compared.
var ErrDiverged = errors.New("the configurations diverged")

// Comparer replays one stream of events through two configurations in
// lockstep, checks that the guest sees the same thing from both, and
// counts each side's work and cost.
type Comparer struct {
	Sides      [2]*Side
	Model      CostModel
	Window     uint64    // events per stretch
	Keep       int       // stretches kept, those with the largest |Delta|
	Events     uint64    // events applied
	Stretches  []Stretch // by |Delta|, largest first
	Mismatches []Mismatch
	Mismatched uint64 // events that mismatched (Mismatches keeps the first maxMismatches)
	SkipMemory bool   // Finish does not compare the guest memories
	// Last is side a's outcome of the last event applied: what a live
	// workload chooses its next event from (the guest sees the same
	// from both sides).
	Last engine.Outcome

	tr      Tracker
	winFrom uint64
	winLbl  string
}

const maxMismatches = 10

// NewComparer builds both sides from the trace header's configuration
// and the two specs (see ApplySpec).
func NewComparer(base engine.Config, specA, specB string, m CostModel, window uint64, keep int) (*Comparer, error) {
	c := &Comparer{Model: m, Window: max(window, 1), Keep: keep}
	for i, spec := range []string{specA, specB} {
		cfg, err := ApplySpec(base, spec)
		if err != nil {
			return nil, fmt.Errorf("--%c: %w", 'a'+i, err)
		}
		eng, err := engine.NewShadow(cfg)
		if err != nil {
			return nil, fmt.Errorf("--%c: %w", 'a'+i, err)
		}
		c.Sides[i] = &Side{Spec: spec, Config: eng.Config(), Eng: eng}
	}
	c.tr.Eng = c.Sides[0].Eng
	return c, nil
}

// Apply applies the next event to both sides. An error of both is the
// trace's error; of one only, ErrDiverged (with a Mismatch recorded).
func (c *Comparer) Apply(ev engine.Event) error {
	var out [2]engine.Outcome
	var errs [2]error
	for i, s := range c.Sides {
		errs[i] = s.Eng.ApplyTo(&ev, &out[i])
	}
	switch {
	case errs[0] != nil && errs[1] != nil:
		return errs[0]
	case errs[0] != nil || errs[1] != nil:
		c.mismatch(ev, out, fmt.Sprintf("a: %v; b: %v", errs[0], errs[1]))
		return fmt.Errorf("event %d: %w: a: %v; b: %v", c.Events, ErrDiverged, errs[0], errs[1])
	}
	if why := guestDiff(&out[0], &out[1]); why != "" {
		c.mismatch(ev, out, why)
	}
	rec := c.tr.Next(&out[0])
	if c.Events == c.winFrom {
		c.winLbl = rec.Label
	}
	for i, s := range c.Sides {
		o := &out[i]
		s.Counts.addOutcome(o)
		shadow := 0
		if f := s.Eng.ShadowFormat(); f != nil {
			shadow = f.N
		}
		var w Work
		charge(&w, o, s.Config.Paging, s.Eng.Format().N, shadow)
		for k := range w {
			s.Work[k] += w[k]
			s.win[k] += w[k]
		}
		s.paths[pathSlot(o.Path)]++
	}
	c.Events++
	c.Last = out[0]
	if c.Events-c.winFrom == c.Window {
		c.closeWindow()
	}
	return nil
}

func (c *Comparer) mismatch(ev engine.Event, out [2]engine.Outcome, why string) {
	c.Mismatched++
	if len(c.Mismatches) < maxMismatches {
		c.Mismatches = append(c.Mismatches, Mismatch{Index: c.Events, Event: ev, A: out[0], B: out[1], Why: why})
	}
}

// guestDiff says how two outcomes of one event differ in what the guest
// sees (ok, the fault and its error code, the translation, the value
// read), or "" when they agree.
func guestDiff(a, b *engine.Outcome) string {
	switch {
	case a.OK != b.OK:
		return fmt.Sprintf("ok %v, %v", a.OK, b.OK)
	case !a.OK && (a.Fault.Kind == x86.NonCanonical) != (b.Fault.Kind == x86.NonCanonical):
		return fmt.Sprintf("fault %v, %v", a.Fault, b.Fault)
	case !a.OK && a.Fault.Code != b.Fault.Code:
		return fmt.Sprintf("error code %#x, %#x", uint64(a.Fault.Code), uint64(b.Fault.Code))
	case a.OK && a.Event.Kind.Access() && a.GPA != b.GPA:
		return fmt.Sprintf("gpa %#x, %#x", uint64(a.GPA), uint64(b.GPA))
	case a.OK && (a.Event.Kind == engine.EvRead || a.Event.Kind == engine.EvPhysRead) && a.Value != b.Value:
		return fmt.Sprintf("value %#x, %#x", a.Value, b.Value)
	}
	return ""
}

// Finish closes the last, partial window and, unless SkipMemory, compares
// the two guest memories. Call it once after the last event.
func (c *Comparer) Finish() {
	if c.Events > c.winFrom {
		c.closeWindow()
	}
	if !c.SkipMemory {
		c.checkMemory()
	}
}

// checkMemory compares the bytes of the two guests' memory, which the
// guest could read back: its page tables' accessed and dirty bits
// included, which no outcome shows until the guest reads them. The
// first difference is a mismatch.
func (c *Comparer) checkMemory() {
	ma, mb := c.Sides[0].Eng.Memory(), c.Sides[1].Eng.Memory()
	var a, b [x86.PageSize]byte
	for _, r := range ma.Ranges() {
		for off := uint64(0); off < r.Spec.Size; off += x86.PageSize {
			n := min(x86.PageSize, r.Spec.Size-off)
			gpa := r.Spec.Start + x86.GPA(off)
			ma.PeekBytes(gpa, a[:n])
			mb.PeekBytes(gpa, b[:n])
			if a == b {
				continue
			}
			for i := range n {
				if a[i] != b[i] {
					c.Mismatched++
					if len(c.Mismatches) < maxMismatches {
						c.Mismatches = append(c.Mismatches, Mismatch{Index: c.Events, Memory: true,
							Why: fmt.Sprintf("guest memory at %#x: %#x, %#x", uint64(gpa)+i, a[i], b[i])})
					}
					return
				}
			}
		}
	}
}

// closeWindow ends the current stretch and keeps it if it is among the
// Keep that differ most.
func (c *Comparer) closeWindow() {
	st := Stretch{From: c.winFrom, To: c.Events, Label: c.winLbl}
	for i, s := range c.Sides {
		st.Work[i], st.Paths[i] = s.win, s.paths
		s.win, s.paths = Work{}, [PathSlots]uint64{}
	}
	st.Delta = c.Model.Cycles(&st.Work[0]) - c.Model.Cycles(&st.Work[1])
	c.winFrom = c.Events
	if c.Keep <= 0 || st.Delta == 0 {
		return
	}
	// Insertion into a short sorted list: Keep is a handful.
	at := len(c.Stretches)
	for at > 0 && math.Abs(c.Stretches[at-1].Delta) < math.Abs(st.Delta) {
		at--
	}
	if at >= c.Keep {
		return
	}
	c.Stretches = append(c.Stretches, Stretch{})
	copy(c.Stretches[at+1:], c.Stretches[at:])
	c.Stretches[at] = st
	if len(c.Stretches) > c.Keep {
		c.Stretches = c.Stretches[:c.Keep]
	}
}
