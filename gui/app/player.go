package app

import (
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/traces"
	"github.com/pgm-explorer/pgm-explorer/traces/session"
	"github.com/pgm-explorer/pgm-explorer/viz"
)

// Label is a label event of the replay.
type Label struct {
	Event uint64 // its index
	Text  string
}

// Until is a condition that ends a run: step to the next fault, mode
// change or label.
type Until uint8

const (
	UntilNone Until = iota
	UntilFault
	UntilMode
	UntilLabel
	// UntilStep ends a run of the tour: once a label and the events
	// it explains are applied, just before the next label, so that a
	// step shows the state its text talks about.
	UntilStep
)

var untilNames = [...]string{"", "fault", "mode change", "label", "step"}

func (u Until) String() string { return untilNames[u] }

// matches reports whether o ends a run until u.
func (u Until) matches(o *engine.Outcome) bool {
	switch u {
	case UntilFault:
		return viz.GuestFault(o.Path)
	case UntilMode:
		return o.Notes&engine.NoteModeChange != 0
	case UntilLabel:
		return o.Event.Kind == engine.EvLabel
	}
	return false
}

// Speeds are the replay speeds [ and ] step through, in events per
// second; the last, +Inf, is flat out (as many events as the time budget
// of a tick allows).
var Speeds = []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000, math.Inf(1)}

// TPS is the number of Update calls per second the player assumes (the
// Ebiten default).
const TPS = 60

// player replays a source through the shadow engine and keeps what the
// panels need: the last outcomes, the timeline and the labels.
type player struct {
	src Source
	ovr Overrides
	cfg engine.Config // the session's: the header's with the overrides
	hdr traces.Header

	ss  *session.Session // nil while a file is loading
	eng *engine.Shadow   // the session's engine (it changes on seeks through checkpoints)

	last    engine.Outcome
	ended   bool  // the source has no event at the current position
	waiting bool  // a live source has no event yet at the current position (not the end)
	err     error // the source or the engine failed at the current position

	// total is the number of events once known: a trace's length after
	// the first pass, a workload's when it has ended.
	total      uint64
	totalKnown bool

	recent   *viz.Recent
	history  *viz.StatsHistory // for the rates in the statistics panel
	timeline *viz.Timeline
	labels   []Label

	playing      bool
	speed        int // index in Speeds
	acc          float64
	until        Until
	stopAtLabels bool   // the tour pauses at each step so that it can be read
	runFrom      uint64 // where the current run (play, f, m, n) started
	runLabel     bool   // the current run has applied a label
	missed       Until  // a run found nothing ahead and went back (the app says so)

	// pending is the next event, read ahead (session.Peek) to see
	// whether a tour step ends before it; step applies it.
	pending engine.Event

	seeking bool
	target  uint64
	after   uint64 // where to go once the first pass of a trace has ended
	scan    bool   // the first pass: learning a trace's length, labels and timeline

	loading *loadJob // a file being indexed in the background

	// late: the last advance ran out of time, so the replay is bound by
	// the CPU and the picture is redrawn at a capped rate (App.Frame).
	late bool
}

// newPlayer opens src with the overrides and positions it at event want
// (clamped to the trace's end).
func newPlayer(src Source, ovr Overrides, want uint64) (*player, error) {
	p := &player{src: src, ovr: ovr, speed: 4, recent: viz.NewRecent(64), timeline: viz.NewTimeline(512),
		history: viz.NewStatsHistory(viz.RateWindow)}
	if src.File != "" && src.Data == nil {
		return p, p.startLoad(want)
	}
	st, err := openSource(src)
	if err != nil {
		return nil, err
	}
	if p.ss, err = session.Open(st, session.Options{Overrides: ovr}); err != nil {
		return nil, fmt.Errorf("%s: %v", src.Name(), err)
	}
	p.hdr, p.cfg, p.eng = p.ss.Header(), p.ss.Config(), p.ss.Shadow()
	if src.Workload == "" && (src.Events == nil || src.Events.Live == nil) {
		// A first pass learns the length, the labels and the whole
		// timeline, so that the timeline can be dragged anywhere.
		p.scan, p.after = true, want
		p.seekTo(math.MaxUint64)
	} else {
		p.seekTo(want)
	}
	return p, nil
}

// applyOverrides is the configuration o makes of c (c when o's pool is
// out of range: the session refuses it when it opens).
func applyOverrides(c engine.Config, o Overrides) engine.Config {
	if n, err := o.Apply(c); err == nil {
		return n
	}
	return c
}

func (p *player) close() {
	if p.ss != nil {
		p.ss.Close()
	}
}

// checkpointed reports that seeks jump through a file's checkpoints.
func (p *player) checkpointed() bool { return p.ss != nil && p.ss.Checkpointed() }

// statsFrom is the event the engine's counters count from.
func (p *player) statsFrom() uint64 {
	if p.ss == nil {
		return 0
	}
	return p.ss.StatsFrom()
}

// pos is the number of events applied.
func (p *player) pos() uint64 { return p.eng.Events() }

// busy reports whether the player has work for the next tick. Playing a
// live guest that has sent nothing new is settled (a screenshot may be
// taken): the ticks only look for its next stop.
func (p *player) busy() bool {
	return p.loading != nil || p.seeking || p.until != UntilNone || p.playing && !p.waiting
}

func (p *player) seekTo(n uint64) {
	if p.totalKnown {
		n = min(n, p.total)
	}
	p.seeking, p.target, p.until = true, n, UntilNone
}

