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
	// Labels are the labels in event order (the first maxMarks), so
	// that the panel can name the one in force at any position.
	Labels []TimeLabel

	// Statistics at the end of each bucket, when SampleStats is called
	// after each Add: they tell which spans of the replay moved a
	// counter, for the counter the user picked in the statistics panel.
	statNames map[string]int // statistic -> its column in ends
	statCols  []string       // the columns' names
	ends      [][]uint64     // per ended bucket; a later statistic's column is missing (0) in earlier rows
	endsN     int            // buckets whose end is sampled
}

// TimeLabel is a label and the event it is at.
type TimeLabel struct {
	Event uint64
	Text  string
}

// LabelAt is the latest label at or before event n, if any. Past the
// first maxMarks labels only the latest is known: between the last one
// kept and the latest, the answer is unknown and LabelAt says none.
func (t *Timeline) LabelAt(n uint64) (TimeLabel, bool) {
	if t.LastLabel != "" && n >= t.LastLabelAt {
		return TimeLabel{t.LastLabelAt, t.LastLabel}, true
	}
	lo, hi := 0, len(t.Labels)
	for lo < hi {
		m := (lo + hi) / 2
		if t.Labels[m].Event <= n {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == 0 || lo == len(t.Labels) && len(t.Labels) == maxMarks {
		return TimeLabel{}, false
	}
	return t.Labels[lo-1], true
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
		switch {
		case GuestFault(o.Path):
			b.Faults++
		case o.Path == engine.PathTLBHit, o.Path == engine.PathShadowHit, o.Path == engine.PathNestedWalk:
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
		if len(t.Labels) < maxMarks {
			t.Labels = append(t.Labels, TimeLabel{t.Events, o.Event.Text})
		}
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
	// A merged bucket ends where its second half ended.
	half := t.endsN / 2
	for i := 0; i < half; i++ {
		t.ends[i], t.ends[2*i+1] = t.ends[2*i+1], t.ends[i]
	}
	t.endsN = half
}

// SampleStats records e's statistics when the event just added ended a
// bucket. Call it after each Add with the engine that produced the
// outcome. It costs a comparison per event and, per bucket, a load per
// statistic (family members, such as the per-index sync counters, are
// left out): a few thousand passes over a whole replay, however long,
// as buckets double.
func (t *Timeline) SampleStats(e *engine.Shadow) {
	if t.Events == 0 || t.Events&(t.Per-1) != 0 {
		return
	}
	i := int(t.Events/t.Per) - 1
	if i != t.endsN || i >= len(t.Buckets) {
		return // not sampled from the start: rates would lie
	}
	if t.ends == nil {
		t.ends = make([][]uint64, len(t.Buckets))
	}
	reg := e.Stats()
	row := reg.AppendValues(t.ends[i][:0])
	if len(row) > len(t.statCols) {
		// Registration only appends: name the new columns.
		t.statCols = reg.AppendNames(t.statCols[:0])
		if t.statNames == nil {
			t.statNames = make(map[string]int, len(t.statCols))
		}
		for k, n := range t.statCols {
			t.statNames[n] = k
		}
	}
	t.ends[i] = row
	t.endsN++
}

// StatDeltas appends to dst, for each ended bucket, how much the named
// statistic changed in it; ok is false when the statistic was never
// sampled (or is a family member, which is not).
func (t *Timeline) StatDeltas(name string, dst []uint64) ([]uint64, bool) {
	k, ok := t.statNames[name]
	if !ok {
		return dst, false
	}
	var prev uint64
	for i := 0; i < t.endsN; i++ {
		var v uint64
		if row := t.ends[i]; k < len(row) {
			v = row[k]
		}
		dst = append(dst, v-prev)
		prev = v
	}
	return dst, true
}
