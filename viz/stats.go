package viz

import (
	"cmp"
	"image/color"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/stats"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// The statistics panel lists the non-zero counters of the /PGM tree;
// the event log lists the latest outcomes with their paths; the timeline
// strip shows where the replay is.

// GuestFault reports whether path p delivers a fault to the guest: its
// own tables refused the access (a #PF, or SMEP, SMAP or a protection
// key did), or the address was not canonical (#GP).
func GuestFault(p engine.Path) bool {
	switch p {
	case engine.PathGuestFault, engine.PathGP, engine.PathSMEPFault, engine.PathSMAPFault, engine.PathKeyFault:
		return true
	}
	return false
}

// pathColor is the colour of a path in the event log: cheap paths
// green, syncs blue, traps yellow and orange, guest faults vermilion.
func pathColor(p engine.Path) color.RGBA {
	switch p {
	case engine.PathTLBHit, engine.PathShadowHit, engine.PathWalk, engine.PathIdentity, engine.PathNestedWalk:
		return Green
	case engine.PathSyncPage, engine.PathSyncPT, engine.PathNestedFault:
		return Blue
	case engine.PathDirtyTrap, engine.PathAccessedTrap:
		return Yellow
	case engine.PathMonitorWrite, engine.PathWPEmulation, engine.PathHandler:
		return Orange
	case engine.PathGuestFault, engine.PathGP, engine.PathSMEPFault, engine.PathSMAPFault, engine.PathKeyFault:
		return Vermilion
	case engine.PathPoolEvict:
		return Purple
	}
	return ColFaint
}

func (c *ctx) statsPanel(r Rect) {
	if c.m.View == ViewOverview {
		// Overview: statistics and the event log share the place.
		if r.W > 2*c.t.fs*28 {
			left, right := r.CutLeft(r.W/2, c.t.gap)
			c.counters(left)
			c.logPanel(right)
		} else if r.H >= 2*(c.t.lh+5*c.t.slh+2*c.t.pad) {
			top, bottom := r.CutTop(r.H/2, c.t.gap)
			c.counters(top)
			c.logPanel(bottom)
		} else {
			// Too short for both to say anything: the events, which a
			// step talks about; the statistics have the memory view.
			c.logPanel(r)
		}
		return
	}
	c.counters(r)
}

func (c *ctx) counters(r Rect) {
	t := c.t
	title := "Statistics (non-zero /PGM counters)"
	if c.m.StatsFrom > 0 {
		title = "Statistics since event " + strconv.FormatUint(c.m.StatsFrom, 10) + " (a checkpoint): non-zero /PGM counters"
	}
	in := c.panel("stats", title, r)
	reg := c.m.Engine.Stats()
	// With a history, each value is followed by its rate, and one line
	// says what the rate means and over how many events it is measured.
	now := c.m.Engine.Events()
	base := c.m.History.base(now)
	rateW := 0
	if base != nil && in.H >= 2*t.slh {
		c.b = append(c.b[:0], "busiest first: value, then change per 1000 events over the last "...)
		c.b = appendUint(c.b, now-base.at)
		var line Rect
		line, in = in.CutTop(t.slh, 0)
		c.textFitB(line.X, line.Y, line.W, FaceRegular, t.small, ColDim)
		rateW = Measure(FaceMono, t.small, "+0000.0") + t.small
	} else {
		base = nil
	}
	colW := in.W
	ncol := 1
	if in.W > 60*t.small {
		ncol = 2
		colW = (in.W - 2*t.pad) / 2
	}
	rows := max(in.H/t.slh, 0)
	// The non-zero statistics in path order; with rates, the busiest
	// first (as top does), so that a small panel shows what the engine
	// is doing now rather than the first names of the tree.
	sr := c.sc.statRows[:0]
	reg.Each(func(s stats.Sample) {
		if s.IsZero() {
			return
		}
		v := sampleValue(&s)
		var d int64
		rated := false
		if base != nil {
			var bv uint64
			if bv, rated = c.m.History.value(base, s.Name); rated {
				d = int64(v - bv) // two's complement: a reset counter goes negative
			}
		}
		sr = append(sr, statRow{s.Name, v, d, rated})
	})
	c.sc.statRows = sr
	if base != nil {
		slices.SortStableFunc(sr, func(a, b statRow) int { return cmp.Compare(absI64(b.d), absI64(a.d)) })
	}
	total := len(sr)
	// When not all fit, the last place says how many are left out.
	room := ncol * rows
	if total > room {
		room--
	}
	i := 0
	for _, s := range sr {
		if i >= room {
			break
		}
		col, row := i/rows, i%rows
		i++
		x := in.X + col*(colW+2*t.pad)
		y := in.Y + row*t.slh
		if s.rated {
			c.b = appendRate(c.b[:0], s.d, now-base.at)
			rw := measureBytes(FaceMono, t.small, c.b)
			col := ColDim
			if s.d == 0 {
				col = ColFaint
			}
			c.textB(x+colW-rw, y, FaceMono, t.small, col)
		}
		c.b = appendUint(c.b[:0], s.v)
		vw := measureBytes(FaceMono, t.small, c.b)
		c.textB(x+colW-rateW-vw, y, FaceMono, t.small, ColText)
		name := strings.TrimPrefix(s.name, "/PGM/")
		c.textFit(x, y, colW-rateW-vw-t.small, FaceRegular, t.small, ColDim, name)
		c.l.Hit(Rect{x, y, colW, t.slh}, HitID{Kind: HitCounter, Name: s.name})
	}
	if total > i && rows > 0 {
		y := in.Y + (rows-1)*t.slh
		x := in.X + (ncol-1)*(colW+2*t.pad)
		c.b = append(c.b[:0], "… "...)
		c.b = appendUint(c.b, uint64(total-i))
		c.b = append(c.b, " more"...)
		c.textFitB(x, y, colW, FaceRegular, t.small, ColDim)
	}
}

// statRow is a statistic as the panel lists it: its value and its
// change since the history's base sample.
type statRow struct {
	name  string
	v     uint64
	d     int64
	rated bool // d is known: family members have no history
}

func absI64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// appendRate appends the change d over span events as a signed rate
// per 1000 events: one decimal below 10, none above, thousands as k
// past five digits, so that the column stays narrow.
func appendRate(b []byte, d int64, span uint64) []byte {
	if d == 0 || span == 0 {
		return append(b, '0')
	}
	r := float64(d) * 1000 / float64(span)
	if r > 0 {
		b = append(b, '+')
	}
	switch a := math.Abs(r); {
	case a < 9.95:
		return strconv.AppendFloat(b, r, 'f', 1, 64)
	case a < 99999.5:
		return strconv.AppendFloat(b, r, 'f', 0, 64)
	}
	b = strconv.AppendFloat(b, r/1000, 'f', 0, 64)
	return append(b, 'k')
}

// logPanel lists the latest outcomes, newest at the bottom.
func (c *ctx) logPanel(r Rect) {
	t := c.t
	in := c.panel("log", "Recent events", r)
	rc := c.m.Recent
	if rc == nil || rc.Len() == 0 {
		c.textFit(in.X, in.Y, in.W, FaceRegular, t.small, ColDim, "none yet")
		return
	}
	rows := in.H / t.slh
	n := min(rows, rc.Len())
	f := c.m.Engine.Format()
	idxW := Measure(FaceMono, t.small, "0000000 ")
	opW := Measure(FaceMono, t.small, "invlpg ")
	for k := 0; k < n; k++ {
		o := rc.At(rc.Len() - n + k)
		y := in.Y + k*t.slh
		x := in.X
		c.b = appendUint(c.b[:0], o.Index)
		w := measureBytes(FaceMono, t.small, c.b)
		c.textB(x+idxW-w-t.small/2, y, FaceMono, t.small, ColFaint)
		x += idxW
		c.b = append(c.b[:0], o.Event.Op()...)
		c.textB(x, y, FaceMono, t.small, ColText)
		x += opW
		c.b = c.b[:0]
		ev := &o.Event
		switch {
		case ev.Kind == engine.EvLabel && c.m.HideLabels && o.Index >= c.m.HideFrom:
			c.b = append(c.b, "(this step's text follows your answer)"...)
			c.textFitB(x, y, in.Right()-x, FaceRegular, t.small, ColDim)
			continue
		case ev.Kind == engine.EvLabel:
			c.b = append(c.b, ev.Text...)
			c.textFitB(x, y, in.Right()-x, FaceRegular, t.small, Blue)
			continue
		case ev.Kind.Access():
			c.b = appendVA(c.b, ev.Addr, f)
			if o.OK {
				c.b = append(c.b, " → "...)
				c.b = appendHex(c.b, uint64(o.GPA))
			}
		case ev.Kind == engine.EvPhysRead || ev.Kind == engine.EvPhysWrite || ev.Kind == engine.EvInvlpg:
			c.b = appendHex(c.b, ev.Addr)
		case ev.Kind == engine.EvCPL || ev.Kind == engine.EvAC:
			c.b = appendUint(c.b, ev.Value)
		case ev.Kind == engine.EvPKRU:
			c.b = appendHex(c.b, ev.Value)
		case ev.Kind == engine.EvInvpcid:
			c.b = append(c.b, " type "...) // "invpcid" fills the op column
			c.b = appendUint(c.b, uint64(ev.Size))
			c.b = append(c.b, " PCID "...)
			c.b = appendUint(c.b, ev.Value)
			if ev.Size == 0 {
				c.b = append(c.b, ' ')
				c.b = appendHex(c.b, ev.Addr)
			}
		default:
			if _, ok := ev.Kind.Reg(); ok {
				c.b = appendHex(c.b, ev.Value)
			}
		}
		// The path chip at the right.
		pw := 0
		if o.Path != engine.PathNone && o.Path != engine.PathPhys {
			name := o.Path.String()
			if !o.OK && o.Fault.Kind != x86.NonCanonical {
				name = "#PF " + name
			}
			pw = Measure(FaceRegular, t.small, name) + t.small
			px := in.Right() - pw
			col := pathColor(o.Path)
			c.l.Fill(Rect{px, y + 1, pw, t.slh - 2}, Tint(col, 0.55))
			c.l.Fill(Rect{px, y + 1, 3, t.slh - 2}, col)
			c.text(px+t.small/2+1, y, FaceRegular, t.small, ColText, name)
		}
		c.textFitB(x, y, in.Right()-x-pw-t.small/2, FaceMono, t.small, ColText)
		c.l.Hit(Rect{in.X, y, in.W, t.slh}, HitID{Kind: HitOutcome, Event: o.Index, Addr: ev.Addr})
	}
}

func (c *ctx) timelineHeight() int { return c.t.lh + c.t.slh + 2*c.t.pad }

// timelinePanel draws the replay's density (accesses in grey, traps in
// orange, guest faults in vermilion) over a strip of fault density, its
// marks (labels, mode changes, CR3 loads, pool flushes), the current
// position and the label in force there. With a counter picked, the
// spans where it changed are drawn over the density in green.
func (c *ctx) timelinePanel(r Rect) {
	t := c.t
	in := c.panel("timeline", "", r)
	tl := c.m.Timeline
	now := c.m.Engine.Events()
	labelLine, strip := in.CutTop(t.slh, 2)
	if tl == nil || tl.Events == 0 {
		c.textFit(labelLine.X, labelLine.Y, labelLine.W, FaceRegular, t.small, ColDim, "no timeline")
		return
	}
	total := max(tl.Events, now, 1)
	x := labelLine.X
	x += c.text(x, labelLine.Y, FaceBold, t.small, ColText, "Timeline") + t.small
	var deltas []uint64
	if c.m.Counter != "" {
		var ok bool
		deltas, ok = tl.StatDeltas(c.m.Counter, c.sc.deltas[:0])
		c.sc.deltas = deltas
		name := strings.TrimPrefix(c.m.Counter, "/PGM/")
		if ok {
			c.b = append(append(append(c.b[:0], "where "...), name...), " changed (green)"...)
		} else {
			c.b = append(append(c.b[:0], name...), ": not on the timeline (unchanged so far, or one of a per-index family)"...)
		}
		c.textFitB(x, labelLine.Y, labelLine.Right()-x, FaceRegular, t.small, Shade(Green, 0.2))
	} else if c.m.Marks != nil {
		c.textFit(x, labelLine.Y, labelLine.Right()-x, FaceRegular, t.small, Shade(Blue, 0.2), c.m.Marks.Text)
	} else if lab, ok := tl.LabelAt(now - 1); ok && now > 0 && !(c.m.HideLabels && lab.Event >= c.m.HideFrom) {
		// now events are applied: the latest label among them is the
		// current one, not one at index now, which is still ahead.
		c.b = append(c.b[:0], "label at "...)
		c.b = appendUint(c.b, lab.Event)
		c.b = append(c.b, ": "...)
		x += c.textB(x, labelLine.Y, FaceRegular, t.small, ColDim)
		c.textFit(x, labelLine.Y, labelLine.Right()-x, FaceRegular, t.small, Blue, lab.Text)
	}
	c.l.Fill(strip, ColHeader)
	// The fault strip: a band under the density whose colour deepens
	// with the faults of each span, so that a few faults among millions
	// of accesses still show.
	faultH := max(3, strip.H/5)
	bars, faults := strip.CutBottom(faultH, 1)
	if c.m.Marks != nil {
		var band Rect
		bars, band = bars.CutBottom(max(faultH+2, strip.H/4), 1)
		c.matchStrip(band, c.m.Marks, total)
	}
	// Density: one column per bucket (or per pixel when buckets outnumber pixels).
	nb := min(int((tl.Events+tl.Per-1)/tl.Per), len(tl.Buckets))
	peak, peakF := uint32(1), uint32(1)
	for i := 0; i < nb; i++ {
		peak = max(peak, tl.Buckets[i].Accesses)
		peakF = max(peakF, tl.Buckets[i].Faults)
	}
	var peakD uint64 = 1
	for _, d := range deltas {
		peakD = max(peakD, d)
	}
	col := func(i int) (int, int) {
		x0 := strip.X + int(uint64(strip.W)*uint64(i)*tl.Per/total)
		x1 := strip.X + int(uint64(strip.W)*uint64(i+1)*tl.Per/total)
		return x0, max(x1-x0, 1)
	}
	for i := 0; i < nb; i++ {
		b := tl.Buckets[i]
		x0, w := col(i)
		h := func(v uint32) int { return int(int64(bars.H-2) * int64(v) / int64(peak)) }
		c.l.Fill(Rect{x0, bars.Bottom() - h(b.Accesses), w, h(b.Accesses)}, Tint(ColFaint, 0.4))
		c.l.Fill(Rect{x0, bars.Bottom() - h(b.Traps), w, h(b.Traps)}, Orange)
		c.l.Fill(Rect{x0, bars.Bottom() - h(b.Faults), w, h(b.Faults)}, Vermilion)
		if b.Faults > 0 {
			// sqrt: one fault is already visible, the peak is full colour.
			f := math.Sqrt(float64(b.Faults) / float64(peakF))
			c.l.Fill(Rect{x0, faults.Y, w, faults.H}, Tint(Vermilion, 0.6*(1-f)))
		}
	}
	for i, d := range deltas {
		if d == 0 || i >= nb {
			continue
		}
		x0, w := col(i)
		// sqrt, as for faults: a span with one change stays visible.
		h := max(4, int(float64(bars.H-2)*math.Sqrt(float64(d)/float64(peakD))))
		c.l.Fill(Rect{x0, bars.Y, w, h}, Green)
	}
	// Marks closer than a few pixels to the last one of their kind are
	// skipped: a workload with a label per context switch would otherwise
	// paint the strip solid and hide the density under it.
	var lastX [MarkPoolFlush + 1]int
	for k := range lastX {
		lastX[k] = math.MinInt / 2
	}
	for _, m := range tl.Marks {
		mx := strip.X + int(uint64(strip.W-1)*m.Event/total)
		if int(m.Kind) < len(lastX) {
			if mx-lastX[m.Kind] < 4 {
				continue
			}
			lastX[m.Kind] = mx
		}
		switch m.Kind {
		case MarkLabel:
			c.l.Fill(Rect{mx, strip.Y, 1, strip.H}, Blue)
		case MarkModeChange:
			c.l.Fill(Rect{mx, strip.Y, 2, strip.H}, Purple)
		case MarkPoolFlush:
			c.l.Fill(Rect{mx, strip.Y, 1, strip.H / 2}, Vermilion)
		case MarkCR3:
			c.l.Fill(Rect{mx, strip.Y, 1, strip.H / 3}, ColDim)
		}
	}
	cx := strip.X + int(uint64(strip.W-2)*now/total)
	c.l.Fill(Rect{cx, strip.Y - 1, 2, strip.H + 1}, ColText)
	// Each pixel column answers the first event it stands for.
	c.l.HitSpan(strip, int(total), 1, HitID{Kind: HitTimeline})
}
