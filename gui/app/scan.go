package app

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/traces/session"
)

// scan is a second replay of the player's source, beside it, for what
// needs every event rather than the one shown: the search's matches
// and the hot spots. It has its own stream and engine, so it never
// moves the player, and it runs in slices of each tick's time, so a
// long trace is searched while the window stays live. A trace is
// scanned to its end; a live workload, which has none, only as far as
// the player has replayed it (the window says how far it got).
type scan struct {
	p    *player // the player whose source and configuration this replays
	st   session.Source
	fin  bool // the source ends (a trace), unlike a live workload
	eng  *engine.Shadow
	last engine.Outcome
	prev *engine.Outcome
	// sinks see each outcome in order, right after the engine applied
	// its event (the analyzer reads the engine's pool then).
	sinks []func(o *engine.Outcome)
	done  bool // the source ended
	err   error
	// to, when set, is how far to go instead (the comparison's second
	// engine follows the player's position).
	to func() uint64
}

// newScan opens a second replay of p's source from its first event.
func newScan(p *player) (*scan, error) { return newScanCfg(p, p.cfg) }

// newScanCfg opens a second replay of p's source in another
// configuration.
func newScanCfg(p *player, cfg engine.Config) (*scan, error) {
	s := &scan{p: p}
	src := p.src
	var err error
	if s.st, err = openScanSource(src); err != nil {
		return nil, err
	}
	s.fin = src.finite()
	if s.eng, err = engine.NewShadow(cfg); err != nil {
		s.st.Close()
		return nil, err
	}
	return s, nil
}

// pos is the number of events scanned.
func (s *scan) pos() uint64 { return s.eng.Events() }

// finite reports whether the scan can reach the source's end.
func (s *scan) finite() bool { return s.fin }

// limit is how far the scan may go: a trace's end, or the furthest a
// live workload has been replayed.
func (s *scan) limit() uint64 {
	if s.to != nil {
		return s.to()
	}
	if s.fin {
		return ^uint64(0)
	}
	return max(s.p.timeline.Events, s.p.pos())
}

// complete reports whether there is nothing more to scan for now.
func (s *scan) complete() bool {
	return s.done || s.err != nil || s.pos() >= s.limit()
}

// run scans until the deadline, the limit or the end; it reports
// whether it scanned anything.
func (s *scan) run(deadline time.Time) bool {
	lim := s.limit()
	start := s.pos()
	for n := 0; !s.done && s.err == nil && s.pos() < lim; n++ {
		if n&255 == 255 && time.Now().After(deadline) {
			break
		}
		ev, err := s.st.Next(s.prev)
		if errors.Is(err, io.EOF) {
			s.done = true
			break
		}
		if err != nil {
			s.err = err
			break
		}
		o, err := s.eng.Apply(ev)
		if err != nil {
			s.err = fmt.Errorf("event %d: %v", s.pos(), err)
			break
		}
		s.last = o
		s.prev = &s.last
		for _, f := range s.sinks {
			f(&s.last)
		}
	}
	return s.pos() != start
}

func (s *scan) close() { s.st.Close() }

// openScanSource opens a reading of src of its own, from its first
// event, for a replay beside the player's: a file from its start (the
// player reads it through its checkpoints), the events a live source
// has delivered so far (its own reading is the player's).
func openScanSource(src Source) (session.Source, error) {
	switch {
	case src.File != "" && src.Data == nil:
		return session.File(src.File)
	case src.Events != nil && src.Events.Live != nil:
		l := src.Events.Live
		return session.Events(src.Events.Name, l.Header(), l.Arrived()), nil
	}
	return openSource(src)
}

// finite reports whether src ends: a trace does; a live workload or a
// guest still being followed has no end yet.
func (src Source) finite() bool {
	return src.Workload == "" && (src.Events == nil || src.Events.Live == nil)
}
