package app

import (
	"fmt"
	"image/color"
	"sort"
	"strings"

	"github.com/pgm-explorer/pgm-explorer/analysis"
	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
	"github.com/pgm-explorer/pgm-explorer/viz"
)

// diffBudget bounds the guest entries a snapshot walks (over all its
// address spaces), as `explorer diff --budget` does.
const diffBudget = 1 << 16

// moment is a moment marked (key d) for "what changed". For a source
// the player replays from its start (a sample, a workload, a trace in
// memory), the player's engine is one continuous replay: the snapshot
// taken at the mark (with the state to walk its guest tables again in
// address spaces loaded only later) is compared with one taken where
// the player is. A trace file is different: its seeks load checkpoints
// into a fresh engine, whose shadow tables and statistics start over,
// so the two moments come from a replay of their own (replay).
type moment struct {
	p     *player // the replay it belongs to
	mark  uint64  // events applied at the mark
	snap  *analysis.Snapshot
	saved *engine.State
	rp    *momentReplay // trace files
	diff  *analysis.DiffReport
	at    uint64 // the moment the diff is about (events applied)
	// guest and shadow are the changed entries by address and level,
	// for the hierarchy's highlights.
	guest, shadow map[entryAt]byte
}

type entryAt struct {
	va    uint64
	level x86.LevelKind
}

// MarkMoment marks the moment shown for "what changed"; marking again
// the same moment forgets it.
func (a *App) MarkMoment() {
	if m := a.ins.moment; m != nil && m.rp != nil {
		m.rp.close()
	}
	if m := a.ins.moment; m != nil && m.p == a.p && m.mark == a.p.pos() {
		a.ins.moment = nil
		a.notify("the marked moment is forgotten")
		a.dirty = true
		return
	}
	eng := a.p.eng
	m := &moment{p: a.p, mark: a.p.pos()}
	if a.p.checkpointed() {
		m.rp = &momentReplay{}
	} else {
		m.snap, m.saved = analysis.TakeSnapshot(eng, []uint64{eng.Regs().CR3}, diffBudget), eng.State()
	}
	a.ins.moment = m
	a.notify(fmt.Sprintf("moment marked at event %d: move elsewhere to see what changed (d here again forgets it)", a.p.pos()))
	a.dirty = true
}

// changes is the diff between the marked moment and the one shown, or
// nil (nothing marked, the same moment, or a file's replay not there
// yet: see pending).
func (a *App) changes() *moment {
	m := a.ins.moment
	if m == nil {
		return nil
	}
	if m.p != a.p {
		a.ins.moment = nil // another source or configuration
		return nil
	}
	now := a.p.pos()
	if now == m.mark || a.p.seeking || a.p.loading != nil {
		return nil
	}
	if m.diff != nil && m.at == now {
		return m
	}
	var from, to *analysis.Snapshot
	var saved *engine.State
	if m.rp != nil {
		var ok bool
		if from, to, saved, ok = m.rp.ready(min(m.mark, now), max(m.mark, now)); !ok {
			return nil
		}
	} else {
		eng := a.p.eng
		spaces := []uint64{m.snap.Regs.CR3}
		if cr3 := eng.Regs().CR3; cr3 != m.snap.Regs.CR3 {
			spaces = append(spaces, cr3)
		}
		cur := analysis.TakeSnapshot(eng, spaces, diffBudget)
		snap := *m.snap
		from, to, saved = &snap, cur, m.saved
		rewalk(from, spaces, saved, eng.Config())
		if from.At > to.At {
			from, to = to, from // marked later than shown: still old to new
		}
	}
	m.diff, m.at = analysis.Diff(from, to), now
	m.guest, m.shadow = map[entryAt]byte{}, map[entryAt]byte{}
	cr3 := a.p.eng.Regs().CR3
	for _, c := range m.diff.Guest {
		if c.Key.AS == cr3 {
			m.guest[entryAt{uint64(c.Key.VA), c.Level}] = c.Op
		}
	}
	for _, c := range m.diff.Shadow {
		m.shadow[entryAt{uint64(c.Key.VA), c.Level}] = c.Op
	}
	return m
}

