package app

import (
	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// seekEngine is the engine a file's Seeker drives. A saved state holds
// neither the statistics nor the shadow pool, so an engine that loads a
// checkpoint keeps the counters and the pool's peak of everything it
// applied before: after the Seeker built its checkpoints (a replay of
// the whole trace), a seek to event 2000 showed the counters of the
// whole trace plus 2000 events. So each load starts a fresh engine:
// what the panels show then counts from the checkpoint loaded (event 0
// for most seeks of a text trace, and within the first interval of a
// binary one: exactly what a replay from the start shows).
//
// Named snapshots (save events) live in the engine, and the Seeker
// counts on it keeping them across loads: for a trace that saves, the
// engine is kept and only its counters are zeroed (the pool's peak then
// still remembers earlier events).
type seekEngine struct {
	cfg   engine.Config
	cur   *engine.Shadow
	keep  bool   // the trace saves snapshots: keep the engine on load
	since uint64 // the event of the last state loaded
}

func newSeekEngine(cfg engine.Config, keep bool) (*seekEngine, error) {
	e, err := engine.NewShadow(cfg)
	if err != nil {
		return nil, err
	}
	return &seekEngine{cfg: cfg, cur: e, keep: keep}, nil
}

func (s *seekEngine) Apply(ev engine.Event) (engine.Outcome, error) { return s.cur.Apply(ev) }
func (s *seekEngine) State() *engine.State                          { return s.cur.State() }
func (s *seekEngine) Events() uint64                                { return s.cur.Events() }
func (s *seekEngine) VirtHandlers() []*engine.VirtHandler           { return s.cur.VirtHandlers() }
func (s *seekEngine) DeregisterVirtHandler(start x86.GVA) error {
	return s.cur.DeregisterVirtHandler(start)
}
func (s *seekEngine) RegisterVirtHandler(typ engine.VirtHandlerType, start x86.GVA, size uint64, name string) error {
	return s.cur.RegisterVirtHandler(typ, start, size, name)
}

func (s *seekEngine) LoadState(st *engine.State) error {
	if s.keep {
		if err := s.cur.LoadState(st); err != nil {
			return err
		}
		s.cur.Stats().Reset()
		s.since = s.cur.Events()
		return nil
	}
	e, err := engine.NewShadow(s.cfg)
	if err != nil {
		return err
	}
	if err := e.LoadState(st); err != nil {
		return err
	}
	if e.Events() == 0 {
		// Loading resynchronises, which counts; the state before the
		// first event is a new engine's.
		if e, err = engine.NewShadow(s.cfg); err != nil {
			return err
		}
	}
	s.cur, s.since = e, e.Events()
	return nil
}
