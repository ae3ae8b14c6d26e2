package app

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/pgm-explorer/pgm-explorer/analysis"
	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/traces/session"
)

// costSamples is the number of points of each cost curve: when a trace
// outgrows them, neighbours merge (every other point is dropped), as
// the timeline's buckets do, so memory stays flat.
const costSamples = 512

// comparison is the split screen: the player's configuration (A)
// beside another (B) at the same event. B is a second engine that
// follows the player's position (a scan whose limit is the player's
// position; going back replays it from the start, in slices of ticks),
// and a Comparer replays the whole trace through both for the cost of
// each over the timeline.
type comparison struct {
	p    *player
	spec string
	cfg  engine.Config // B's
	b    *scan
	// a, for a trace file only, replays the configuration shown beside
	// B: the player's engine restarts from a checkpoint at each seek,
	// with its shadow tables and statistics, which would not compare
	// with B's continuous replay.
	a *scan
	// The cost curves: cumulative cycles of each side every per events.
	cmp   *analysis.Comparer
	cst   session.Source
	per   uint64
	curve [2][]float64
	done  bool
	err   error
}

// Compare shows the trace in the configuration spec (the overrides
// `explorer compare --b` takes: paging=nested, pool=64, host=…,
// dirty-pt=on) beside the one shown; "" closes the split screen.
func (a *App) Compare(spec string) error {
	if c := a.ins.cmp; c != nil {
		c.close()
	}
	if spec == "" {
		a.ins.cmp = nil
		a.dirty = true
		return nil
	}
	cfg, err := analysis.ApplySpec(a.p.cfg, spec)
	if err != nil {
		return err
	}
	c := &comparison{p: a.p, spec: spec, cfg: cfg, per: 1}
	if c.b, err = newScanCfg(a.p, cfg); err != nil {
		return err
	}
	p := a.p
	c.b.to = p.pos
	if p.checkpointed() {
		if c.a, err = newScan(p); err != nil {
			return err
		}
		c.a.to = p.pos
	}
	if c.cst, err = a.costStream(); err == nil {
		c.cmp, err = analysis.NewComparer(p.cfg, "", spec, analysis.DefaultCosts, 1<<62, 0)
	}
	if err != nil {
		c.err = err
	}
	if c.cmp != nil {
		c.cmp.SkipMemory = true
	}
	a.ins.cmp = c
	a.dirty = true
	return nil
}

// engines are what the split screen shows of A and B.
func (c *comparison) engines(p *player) [2]*engine.Shadow {
	if c.a != nil {
		return [2]*engine.Shadow{c.a.eng, c.b.eng}
	}
	return [2]*engine.Shadow{p.eng, c.b.eng}
}

// caughtUp reports whether both sides are at the player's event.
func (c *comparison) caughtUp(p *player) bool {
	e := c.engines(p)
	return e[0].Events() == p.pos() && e[1].Events() == p.pos()
}

func (c *comparison) close() {
	for _, s := range []*scan{c.a, c.b} {
		if s != nil {
			s.close()
		}
	}
	if c.cst != nil {
		c.cst.Close()
	}
}

// costStream opens the events for the cost curves from the first: a
// trace's, or a live workload's (which choose each from the outcome
// of the last: side a's, see runCosts).
func (a *App) costStream() (session.Source, error) { return openScanSource(a.p.src) }

// tickCompare keeps B at the player's event and extends the curves.
func (a *App) tickCompare(deadline time.Time) {
	c := a.ins.cmp
	if c == nil {
		return
	}
	if c.p != a.p {
		// Another source or configuration: compare it with B's spec.
		if err := a.Compare(c.spec); err != nil {
			a.ins.cmp = nil
			a.setErr(err)
		}
		return
	}
	for i, s := range []**scan{&c.a, &c.b} {
		if *s == nil {
			continue
		}
		if a.p.pos() < (*s).pos() {
			// Back: replay from the start, in slices of ticks.
			cfg := c.cfg
			if i == 0 {
				cfg = a.p.cfg
			}
			n, err := newScanCfg(a.p, cfg)
			if err != nil {
				c.err = err
				return
			}
			(*s).close()
			n.to = a.p.pos
			*s = n
		}
		if !(*s).complete() && (*s).run(deadline) {
			a.dirty = true
		}
	}
	if c.cmp != nil && !c.done && c.err == nil && time.Now().Before(deadline) {
		if c.runCosts(deadline, c.limit()) {
			a.dirty = true
		}
	}
}

// limit is how far the cost curves go: a trace's end, or as far as the
// player has replayed a live workload, which has none.
func (c *comparison) limit() uint64 {
	if c.cst == nil || c.p.src.finite() {
		return ^uint64(0)
	}
	return max(c.p.timeline.Events, c.p.pos())
}

// runCosts feeds the Comparer until the deadline, event lim or the end.
func (c *comparison) runCosts(deadline time.Time, lim uint64) bool {
	moved := false
	for n := 0; c.cmp.Events < lim; n++ {
		if n&255 == 255 && time.Now().After(deadline) {
			return moved
		}
		var prev *engine.Outcome
		if c.cmp.Events > 0 {
			prev = &c.cmp.Last
		}
		ev, err := c.cst.Next(prev)
		if errors.Is(err, io.EOF) {
			c.done = true
			c.cmp.Finish()
			c.sample()
			return true
		}
		if err == nil {
			err = c.cmp.Apply(ev)
		}
		if err != nil {
			c.err = fmt.Errorf("cost curves: %v", err)
			return true
		}
		moved = true
		if c.cmp.Events%c.per == 0 {
			c.sample()
		}
	}
	return moved
}

// sample appends the cumulative cost of each side, merging when full.
func (c *comparison) sample() {
	if len(c.curve[0]) == costSamples {
		for i := range c.curve {
			for k := 0; k < costSamples/2; k++ {
				c.curve[i][k] = c.curve[i][2*k+1]
			}
			c.curve[i] = c.curve[i][:costSamples/2]
		}
		c.per *= 2
	}
	for i, s := range c.cmp.Sides {
		c.curve[i] = append(c.curve[i], c.cmp.Model.Cycles(&s.Work))
	}
}

// costAt is each side's cumulative cost over the first n events, from
// the nearest sample at or before n (ok false before the first).
func (c *comparison) costAt(n uint64) (a, b float64, ok bool) {
	k := int(n / c.per)
	if k == 0 || len(c.curve[0]) == 0 {
		return 0, 0, false
	}
	k = min(k, len(c.curve[0])) - 1
	return c.curve[0][k], c.curve[1][k], true
}

// openCompare asks for the configuration to compare with.
func (a *App) openCompare() {
	if a.ins.cmp != nil {
		a.Compare("")
		return
	}
	a.openPrompt(promptCompare)
	if a.p.cfg.Paging == engine.PagingNested {
		a.prompt.text = "paging=shadow"
	} else {
		a.prompt.text = "paging=nested"
	}
}

// compareWithPicker compares, side by side, with the configuration the
// scenario picker's host, paging and pool rows show, rather than
// replacing the one replayed.
func (a *App) compareWithPicker() {
	pk := a.picker
	cfg := applyOverrides(a.p.cfg, pk.ovr)
	a.picker = nil
	if err := a.Compare(analysis.DescribeConfig(cfg)); err != nil {
		a.setErr(err)
	}
}
