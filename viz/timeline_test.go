package viz

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
	"github.com/pgm-explorer/pgm-explorer/internal/testkit"
)

// replaySample applies a sample trace event by event, calling fn after
// each with the engine and the outcome.
func replaySample(t *testing.T, name string, fn func(e *engine.Shadow, o *engine.Outcome)) {
	t.Helper()
	hdr, evs := testkit.Sample(t, name)
	e := testkit.Shadow(t, hdr.Config)
	for i := range evs {
		o := testkit.Replay(t, e, evs[i:i+1])[0]
		fn(e, &o)
	}
}

func statOf(e *engine.Shadow, name string) uint64 {
	s, ok := e.Stats().Lookup(name)
	if !ok {
		return 0
	}
	return sampleValue(&s)
}

// TestTimelineStatDeltas checks the per-span changes of a statistic
// against its value recorded after every event, through many halvings
// of a small timeline.
func TestTimelineStatDeltas(t *testing.T) {
	names := []string{"/PGM/Pool/Cache/Hits", "/PGM/RZ/FlushTLB", "/PGM/RZ/DirtyPage/RealPF"}
	tl := NewTimeline(16)
	after := map[string][]uint64{} // value after each event
	replaySample(t, "multiprocess.txt", func(e *engine.Shadow, o *engine.Outcome) {
		tl.Add(o)
		tl.SampleStats(e)
		for _, n := range names {
			after[n] = append(after[n], statOf(e, n))
		}
	})
	if tl.Per < 64 {
		t.Fatalf("the timeline never halved enough to test merging: %d events per bucket", tl.Per)
	}
	for _, n := range names {
		d, ok := tl.StatDeltas(n, nil)
		if !ok {
			t.Errorf("%s: never sampled", n)
			continue
		}
		if want := int(tl.Events / tl.Per); len(d) != want {
			t.Errorf("%s: %d spans, want %d", n, len(d), want)
		}
		v := after[n]
		var moved bool
		for i, got := range d {
			end := v[(uint64(i)+1)*tl.Per-1]
			var start uint64
			if i > 0 {
				start = v[uint64(i)*tl.Per-1]
			}
			if got != end-start {
				t.Errorf("%s: span %d changed by %d, want %d", n, i, got, end-start)
			}
			moved = moved || got != 0
		}
		if !moved {
			t.Errorf("%s: no span changed: the test proves nothing", n)
		}
	}
	if _, ok := tl.StatDeltas("/PGM/NoSuchThing", nil); ok {
		t.Error("a statistic that does not exist has deltas")
	}
}

func TestTimelineLabelAt(t *testing.T) {
	tl := NewTimeline(16)
	var labels []TimeLabel
	var n uint64
	replaySample(t, "modes-tour.txt", func(_ *engine.Shadow, o *engine.Outcome) {
		tl.Add(o)
		if o.Event.Kind == engine.EvLabel {
			labels = append(labels, TimeLabel{n, o.Event.Text})
		}
		n++
	})
	if len(labels) < 3 {
		t.Fatalf("modes-tour has %d labels", len(labels))
	}
	for at := uint64(0); at < n; at++ {
		var want TimeLabel
		found := false
		for _, l := range labels {
			if l.Event <= at {
				want, found = l, true
			}
		}
		got, ok := tl.LabelAt(at)
		if ok != found || got != want {
			t.Fatalf("LabelAt(%d) = %v, %v; want %v, %v", at, got, ok, want, found)
		}
	}
}

// TestStatsHistory checks that rates are measured from a sample of the
// right age and that going back in the replay never uses a sample from
// the future.
func TestStatsHistory(t *testing.T) {
	const name = "/PGM/Pool/Cache/Hits"
	h := NewStatsHistory(256)
	var vals []uint64
	replaySample(t, "multiprocess.txt", func(e *engine.Shadow, o *engine.Outcome) {
		h.Observe(e)
		vals = append(vals, statOf(e, name))
		now := e.Events()
		b := h.base(now)
		if now > 256+32 && b == nil {
			t.Fatalf("event %d: no sample to measure rates from", now)
		}
		if b == nil {
			return
		}
		if b.at >= now || now-b.at > 256+256/8 {
			t.Fatalf("event %d: rate measured from event %d", now, b.at)
		}
		if v, ok := h.value(b, name); b.at > 0 && (!ok || v != vals[b.at-1]) {
			t.Fatalf("event %d: sample at %d says %d (%v), the replay said %d", now, b.at, v, ok, vals[b.at-1])
		}
	})
	// Back to the start: the samples held are all from later events.
	if b := h.base(10); b != nil {
		t.Errorf("after going back to event 10, a rate is measured from event %d", b.at)
	}
	h.Reset()
	if b := h.base(uint64(len(vals))); b != nil {
		t.Error("Reset kept samples")
	}
}

func TestAppendRate(t *testing.T) {
	tests := []struct {
		d    int64
		span uint64
		want string
	}{
		{0, 100, "0"},
		{5, 0, "0"},
		{1, 1000, "+1.0"},
		{3, 1024, "+2.9"},
		{-3, 1000, "-3.0"},
		{50, 1000, "+50"},
		{99999, 1000, "+99999"},
		{2_000_000, 10, "+200000k"},
		{-123456, 1000, "-123k"},
	}
	for _, tc := range tests {
		if got := string(appendRate(nil, tc.d, tc.span)); got != tc.want {
			t.Errorf("appendRate(%d, %d) = %q, want %q", tc.d, tc.span, got, tc.want)
		}
	}
}

// TestGuestWalkLeavesStatistics: the walk panel uses the engine's
// GuestWalk; reporting a walk must not change what the statistics panel
// shows next.
func TestGuestWalkLeavesStatistics(t *testing.T) {
	var e *engine.Shadow
	replaySample(t, "multiprocess.txt", func(x *engine.Shadow, _ *engine.Outcome) { e = x })
	var before, after strings.Builder
	e.Stats().WriteCSV(&before)
	regs := e.Regs()
	if w := e.GuestWalk(0xffff88800024a050, x86.Access{Kind: x86.Read}); !w.OK() {
		t.Fatalf("the walk failed: %v (CR3 %#x)", w.Fault, regs.CR3)
	}
	e.Stats().WriteCSV(&after)
	if before.String() != after.String() {
		t.Error("GuestWalk changed the statistics")
	}
}

// TestTimelineLabelAtPastTheCap: past the labels kept, LabelAt names the
// latest label or none, never a stale one.
func TestTimelineLabelAtPastTheCap(t *testing.T) {
	tl := NewTimeline(16)
	n := uint64(maxMarks + 100)
	for i := uint64(0); i < n; i++ {
		o := engine.Outcome{Event: engine.Event{Kind: engine.EvLabel, Text: fmt.Sprint("label ", i)}}
		tl.Add(&o)
	}
	if l, ok := tl.LabelAt(10); !ok || l.Event != 10 {
		t.Errorf("LabelAt(10) = %v, %v", l, ok)
	}
	if l, ok := tl.LabelAt(n - 1); !ok || l.Event != n-1 {
		t.Errorf("LabelAt(last) = %v, %v", l, ok)
	}
	if l, ok := tl.LabelAt(maxMarks + 50); ok {
		t.Errorf("LabelAt past the kept labels = %v: stale", l)
	}
}
