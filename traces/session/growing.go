package session

import (
	"fmt"
	"io"
	"sync"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/traces"
)

// Growing is a list of events that grows while it is read: a guest
// followed live (explorer gui --attach). Its readers (Reader) are
// sources that give ErrNoEvents, not the end, past the last event that
// has arrived, until End is called. Append and End may be called from
// any goroutine while sessions read it; the header is fixed when it is
// made (the machine the events run on cannot change under an engine that
// is running them).
type Growing struct {
	name string
	h    traces.Header

	mu    sync.Mutex
	evs   []engine.Event
	ended bool
	err   error // why it ended, nil for a clean end
}

// NewGrowing is an empty growing source for the machine h.
func NewGrowing(name string, h traces.Header) *Growing {
	return &Growing{name: name, h: h}
}

// Append adds events at the end.
func (g *Growing) Append(evs ...engine.Event) {
	g.mu.Lock()
	g.evs = append(g.evs, evs...)
	g.mu.Unlock()
}

// End says that no event will follow: the readers get io.EOF after the
// last (err nil) or err. Only the first End counts.
func (g *Growing) End(err error) {
	g.mu.Lock()
	if !g.ended {
		g.ended, g.err = true, err
	}
	g.mu.Unlock()
}

// Len is the number of events that have arrived, and whether the source
// has ended.
func (g *Growing) Len() (n uint64, ended bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return uint64(len(g.evs)), g.ended
}

// Header is the machine the events run on.
func (g *Growing) Header() traces.Header { return g.h }

// Reader is a source of the list's events from the first; each reader
// keeps its own place (a window that reopens with other overrides reads
// from the start again).
func (g *Growing) Reader() Source { return &growingReader{g: g} }

type growingReader struct {
	g *Growing
	i int // the next event Next returns
}

func (r *growingReader) Header() traces.Header { return r.g.h }
func (r *growingReader) Close() error          { return nil }
func (r *growingReader) Restart() error        { r.i = 0; return nil }
func (r *growingReader) Position() string {
	return fmt.Sprintf("%s: event %d", r.g.name, max(r.i-1, 0))
}

// Len is the number of events, known once the list has ended.
func (r *growingReader) Len() (uint64, bool) { return r.g.Len() }

func (r *growingReader) Next(*engine.Outcome) (engine.Event, error) {
	g := r.g
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case r.i < len(g.evs):
		r.i++
		return g.evs[r.i-1], nil
	case !g.ended:
		return engine.Event{}, ErrNoEvents
	case g.err != nil:
		return engine.Event{}, g.err
	}
	return engine.Event{}, io.EOF
}

// Arrived is a copy of the events that have arrived.
func (g *Growing) Arrived() []engine.Event {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]engine.Event(nil), g.evs...)
}