// reset brings the engine back to event 0.
func (p *player) reset() error {
	p.recent.Reset()
	p.ended, p.waiting, p.err = false, false, nil
	err := p.ss.Reset()
	p.eng = p.ss.Shadow()
	return err
}

// step applies one event. It reports false at the end of the source, when
// a live source has no event yet, or on an error (kept in p.err).
func (p *player) step() bool {
	if !p.peek() {
		return false
	}
	ev := p.pending
	o, err := p.ss.Step()
	if err != nil {
		var se *session.StepError
		if errors.As(err, &se) {
			err = fmt.Errorf("event %d (%s): %v", se.Index, traces.AppendEvent(nil, se.Event), se.Err)
		}
		p.err = err
		return false
	}
	n := o.Index
	p.last = o
	if ev.Kind == engine.EvLabel {
		p.runLabel = true
	}
	p.recent.Add(o)
	p.history.Observe(p.eng)
	if n == p.timeline.Events {
		p.timeline.Add(&o)
		p.timeline.SampleStats(p.eng)
		if ev.Kind == engine.EvLabel {
			p.labels = append(p.labels, Label{n, ev.Text})
		}
	}
	return true
}

// peek reads the next event into p.pending. It reports false at the end
// of the source, when a live source has no event yet (p.waiting), or on
// an error (kept in p.err).
func (p *player) peek() bool {
	if p.ended || p.err != nil {
		return false
	}
	ev, err := p.ss.Peek()
	p.waiting = errors.Is(err, session.ErrNoEvents)
	switch {
	case err == nil:
		p.pending = ev
		return true
	case p.waiting:
		return false
	case errors.Is(err, io.EOF):
		p.ended = true
		if !p.totalKnown {
			p.total, p.totalKnown = p.pos(), true
		}
		return false
	}
	p.err = err
	return false
}

// stepEnds reports whether a tour step ends here: the run has applied
// a label (from the middle of a step, the next step is the one to show)
// and the next event is another.
func (p *player) stepEnds() bool {
	return p.runLabel && p.peek() && p.pending.Kind == engine.EvLabel
}

// startRun notes where a run (play, f, m, n) starts.
func (p *player) startRun() {
	p.runFrom, p.runLabel = p.pos(), false
}

// advance does up to a tick's work before deadline. It reports whether
// anything changed.
func (p *player) advance(deadline time.Time) (changed bool, err error) {
	p.late = false
	if p.loading != nil {
		return p.pollLoad()
	}
	if p.err != nil && !p.seeking {
		return false, nil
	}
	switch {
	case p.seeking:
		if p.target < p.pos() || p.err != nil && p.target != p.pos() {
			if p.checkpointed() {
				return true, p.seekFile(p.target)
			}
			if err := p.reset(); err != nil {
				p.seeking = false
				return true, err
			}
		}
		if p.checkpointed() && p.target > p.pos()+4096 {
			return true, p.seekFile(p.target)
		}
		if _, why := p.run(deadline, p.target-p.pos(), UntilNone); why == runLate {
			p.late = true
			return true, nil
		}
		p.seeking = false
		if p.scan {
			p.scan = false
			p.seekTo(p.after)
		}
		return true, nil
	case p.until != UntilNone:
		_, why := p.run(deadline, math.MaxUint64, p.until)
		if p.late = why == runLate; !p.late {
			u := p.until
			p.until = UntilNone
			// Nothing ahead: go back to where the run started rather
			// than lose the place at the end, and say so.
			if why == runOver && p.err == nil && !(u == UntilStep && p.runLabel) {
				p.missed = u
				p.seekTo(p.runFrom)
			}
		}
		return true, nil
	case p.playing:
		sp := Speeds[p.speed]
		n := uint64(math.MaxUint64)
		if !math.IsInf(sp, 1) {
			p.acc += sp / TPS
			n = uint64(p.acc)
			p.acc -= float64(n)
		}
		stop := UntilNone
		if p.stopAtLabels {
			stop = UntilStep
		}
		done, why := p.run(deadline, n, stop)
		switch why {
		case runLate:
			p.late = true
		case runStop, runOver:
			if p.waiting && why == runOver {
				// A live guest: play on as its events arrive.
				return done > 0, nil
			}
			p.playing = false
			return true, nil
		}
		return done > 0, nil
	}
	return false, nil
}

// seekFile jumps through the checkpoints, then replays the last few
// events so that the recent outcomes (and the walk they select) are
// there.
func (p *player) seekFile(n uint64) error {
	p.seeking = false
	p.recent.Reset()
	p.ended, p.waiting, p.err = false, false, nil
	from := n - min(n, 48)
	err := p.ss.Seek(from)
	p.eng = p.ss.Shadow()
	if err != nil {
		p.err = err
		return err
	}
	for p.pos() < n && p.step() {
	}
	return nil
}

// position in the events of the label before (dir < 0) or after the
// current position; ok is false when there is none.
func (p *player) labelNear(dir int) (Label, bool) {
	now := p.pos()
	if dir < 0 {
		for i := len(p.labels) - 1; i >= 0; i-- {
			// A label applied just now is the current one: go before it.
			if p.labels[i].Event+1 < now {
				return p.labels[i], true
			}
		}
		return Label{}, false
	}
	for _, l := range p.labels {
		if l.Event >= now {
			return l, true
		}
	}
	return Label{}, false
}

// currentLabel is the latest label applied, if any.
func (p *player) currentLabel() (Label, bool) {
	now := p.pos()
	for i := len(p.labels) - 1; i >= 0; i-- {
		if p.labels[i].Event < now {
			return p.labels[i], true
		}
	}
	return Label{}, false
}
