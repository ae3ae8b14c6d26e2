package viz

import "math"

// Marks are the events a search (or a chosen hot spot) picked out, for
// the timeline's match strip: a band under the fault strip, one tick
// per pixel column holding a match on a yellow band, darker where
// matches crowd, and
// hatched grey over the part of the trace not yet searched.
type Marks struct {
	Events  []uint64 // event indexes, in order (a bounded prefix of the matches)
	Scanned uint64   // events searched so far: [0, Scanned)
	Done    bool     // the whole source was searched
	Text    string   // what was searched and what was found, for the label line
}

// matchStrip draws m over r, a strip of the timeline spanning events
// [0, total).
func (c *ctx) matchStrip(r Rect, m *Marks, total uint64) {
	c.l.Fill(r, Tint(Yellow, 0.45))
	if !m.Done && m.Scanned < total {
		x0 := r.X + int(uint64(r.W)*m.Scanned/total)
		c.l.Fill(Rect{x0, r.Y, r.Right() - x0, r.H}, ColEmpty)
		for x := x0 - x0%6; x < r.Right(); x += 6 {
			if x >= x0 {
				c.l.Fill(Rect{x, r.Y, 1, r.H}, ColFaint)
			}
		}
	}
	if len(m.Events) == 0 || r.W <= 0 {
		return
	}
	// Count per pixel column, then shade by the square root of the
	// count against the densest column: one match among millions of
	// events still shows.
	counts := c.sc.marks[:0]
	for range r.W {
		counts = append(counts, 0)
	}
	c.sc.marks = counts
	peak := uint32(1)
	for _, e := range m.Events {
		k := int(min(uint64(r.W-1), uint64(r.W-1)*e/total))
		counts[k]++
		peak = max(peak, counts[k])
	}
	for k, n := range counts {
		if n == 0 {
			continue
		}
		f := math.Sqrt(float64(n) / float64(peak))
		c.l.Fill(Rect{r.X + k, r.Y, 1, r.H}, Tint(ColText, 0.6*(1-f)))
	}
}
