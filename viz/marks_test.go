package viz

import (
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
)

// TestMatchStrip: the timeline draws a tick for each pixel column that
// holds a match, where the matches are, and hatches the part of the
// trace not yet searched.
func TestMatchStrip(t *testing.T) {
	var eng *engine.Shadow
	tl := NewTimeline(512)
	replaySample(t, "boot.txt", func(e *engine.Shadow, o *engine.Outcome) {
		eng = e
		tl.Add(o)
	})
	total := tl.Events
	draw := func(mk *Marks) (*List, Rect) {
		m := &Model{Engine: eng, Timeline: tl, Width: 1280, Height: 800, Marks: mk}
		var l List
		Layout(m, &l)
		for i, p := range l.Panels {
			if p.Name == "timeline" {
				return &l, l.Panels[i].R
			}
		}
		t.Fatal("no timeline")
		return nil, Rect{}
	}
	band := Tint(Yellow, 0.45)
	mk := &Marks{Events: []uint64{0, total / 2, total - 1}, Scanned: total, Done: true, Text: "search op==r: 3 matches"}
	l, tr := draw(mk)
	var strip Rect
	ticks := []int{}
	for _, p := range l.Prims {
		r := p.Rect()
		if !r.In(tr) {
			continue
		}
		if p.Op == OpFill && p.Color == band {
			strip = r
		}
	}
	if strip.Empty() {
		t.Fatal("no match strip in the timeline")
	}
	for _, p := range l.Prims {
		r := p.Rect()
		if p.Op == OpFill && r.W == 1 && r.Y == strip.Y && r.H == strip.H && p.Color != band && p.Color != ColFaint {
			ticks = append(ticks, r.X-strip.X)
		}
	}
	// The same scale as the timeline's other marks (labels, mode
	// changes): a match at a label's event lines up with its mark.
	at := func(e uint64) int { return int(uint64(strip.W-1) * e / total) }
	want := []int{at(0), at(total / 2), at(total - 1)}
	if len(ticks) != 3 || ticks[0] != want[0] || ticks[1] != want[1] || ticks[2] != want[2] {
		t.Errorf("ticks at %v, want %v", ticks, want)
	}
	// Half searched: the second half is hatched, grey on empty.
	mk = &Marks{Events: []uint64{1}, Scanned: total / 2}
	l, _ = draw(mk)
	hatched := false
	for _, p := range l.Prims {
		r := p.Rect()
		if p.Op == OpFill && p.Color == ColEmpty && r.Y == strip.Y && r.H == strip.H {
			hatched = r.X-strip.X == strip.W/2 || r.X-strip.X == int(uint64(strip.W)*(total/2)/total)
		}
	}
	if !hatched {
		t.Error("the part not yet searched is not hatched")
	}
}
