package app

import (
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/traces"
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
	sk       *traces.Seeker
	eng      *seekEngine
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
	p.cfg = applyOverrides(p.hdr.Config, p.ovr)
	f.Close()
	if p.eng, err = engine.NewShadow(p.cfg); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	j := &loadJob{done: make(chan struct{})}
	j.phase.Store("reading the trace")
	p.loading, p.after = j, want
	cfg := p.cfg
	go func() {
		defer close(j.done)
		j.err = j.run(path, cfg)
	}()
	return nil
}

func (j *loadJob) run(path string, cfg engine.Config) error {
	f, err := traces.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	eng, err := engine.NewShadow(cfg)
	if err != nil {
		return err
	}
	tl := viz.NewTimeline(512)
	saves := false
	for {
		ev, err := f.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		o, err := eng.Apply(ev)
		if err != nil {
			return fmt.Errorf("%s: %v", f.Position(), err)
		}
		if ev.Kind == engine.EvLabel {
			j.labels = append(j.labels, Label{o.Index, ev.Text})
		}
		saves = saves || ev.Kind == engine.EvSave
		tl.Add(&o)
		tl.SampleStats(eng)
		if tl.Events&0xffff == 0 {
			j.progress.Store(min(tl.Events/20_000, 400))
		}
	}
	j.timeline, j.total = tl, tl.Events
	j.phase.Store("building checkpoints")
	seng, err := newSeekEngine(cfg, saves)
	if err != nil {
		return err
	}
	sk, err := traces.OpenSeeker(path, seng, &traces.SeekOptions{Progress: func(done, total uint64) {
		if total > 0 {
			j.progress.Store(400 + done*600/total)
		}
	}})
	if err != nil {
		return err
	}
	j.sk, j.eng = sk, seng
	return nil
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
	p.sk, p.seng, p.eng = j.sk, j.eng, j.eng.cur
	p.st = &seekStream{sk: j.sk}
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
