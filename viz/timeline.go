package viz

import "github.com/pgm-explorer/pgm-explorer/engine"

// Timeline summarises a replay in constant memory: event counts in a
// fixed number of buckets (two neighbours merge when the replay outgrows
// them, so a bucket always spans a power of two of events) and the
// marks worth seeing: labels, mode changes, CR3 loads and pool flushes.
type Timeline struct {
	Buckets []TimeBucket
	Per     uint64 // events per bucket (a power of two)
	Events  uint64 // events added
	Marks   []TimeMark

	LastLabel   string // text of the latest label
	LastLabelAt uint64 // its event index
}

// TimeBucket counts what happened in a span of events.
type TimeBucket struct {
	Accesses uint32 // guest accesses (r, w, x)
	Faults   uint32 // faults delivered to the guest (#PF, #GP)
	Traps    uint32 // accesses the engine had to work for (syncs, traps, handlers)
}

// MarkKind is what a timeline mark records.
type MarkKind uint8

const (
	MarkLabel MarkKind = iota
	MarkModeChange
	MarkCR3
	MarkPoolFlush
)

// TimeMark is one notable event.
type TimeMark struct {
	Kind  MarkKind
	Event uint64
}

// maxMarks bounds the marks kept; past it only labels and mode changes
// are added (CR3 loads and flushes can come by the million).
const maxMarks = 4096

// NewTimeline makes a timeline of n buckets (at least 16).
func NewTimeline(n int) *Timeline {
	return &Timeline{Buckets: make([]TimeBucket, max(n, 16)), Per: 1}
}

// Add records the outcome of the next event.
func (t *Timeline) Add(o *engine.Outcome) {
	i := t.Events / t.Per
	if i >= uint64(len(t.Buckets)) {
		t.halve()
		i = t.Events / t.Per
	}
	b := &t.Buckets[i]
	if o.Event.Kind.Access() {
		b.Accesses++
		switch o.Path {
		case engine.PathGuestFault, engine.PathGP:
			b.Faults++
		case engine.PathTLBHit, engine.PathShadowHit, engine.PathNestedWalk:
		default:
			b.Traps++
		}
	}
	mark := func(k MarkKind) {
		if len(t.Marks) < maxMarks || k <= MarkModeChange && len(t.Marks) < 4*maxMarks {
			t.Marks = append(t.Marks, TimeMark{k, t.Events})
		}
	}
	switch {
	case o.Event.Kind == engine.EvLabel:
		mark(MarkLabel)
		t.LastLabel, t.LastLabelAt = o.Event.Text, t.Events
	case o.Notes&engine.NoteModeChange != 0:
		mark(MarkModeChange)
	case o.Notes&engine.NotePoolFlush != 0:
		mark(MarkPoolFlush)
	case o.Notes&engine.NoteCR3Load != 0:
		mark(MarkCR3)
	}
	t.Events++
}

// halve merges neighbouring buckets: each now spans twice the events.
func (t *Timeline) halve() {
	n := len(t.Buckets)
	for i := 0; i < n/2; i++ {
		a, b := t.Buckets[2*i], t.Buckets[2*i+1]
		t.Buckets[i] = TimeBucket{a.Accesses + b.Accesses, a.Faults + b.Faults, a.Traps + b.Traps}
	}
	clear(t.Buckets[n/2:])
	t.Per *= 2
}
