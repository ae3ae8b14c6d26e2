package app

import (
	"time"

	"github.com/pgm-explorer/pgm-explorer/analysis"
	"github.com/pgm-explorer/pgm-explorer/engine"
)

// momentReplay takes the two snapshots of "what changed" in a trace
// file from one continuous replay of its own (a scan): to the earlier
// moment (lo), a snapshot and the state, then on to the later (hi).
// Moving the later moment forward continues it; moving either before
// where it got replays from the start, in slices of ticks as scans do.
type momentReplay struct {
	s        *scan
	lo, hi   uint64
	loSnap   *analysis.Snapshot
	loState  *engine.State
	hiSnap   *analysis.Snapshot
	loWalked *analysis.Snapshot // loSnap walked in hiSnap's spaces too
	cfg      engine.Config
	err      error
}

// tickMoment moves a trace file's "what changed" replay towards the
// moments marked and shown.
func (a *App) tickMoment(deadline time.Time) {
	m := a.ins.moment
	if m != nil && m.p != a.p {
		// Another source or configuration: the mark is gone.
		if m.rp != nil {
			m.rp.close()
		}
		a.ins.moment = nil
		return
	}
	if m == nil || m.rp == nil {
		return
	}
	now := a.p.pos()
	if now == m.mark || a.p.seeking || a.p.loading != nil || m.rp.err != nil {
		return
	}
	if err := m.rp.want(a.p, min(m.mark, now), max(m.mark, now)); err != nil {
		m.rp.err = err
		a.setErr(err)
		return
	}
	if m.rp.run(deadline) {
		a.dirty = true
	}
}

// want asks for the moments lo < hi.
func (r *momentReplay) want(p *player, lo, hi uint64) error {
	if r.lo != lo || r.hi != hi {
		if r.loSnap != nil && r.loSnap.At != lo {
			r.loSnap, r.loState = nil, nil
		}
		r.hiSnap = nil
		r.lo, r.hi = lo, hi
	}
	if r.s != nil && (r.loSnap == nil && r.s.pos() > lo || r.s.pos() > hi) {
		r.s.close()
		r.s = nil
	}
	if r.s == nil {
		s, err := newScan(p)
		if err != nil {
			return err
		}
		s.to = func() uint64 {
			if r.loSnap == nil {
				return r.lo
			}
			return r.hi
		}
		r.s, r.cfg = s, p.cfg
	}
	return nil
}

// run replays until the deadline and takes the snapshots it reaches.
func (r *momentReplay) run(deadline time.Time) bool {
	if r.s == nil || r.hiSnap != nil {
		return false
	}
	moved := r.s.run(deadline)
	eng := r.s.eng
	if r.loSnap == nil && r.s.pos() == r.lo {
		r.loSnap = analysis.TakeSnapshot(eng, []uint64{eng.Regs().CR3}, diffBudget)
		r.loState = eng.State()
		moved = r.s.run(deadline) || moved
	}
	if r.loSnap != nil && r.hiSnap == nil && r.s.pos() == r.hi {
		spaces := []uint64{r.loSnap.Regs.CR3}
		if cr3 := eng.Regs().CR3; cr3 != r.loSnap.Regs.CR3 {
			spaces = append(spaces, cr3)
		}
		r.hiSnap = analysis.TakeSnapshot(eng, spaces, diffBudget)
		// The earlier snapshot is reused for other later moments: walk
		// a copy in the spaces this one adds.
		lo := *r.loSnap
		rewalk(&lo, spaces, r.loState, r.cfg)
		r.loWalked = &lo
		moved = true
	}
	return moved
}

// ready returns the snapshots at lo and hi once both are taken.
func (r *momentReplay) ready(lo, hi uint64) (from, to *analysis.Snapshot, saved *engine.State, ok bool) {
	if r.lo != lo || r.hi != hi || r.hiSnap == nil {
		return nil, nil, nil, false
	}
	return r.loWalked, r.hiSnap, r.loState, true
}

// progress is how far the replay got, for the panel that waits for it.
func (r *momentReplay) progress() uint64 {
	if r.s == nil {
		return 0
	}
	return r.s.pos()
}

func (r *momentReplay) close() {
	if r.s != nil {
		r.s.close()
	}
}
