package session

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/traces"
)

// Kind is the engine a session drives.
type Kind uint8

const (
	Shadow    Kind = iota // the PGM engine: shadow or nested paging
	Reference             // the reference CPU, which walks the guest tables on every access
)

// ParseKind reads "shadow" or "ref".
func ParseKind(s string) (Kind, error) {
	switch s {
	case "shadow":
		return Shadow, nil
	case "ref":
		return Reference, nil
	}
	return 0, fmt.Errorf("unknown engine %q (want shadow or ref)", s)
}

// Options say how a session runs its source.
type Options struct {
	Overrides
	Engine Kind
	// Seek, for OpenFile: build checkpoints (or read them from the
	// cache) so that Seek jumps instead of replaying from the start.
	// nil: no checkpoints.
	Seek *traces.SeekOptions
	// Observe, with Seek, sees the outcome of every event of the replay
	// that builds the checkpoints, with the engine as the event left it
	// (see traces.SeekOptions.Observe and Replayed).
	Observe func(o *engine.Outcome, eng engine.Engine)
}

// StepError is an event the engine refused (a trace error: a #GP on a
// control-register write, an access outside RAM...).
type StepError struct {
	Pos   string // the source's position, e.g. "trace.txt:12"
	Index uint64 // the event's index
	Event engine.Event
	Err   error
}

// Error is "POSITION: EVENT: why", without the event when the engine's
// message already starts with it (a #GP names register and value).
func (e *StepError) Error() string {
	text := string(traces.AppendEvent(nil, e.Event))
	if strings.HasPrefix(e.Err.Error(), text) {
		return e.Pos + ": " + e.Err.Error()
	}
	return e.Pos + ": " + text + ": " + e.Err.Error()
}

func (e *StepError) Unwrap() error { return e.Err }

// Session is a source replayed through an engine. See the package doc
// for what it guarantees.
type Session struct {
	src  Source
	hdr  traces.Header
	cfg  engine.Config
	opt  Options
	eng  engine.Engine
	sk   *traces.Seeker // OpenFile with Options.Seek
	seng *seekEngine    // the engine sk drives

	pending    engine.Event
	hasPending bool
	last       engine.Outcome
	scratch    engine.Outcome
	prev       *engine.Outcome // &last once an event is applied since the start or a seek
	ended      bool            // the source ended at the current position

	total      uint64
	totalKnown bool
}

// Open builds the engine for src's header with the overrides of o. On
// error src is closed.
func Open(src Source, o Options) (*Session, error) {
	s := &Session{src: src, hdr: src.Header(), opt: o}
	var err error
	if s.cfg, err = o.Apply(s.hdr.Config); err == nil {
		s.eng, err = s.newEngine()
	}
	if err != nil {
		src.Close()
		return nil, err
	}
	if l, ok := src.(interface{ Len() (uint64, bool) }); ok {
		s.total, s.totalKnown = l.Len()
	}
	return s, nil
}

// OpenFile opens a trace file (or a core) as File does; with o.Seek set
// it builds the checkpoints first, which replays the whole trace once.
func OpenFile(path string, o Options) (*Session, error) {
	if o.Seek == nil {
		src, err := File(path)
		if err != nil {
			return nil, err
		}
		return Open(src, o)
	}
	f, err := traces.Open(path)
	if err != nil {
		return nil, err
	}
	hdr := f.Header()
	f.Close()
	cfg, err := o.Apply(hdr.Config)
	if err != nil {
		return nil, err
	}
	s := &Session{hdr: hdr, cfg: cfg, opt: o}
	s.seng = &seekEngine{s: s}
	if s.seng.cur, err = s.newEngine(); err != nil {
		return nil, err
	}
	so := *o.Seek
	if so.Key == "" {
		// The Seeker's default key would name the wrapper's type, the
		// same for both engines, whose saved states differ.
		so.Key = fmt.Sprintf("%T state v%d %+v", s.seng.cur, engine.SavedStateVersion, cfg)
	}
	if o.Observe != nil {
		so.Observe = func(out *engine.Outcome) { o.Observe(out, s.seng.cur) }
	}
	if s.sk, err = traces.OpenSeeker(path, s.seng, &so); err != nil {
		return nil, err
	}
	s.src, s.eng = &seekerSource{s.sk}, s.seng.cur
	s.hdr = s.sk.Header()
	s.total, s.totalKnown = s.sk.Len(), true
	return s, nil
}

func (s *Session) newEngine() (engine.Engine, error) {
	var eng engine.Engine
	var err error
	if s.opt.Engine == Reference {
		eng, err = engine.NewReference(s.cfg)
	} else {
		eng, err = engine.NewShadow(s.cfg)
	}
	if err != nil {
		return nil, err
	}
	s.opt.limit(eng)
	return eng, nil
}

// Header is the source's header, as read (before the overrides).
func (s *Session) Header() traces.Header { return s.hdr }

// Config is the engine's configuration: the header's with the overrides.
func (s *Session) Config() engine.Config { return s.cfg }

// Source is the source the session reads.
func (s *Session) Source() Source { return s.src }

// Engine is the engine at the current position. It changes after Seek
// and Reset.
func (s *Session) Engine() engine.Engine { return s.eng }