// rewalk walks, in the state saved with snapshot s, the address spaces
// s did not: they existed then too (their tables were in memory).
func rewalk(s *analysis.Snapshot, spaces []uint64, saved *engine.State, cfg engine.Config) {
	if len(spaces) <= len(s.Spaces) || !s.Mode.Paging() {
		return
	}
	if ref, err := engine.NewReference(cfg); err == nil && ref.LoadState(saved) == nil {
		s.WalkGuests(ref, spaces, diffBudget)
	}
}

// changeColor is the outline of a changed entry: green added, vermilion
// removed, purple changed.
func changeColor(op byte) color.RGBA {
	switch op {
	case analysis.Added:
		return viz.Green
	case analysis.Removed:
		return viz.Vermilion
	}
	return viz.Purple
}

// highlightChanges outlines the hierarchy's entries that changed since
// the marked moment. It reads the entries' places from the hit regions
// of the frame just laid out, so the hierarchy draws nothing for it.
func (a *App) highlightChanges(m *moment) {
	l := &a.list
	n := len(l.Regions)
	for k := 0; k < n; k++ {
		r := l.Regions[k]
		if r.ID.Kind != viz.HitEntry {
			continue
		}
		var set map[entryAt]byte
		switch r.ID.Hier {
		case viz.HierGuest:
			set = m.guest
		case viz.HierShadow, viz.HierNested:
			set = m.shadow
		}
		if len(set) == 0 {
			continue
		}
		cells := 1
		if r.Cols > 0 {
			cells = r.N
		}
		for c := 0; c < cells; c++ {
			id, ok := l.HitTest(cellCenter(&r, c))
			if !ok || id.Kind != viz.HitEntry || id.Hier != r.ID.Hier {
				continue
			}
			op, hit := set[entryAt{id.Addr, id.Level}]
			if !hit {
				continue
			}
			cr := r.R
			if r.Cols > 0 {
				cr = cellRect(&r, c)
			}
			l.BeginPanel("changed", cr)
			l.Stroke(viz.R(cr.X-1, cr.Y-1, cr.W+2, cr.H+2), 2, changeColor(op))
		}
	}
}

func cellCenter(r *viz.Region, c int) (int, int) {
	if r.Cols == 0 {
		return r.R.X + r.R.W/2, r.R.Y + r.R.H/2
	}
	cr := cellRect(r, c)
	return cr.X + cr.W/2, cr.Y + cr.H/2
}

// changeLines is the "what changed" panel's text: the counts of
// entries, pool pages and registers, then the statistics that moved
// most.
func changeLines(m *moment, limit int) []string {
	d := m.diff
	var out []string
	ga, gr, gc := analysis.Count(d.Guest)
	sa, sr, sc := analysis.Count(d.Shadow)
	out = append(out, fmt.Sprintf("guest entries: +%d −%d ~%d (address spaces %s)", ga, gr, gc, hexList(d.Spaces)))
	out = append(out, fmt.Sprintf("%s entries: +%d −%d ~%d", pagingWord(d.Paging), sa, sr, sc))
	pa, pr, pc := 0, 0, 0
	for _, p := range d.Pool {
		switch p.Op {
		case analysis.Added:
			pa++
		case analysis.Removed:
			pr++
		default:
			pc++
		}
	}
	out = append(out, fmt.Sprintf("pool pages: %d taken, %d freed, %d reused", pa, pr, pc))
	if len(d.Regs) > 0 {
		var rs []string
		for _, r := range d.Regs {
			rs = append(rs, r.Name+" "+r.From+"→"+r.To)
		}
		out = append(out, "registers: "+strings.Join(rs, ", "))
	}
	st := append([]analysis.StatDelta(nil), d.Stats...)
	mag := func(s analysis.StatDelta) uint64 { return min(s.To-s.From, s.From-s.To) }
	sort.SliceStable(st, func(i, j int) bool { return mag(st[i]) > mag(st[j]) })
	for i, s := range st {
		if i == limit {
			out = append(out, fmt.Sprintf("… %d more statistics changed", len(st)-limit))
			break
		}
		out = append(out, fmt.Sprintf("%+d\t%s\t%d → %d", int64(s.To-s.From), strings.TrimPrefix(s.Name, "/PGM/"), s.From, s.To))
	}
	return out
}

func pagingWord(p engine.Paging) string {
	if p == engine.PagingNested {
		return "nested"
	}
	return "shadow"
}

func hexList(v []uint64) string {
	var s []string
	for _, x := range v {
		s = append(s, hexs(x))
	}
	return strings.Join(s, " ")
}
