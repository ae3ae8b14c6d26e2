package app

import (
	"io"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/traces"
)

// EventList is a run computed up front and held in memory: a trace
// header and its events. The desktop window fills one with a live x86
// guest, which runs to its end in Unicorn in milliseconds before the
// window opens. Package app does not know where the events came from, so
// that it does not import the emulator and still builds for the browser,
// where none can run.
type EventList struct {
	Name   string // short, for links and exported files, e.g. "x86-multiproc"
	Title  string // what the title shows, e.g. "multiproc: x86 guest in Unicorn"
	Header traces.Header
	Events []engine.Event
}

// eventsStream replays an EventList. It is a trace as far as the player
// is concerned (finite: the first pass learns its length, labels and
// timeline), but one already decoded, so restarting costs nothing.
type eventsStream struct {
	list *EventList
	i    int
}

func (s *eventsStream) header() traces.Header { return s.list.Header }
func (s *eventsStream) finite() bool          { return true }
func (s *eventsStream) close()                {}
func (s *eventsStream) restart() error        { s.i = 0; return nil }

func (s *eventsStream) next(*engine.Outcome) (engine.Event, error) {
	if s.i >= len(s.list.Events) {
		return engine.Event{}, io.EOF
	}
	s.i++
	return s.list.Events[s.i-1], nil
}
