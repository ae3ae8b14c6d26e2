package app

import (
	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/traces"
	"github.com/pgm-explorer/pgm-explorer/traces/session"
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
	// Live, when set, is where the events come from instead of Events:
	// a guest followed while the window is open, whose events arrive as
	// it runs (explorer gui --attach). Header is its header.
	Live *session.Growing
}
