package analysis

import "github.com/pgm-explorer/pgm-explorer/engine"

// Record is one outcome with the guest context a filter may ask about
// that the outcome itself does not carry: the label in force and the
// CPL. A Tracker keeps them as outcomes stream by.
type Record struct {
	*engine.Outcome
	Label string // text of the last label event at or before this one; "" before any
	CPL   uint8  // current privilege level when the event ran (0..3)
}

// Tracker follows the guest context through a stream of outcomes. Its
// zero value is the state at power-on (CPL 0, no label).
type Tracker struct {
	// Eng, when set, is the engine the outcomes come from: after a
	// restore event the CPL is read from it (the saved state's), since
	// the event itself does not say.
	Eng   engine.Engine
	label string
	cpl   uint8
}

// Next returns the record of o, the outcome of the next event, and
// updates the context: a label event is in force from itself on; a CPL
// event changes the CPL for the events after it.
func (t *Tracker) Next(o *engine.Outcome) Record {
	r := Record{Outcome: o, Label: t.label, CPL: t.cpl}
	switch o.Event.Kind {
	case engine.EvLabel:
		t.label = o.Event.Text
		r.Label = t.label
	case engine.EvCPL:
		t.cpl = uint8(o.Event.Value)
	case engine.EvReset:
		t.cpl = 0
	case engine.EvRestore:
		if t.Eng != nil {
			t.cpl = t.Eng.Regs().CPL
		}
	}
	return r
}

// Label is the label in force after the events seen so far.
func (t *Tracker) Label() string { return t.label }
