package app

import (
	"time"

	"github.com/pgm-explorer/pgm-explorer/engine"
)

// insight is the window's side of the trace analysis (package
// analysis): the search, the hot spots, the moment marked for "what
// changed" and the side-by-side comparison. The search and the hot
// spots need every event, not the one shown: each has a scan (scan.go)
// that replays the source beside the player and feeds it, so that a
// new search does not throw away the hot spots counted so far.
type insight struct {
	search *searchBox
	hot    *hotSpots
	moment *moment
	cmp    *comparison
	scans  [2]*scan // scanSearch, scanHot
}

const (
	scanSearch = iota
	scanHot
)

// sink is what a scan feeds.
type sink interface {
	reset(eng engine.Engine)
	add(o *engine.Outcome)
}

func (in *insight) sink(i int) sink {
	switch {
	case i == scanSearch && in.search != nil:
		return in.search
	case i == scanHot && in.hot != nil:
		return in.hot
	}
	return nil
}

// restart drops scan i: the next tick starts another from the first
// event.
func (in *insight) restart(i int) {
	if in.scans[i] != nil {
		in.scans[i].close()
		in.scans[i] = nil
	}
}

// tickInsight gives the scans their share of a tick: what the replay
// leaves when it is idle, a quarter of a tick's budget when it runs.
func (a *App) tickInsight(now time.Time) {
	in := &a.ins
	budget := a.budget
	if a.p.busy() {
		budget /= 4
	}
	deadline := now.Add(budget)
	a.tickCompare(deadline)
	a.tickMoment(deadline)
	for i := range in.scans {
		k := in.sink(i)
		if k == nil || in.scans[i] != nil && in.scans[i].p != a.p {
			// Nothing to feed, or another source or configuration.
			in.restart(i)
		}
		if k == nil {
			continue
		}
		s := in.scans[i]
		if s == nil {
			var err error
			if s, err = newScan(a.p); err != nil {
				a.setErr(err)
				in.search, in.hot = nil, nil
				return
			}
			in.scans[i] = s
			k.reset(s.eng)
			s.sinks = append(s.sinks, k.add)
		}
		if !s.complete() && s.run(deadline) {
			a.dirty = true
		}
		if in.hot != nil && i == scanHot {
			in.hot.final = s.complete()
		}
	}
}

// busy reports whether a scan, the comparison's second engine or its
// cost curves have work left for the next tick.
func (in *insight) busy() bool {
	for _, s := range in.scans {
		if s != nil && !s.complete() {
			return true
		}
	}
	if m := in.moment; m != nil && m.rp != nil && m.rp.s != nil && m.rp.hiSnap == nil && m.rp.err == nil {
		return true
	}
	c := in.cmp
	return c != nil && (!c.b.complete() || c.a != nil && !c.a.complete() || c.cmp != nil && !c.done && c.err == nil && c.cmp.Events < c.limit())
}

// settleScans runs the scans to their limits: for tests and screenshots.
func (a *App) settleScans() {
	for {
		a.tickInsight(time.Now())
		if !a.ins.busy() {
			return
		}
	}
}

// scanned says how far scan i got, for the texts that report what was
// searched.
func (in *insight) scanned(i int) (n uint64, done bool) {
	s := in.scans[i]
	if s == nil {
		return 0, false
	}
	return s.pos(), s.done
}