// Shadow is Engine for a shadow session, nil for the reference CPU.
func (s *Session) Shadow() *engine.Shadow {
	sh, _ := s.eng.(*engine.Shadow)
	return sh
}

// Pos is the number of events applied: the index of the next.
func (s *Session) Pos() uint64 { return s.eng.Events() }

// Position names the event last read, for messages.
func (s *Session) Position() string { return s.src.Position() }

// Total is the number of events, when known.
func (s *Session) Total() (uint64, bool) { return s.total, s.totalKnown }

// Ended reports that the source has no event at the current position.
func (s *Session) Ended() bool { return s.ended }

// StatsFrom is the event the engine's counters count from: 0, or the
// checkpoint a seek loaded.
func (s *Session) StatsFrom() uint64 {
	if s.seng != nil && s.seng.cur == s.eng {
		return s.seng.since
	}
	return 0
}

// Checkpointed reports that Seek jumps through checkpoints.
func (s *Session) Checkpointed() bool { return s.sk != nil }

// Replayed reports whether OpenFile replayed the trace to build its
// checkpoints, calling Options.Observe for every event, rather than
// reading them from the cache.
func (s *Session) Replayed() bool { return s.sk != nil && s.sk.Replayed() }

// Damage is why the checkpoints' replay stopped before the end of the
// file (a damaged trace, an event the engine refused), or nil.
func (s *Session) Damage() error {
	if s.sk == nil {
		return nil
	}
	return s.sk.Damage()
}

// Last is the outcome of the last event applied, nil at the start and
// after a seek.
func (s *Session) Last() *engine.Outcome { return s.prev }

// Peek reads the next event without applying it; the next Step applies
// it. Errors are Step's, but for *StepError.
func (s *Session) Peek() (engine.Event, error) {
	if s.hasPending {
		return s.pending, nil
	}
	if s.ended {
		return engine.Event{}, io.EOF
	}
	ev, err := s.src.Next(s.prev)
	if errors.Is(err, io.EOF) {
		s.ended = true
		if !s.totalKnown {
			s.total, s.totalKnown = s.Pos(), true
		}
		return ev, io.EOF
	}
	if err != nil {
		return ev, err
	}
	s.pending, s.hasPending = ev, true
	return ev, nil
}

// Step applies the next event and returns its outcome: io.EOF at the
// end, ErrNoEvents when a growing source has none yet, a *StepError when
// the engine refuses the event (the session stays before it), or the
// source's error.
func (s *Session) Step() (engine.Outcome, error) {
	ev, err := s.Peek()
	if err != nil {
		return engine.Outcome{}, err
	}
	n := s.Pos()
	// Into a scratch outcome: a refused event leaves Last as it was.
	if err := s.eng.ApplyTo(&ev, &s.scratch); err != nil {
		return s.scratch, &StepError{Pos: s.src.Position(), Index: n, Event: ev, Err: err}
	}
	s.hasPending = false
	s.last = s.scratch
	s.prev = &s.last
	return s.last, nil
}

// Reset brings the session back to event 0: a new engine (or the
// checkpoint before the first event) and the source from its start.
func (s *Session) Reset() error {
	s.forget()
	if s.sk != nil {
		err := s.sk.Seek(0)
		s.eng = s.seng.cur
		return err
	}
	eng, err := s.newEngine()
	if err != nil {
		return err
	}
	if err := s.src.Restart(); err != nil {
		return err
	}
	s.eng = eng
	return nil
}

// forget drops what was read ahead and the last outcome.
func (s *Session) forget() {
	s.hasPending, s.ended, s.prev = false, false, nil
}

// Seek brings the engine to the state after events 0..n-1: through the
// checkpoints when there are, else forward from here or from the start.
// Reaching the end first is an error matching both traces.ErrSeekRange
// and io.EOF (a growing source: ErrNoEvents); the session is then at the
// end, or for a checkpointed file where it was.
func (s *Session) Seek(n uint64) error {
	if s.sk != nil {
		if n > s.total {
			return fmt.Errorf("%w: event %d, the trace has %d: %w", traces.ErrSeekRange, n, s.total, io.EOF)
		}
		s.forget()
		err := s.sk.Seek(n)
		s.eng = s.seng.cur
		return err
	}
	if n < s.Pos() {
		if err := s.Reset(); err != nil {
			return err
		}
	}
	for s.Pos() < n {
		if _, err := s.Step(); err != nil {
			if errors.Is(err, io.EOF) {
				return fmt.Errorf("%w: event %d, the trace has %d: %w", traces.ErrSeekRange, n, s.Pos(), io.EOF)
			}
			return err
		}
	}
	return nil
}

// Close closes the source.
func (s *Session) Close() error {
	if s.sk != nil {
		return s.sk.Close()
	}
	return s.src.Close()
}

// seekerSource reads a trace through its Seeker.
type seekerSource struct{ sk *traces.Seeker }

func (s *seekerSource) Header() traces.Header                      { return s.sk.Header() }
func (s *seekerSource) Next(*engine.Outcome) (engine.Event, error) { return s.sk.Next() }
func (s *seekerSource) Position() string                           { return s.sk.Position() }
func (s *seekerSource) Restart() error                             { return s.sk.Seek(0) }
func (s *seekerSource) Close() error                               { return s.sk.Close() }
