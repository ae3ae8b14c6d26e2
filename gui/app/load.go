package app

import (
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/traces"
	"github.com/pgm-explorer/pgm-explorer/traces/session"
	"github.com/pgm-explorer/pgm-explorer/viz"
)

// loadJob indexes a trace file in the background (native): its timeline,
// labels and length, then its checkpoints.
type loadJob struct {
	done     chan struct{}
	progress atomic.Uint64 // permille
	phase    atomic.Value  // string
	// results, valid once done is closed
	err      error
	ss       *session.Session
	timeline *viz.Timeline
	labels   []Label
	total    uint64
}

func (p *player) startLoad(want uint64) error {
	path := p.src.File
	f, err := traces.Open(path)
	if err != nil {
		return err
	}
	p.hdr = f.Header()
	f.Close()
	if p.cfg, err = p.ovr.Apply(p.hdr.Config); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	if p.eng, err = engine.NewShadow(p.cfg); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	j := &loadJob{done: make(chan struct{})}
	j.phase.Store("indexing the trace")
	p.loading, p.after = j, want
	ovr := p.ovr
	go func() {
		defer close(j.done)
		j.err = j.run(path, ovr)
	}()
	return nil
}

func (j *loadJob) run(path string, ovr Overrides) error {
	// One pass when the checkpoints are built: their replay feeds the
	// timeline and the labels too. When they come from the cache, the
	// timeline needs a replay of its own.
	tl := viz.NewTimeline(512)
	j.phase.Store("indexing the trace")
	ss, err := session.OpenFile(path, session.Options{Overrides: ovr,
		Seek: &traces.SeekOptions{Progress: func(done, total uint64) {
			if total > 0 {
				j.progress.Store(done * 1000 / total)
			}
		}},
		Observe: func(o *engine.Outcome, eng engine.Engine) { j.observe(tl, o, eng) }})
	if err != nil {
		return err
	}
	if err := ss.Damage(); err != nil {
		ss.Close()
		return err
	}
	if !ss.Replayed() {
		total, _ := ss.Total()
		j.phase.Store("building the timeline")
		if err := j.timelinePass(path, ovr, tl, total); err != nil {
			ss.Close()
			return err
		}
	}
	j.ss, j.timeline, j.total = ss, tl, tl.Events
	return nil
}

// observe adds one event to the timeline and the labels.
func (j *loadJob) observe(tl *viz.Timeline, o *engine.Outcome, eng engine.Engine) {
	if o.Event.Kind == engine.EvLabel {
		j.labels = append(j.labels, Label{o.Index, o.Event.Text})
	}
	tl.Add(o)
	if sh, ok := eng.(*engine.Shadow); ok {
		tl.SampleStats(sh)
	}
}

// timelinePass replays the trace for the timeline alone, when the
// checkpoints came from the cache.
func (j *loadJob) timelinePass(path string, ovr Overrides, tl *viz.Timeline, total uint64) error {
	s, err := session.OpenFile(path, session.Options{Overrides: ovr})
	if err != nil {
		return err
	}
	defer s.Close()
	for {
		o, err := s.Step()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		j.observe(tl, &o, s.Engine())
		if total > 0 && tl.Events&0xffff == 0 {
			j.progress.Store(min(tl.Events*1000/total, 1000))
		}
	}
}

// pollLoad adopts a finished background load; it reports whether the
// player changed.
func (p *player) pollLoad() (bool, error) {
	j := p.loading
	if j == nil {
		return false, nil
	}
	select {
	case <-j.done:
	default:
		return false, nil
	}
	p.loading = nil
	if j.err != nil {
		return true, j.err
	}
	p.ss, p.eng = j.ss, j.ss.Shadow()
	p.timeline, p.labels = j.timeline, j.labels
	p.total, p.totalKnown = j.total, true
	p.seekTo(min(p.after, p.total))
	return true, nil
}

// LoadProgress is the state of a background load: its phase and how far
// it is, 0 to 1. ok is false when nothing is loading.
func (p *player) loadProgress() (phase string, frac float64, ok bool) {
	if p.loading == nil {
		return "", 0, false
	}
	return p.loading.phase.Load().(string), float64(p.loading.progress.Load()) / 1000, true
}
