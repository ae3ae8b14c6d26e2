package session

import (
	"fmt"
	"io"
	"sync"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/traces"
)

// Growing is a source whose events arrive while it is read: a guest
// followed live (explorer gui --attach). Reading past the last event
// that has arrived gives ErrNoEvents, not the end, until End is called.
// Append and End may be called from any goroutine while a session reads
// it; the header is fixed when it is made (the machine the events run
// on cannot change under an engine that is running them).
type Growing struct {
	name string
	h    traces.Header

	mu    sync.Mutex
	evs   []engine.Event
	ended bool
	err   error // why it ended, nil for a clean end
	i     int   // the next event Next returns
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

func (g *Growing) Header() traces.Header { return g.h }
func (g *Growing) Close() error          { return nil }

func (g *Growing) Restart() error {
	g.mu.Lock()
	g.i = 0
	g.mu.Unlock()
	return nil
}

func (g *Growing) Position() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return fmt.Sprintf("%s: event %d", g.name, max(g.i-1, 0))
}

func (g *Growing) Next(*engine.Outcome) (engine.Event, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.i < len(g.evs):
		g.i++
		return g.evs[g.i-1], nil
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
