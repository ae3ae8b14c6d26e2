package session

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/traces"
	"github.com/pgm-explorer/pgm-explorer/traces/samples"
	"github.com/pgm-explorer/pgm-explorer/traces/workload"
)

// Source is a stream of events with the header of the machine they run
// on. The sources of this package are the usual ones; a caller may bring
// its own (the window runs live workloads on a goroutine of their own).
type Source interface {
	// Header is the trace's header, normalised.
	Header() traces.Header
	// Next returns the next event, io.EOF after the last one, or
	// ErrNoEvents when a growing source has none yet. prev is the
	// outcome of the event before (nil for the first): live workloads
	// choose their next event from it, the others ignore it.
	Next(prev *engine.Outcome) (engine.Event, error)
	// Position names the event Next last returned, for messages.
	Position() string
	// Restart starts again from the first event.
	Restart() error
	Close() error
}

// ErrNoEvents is a growing source with nothing more yet: not the end.
var ErrNoEvents = errors.New("no events yet")

// errNoRestart is a source read once (a stream).
var errNoRestart = errors.New("this source cannot start again")

// readerSource reads a traces.Reader; open, when set, gives a new one
// to start again.
type readerSource struct {
	rd    traces.Reader
	open  func() (traces.Reader, io.Closer, error)
	close io.Closer
}

func (s *readerSource) Header() traces.Header                      { return s.rd.Header() }
func (s *readerSource) Next(*engine.Outcome) (engine.Event, error) { return s.rd.Next() }
func (s *readerSource) Position() string                           { return s.rd.Position() }

func (s *readerSource) Restart() error {
	if s.open == nil {
		return errNoRestart
	}
	rd, c, err := s.open()
	if err != nil {
		return err
	}
	s.Close()
	s.rd, s.close = rd, c
	return nil
}

func (s *readerSource) Close() error {
	if s.close == nil {
		return nil
	}
	err := s.close.Close()
	s.close = nil
	return err
}

// FromReader reads a trace that is read once (it cannot Restart, so a
// session on it cannot seek backwards). Closing the source does not
// close rd's input.
func FromReader(rd traces.Reader) Source { return &readerSource{rd: rd} }

// File opens a trace file of either form, or a core, as traces.Open
// does; starting again opens it again.
func File(path string) (Source, error) {
	open := func() (traces.Reader, io.Closer, error) {
		f, err := traces.Open(path)
		if err != nil {
			return nil, nil, err
		}
		return f, f, nil
	}
	rd, c, err := open()
	if err != nil {
		return nil, err
	}
	return &readerSource{rd: rd, open: open, close: c}, nil
}

// Bytes reads a trace held in memory, of either form; name is used in
// messages.
func Bytes(name string, data []byte) (Source, error) {
	open := func() (traces.Reader, io.Closer, error) {
		rd, _, err := traces.NewReader(bytes.NewReader(data), name)
		return rd, nil, err
	}
	rd, _, err := open()
	if err != nil {
		return nil, err
	}
	return &readerSource{rd: rd, open: open}, nil
}

// Sample reads an embedded sample trace (package samples) by name.
func Sample(name string) (Source, error) {
	data, err := samples.Read(name)
	if err != nil {
		return nil, fmt.Errorf("sample %s: %w", name, err)
	}
	return Bytes(name, data)
}

// Events replays a list computed up front (an x86 recording, a what-if
// branch); the list is not copied and must not change.
func Events(name string, h traces.Header, evs []engine.Event) Source {
	return &listSource{name: name, h: h, evs: evs}
}

type listSource struct {
	name string
	h    traces.Header
	evs  []engine.Event
	i    int
}

func (s *listSource) Header() traces.Header { return s.h }
func (s *listSource) Restart() error        { s.i = 0; return nil }
func (s *listSource) Close() error          { return nil }
func (s *listSource) Position() string      { return fmt.Sprintf("%s: event %d", s.name, max(s.i-1, 0)) }

func (s *listSource) Next(*engine.Outcome) (engine.Event, error) {
	if s.i >= len(s.evs) {
		return engine.Event{}, io.EOF
	}
	s.i++
	return s.evs[s.i-1], nil
}

// Len is the number of events: the list's total is known from the start.
func (s *listSource) Len() (uint64, bool) { return uint64(len(s.evs)), true }

// Workload runs a live guest model (package workload), which chooses
// each event from the outcome of the one before. Starting again builds
// the model again: models are deterministic in their seed and
// parameters. The model must be resumed from the goroutine that made
// it (models are coroutines).
func Workload(name string, seed uint64, params map[string]string) (Source, error) {
	s := &workloadSource{name: name, seed: seed, params: params}
	if err := s.Restart(); err != nil {
		return nil, err
	}
	return s, nil
}

type workloadSource struct {
	name   string
	seed   uint64
	params map[string]string
	w      workload.Workload
	h      traces.Header
	n      uint64
}

func (s *workloadSource) Header() traces.Header { return s.h }
func (s *workloadSource) Position() string      { return fmt.Sprintf("%s: event %d", s.name, max(s.n, 1)-1) }

func (s *workloadSource) Next(prev *engine.Outcome) (engine.Event, error) {
	ev, err := s.w.Next(prev)
	if err == nil {
		s.n++
	}
	return ev, err
}

func (s *workloadSource) Restart() error {
	w, err := workload.New(s.name, s.seed, s.params)
	if err != nil {
		return err
	}
	s.Close()
	s.w, s.h, s.n = w, w.Header(), 0
	return nil
}

func (s *workloadSource) Close() error {
	if s.w != nil {
		s.w.Close()
		s.w = nil
	}
	return nil
}

// EventCount is the number of events a binary trace's header announces
// (for progress lines: a damaged trace has fewer).
func (s *readerSource) EventCount() (uint64, bool) {
	rd := s.rd
	if f, ok := rd.(*traces.File); ok {
		rd = f.Reader
	}
	if br, ok := rd.(*traces.BinaryReader); ok {
		return br.EventCount()
	}
	return 0, false
}
