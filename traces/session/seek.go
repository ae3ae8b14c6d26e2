package session

import (
	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// seekEngine is the engine a file's Seeker drives. A saved state holds
// neither the statistics nor the shadow pool, so an engine that loads a
// checkpoint would keep the counters and the pool's peak of everything
// it applied before: after the Seeker built its checkpoints (a replay of
// the whole trace), a seek to event 2000 would show the counters of the
// whole trace plus 2000 events. So each load starts a new engine: its
// counters count from the checkpoint loaded (StatsFrom), which for most
// seeks of a text trace is event 0 and within the first interval of a
// binary one: exactly what a replay from the start shows.
//
// Named snapshots (save events) live in the engine, and the Seeker
// counts on it keeping them across loads: once a save event has gone
// through this engine, it is kept and only its counters are zeroed (the
// pool's peak then still remembers earlier events). Before that it holds
// no snapshot, so replacing it loses none.
type seekEngine struct {
	s     *Session
	cur   engine.Engine
	saved bool   // a save event has been applied: keep the engine on load
	since uint64 // the event of the last state loaded
}

// loader is what the Seeker needs of an engine beyond engine.Engine;
// both engines have it.
type loader interface {
	State() *engine.State
	LoadState(*engine.State) error
}

type virtEngine interface {
	VirtHandlers() []*engine.VirtHandler
	RegisterVirtHandler(typ engine.VirtHandlerType, start x86.GVA, size uint64, name string) error
	DeregisterVirtHandler(start x86.GVA) error
}

func (e *seekEngine) Apply(ev engine.Event) (engine.Outcome, error) {
	var o engine.Outcome
	err := e.ApplyTo(&ev, &o)
	return o, err
}

func (e *seekEngine) ApplyTo(ev *engine.Event, o *engine.Outcome) error {
	err := e.cur.ApplyTo(ev, o)
	if err == nil && ev.Kind == engine.EvSave {
		e.saved = true
	}
	return err
}

func (e *seekEngine) State() *engine.State { return e.cur.(loader).State() }
func (e *seekEngine) Events() uint64       { return e.cur.Events() }

// Config lets the Seeker's cache key name the configuration.
func (e *seekEngine) Config() engine.Config { return e.cur.Config() }

func (e *seekEngine) VirtHandlers() []*engine.VirtHandler {
	return e.cur.(virtEngine).VirtHandlers()
}
func (e *seekEngine) DeregisterVirtHandler(start x86.GVA) error {
	return e.cur.(virtEngine).DeregisterVirtHandler(start)
}
func (e *seekEngine) RegisterVirtHandler(typ engine.VirtHandlerType, start x86.GVA, size uint64, name string) error {
	return e.cur.(virtEngine).RegisterVirtHandler(typ, start, size, name)
}

func (e *seekEngine) LoadState(st *engine.State) error {
	if e.saved {
		if err := e.cur.(loader).LoadState(st); err != nil {
			return err
		}
		if sh, ok := e.cur.(*engine.Shadow); ok {
			sh.Stats().Reset()
		}
		e.since = e.cur.Events()
		return nil
	}
	n, err := e.s.newEngine()
	if err != nil {
		return err
	}
	if err := n.(loader).LoadState(st); err != nil {
		return err
	}
	if n.Events() == 0 {
		// Loading resynchronises, which counts; the state before the
		// first event is a new engine's.
		if n, err = e.s.newEngine(); err != nil {
			return err
		}
	}
	e.cur, e.since = n, n.Events()
	return nil
}
