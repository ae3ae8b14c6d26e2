package app

import (
	"time"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/traces/session"
)

// batcher is a stream that is read fastest from a goroutine of its own:
// batch runs f there, and next called from f reads the source directly.
// A live workload's model lives on such a goroutine (see
// workloadStream); handing it each event through channels cost two
// goroutine switches per event, more than the engine and the model
// together, so a replay hands it whole runs of events instead.
type batcher interface {
	batch(f func())
}

// serve answers the model's requests until req is closed: single
// events for next, and batches.
func (s *workloadStream) serve(w session.Source, req <-chan *engine.Outcome, rep chan<- wlReply, run <-chan func()) {
	for {
		select {
		case prev, ok := <-req:
			if !ok {
				return
			}
			ev, err := w.Next(prev)
			rep <- wlReply{ev, err}
		case f := <-run:
			s.w = w
			f()
			s.w = nil
			rep <- wlReply{}
		}
	}
}

// batch runs f on the model's goroutine; the caller waits, so that f
// may use everything the caller owns.
func (s *workloadStream) batch(f func()) {
	s.run <- f
	<-s.rep
}

// runEnd says why a run of events ended.
type runEnd uint8

const (
	runCount runEnd = iota // the number of events asked for was applied
	runLate                // the deadline passed
	runStop                // an event matched the condition
	runOver                // the source ended or failed (p.ended, p.err)
)

// clockEvery is how many events a run applies between two looks at the
// clock: about a tenth of a millisecond natively, a few tenths in the
// browser.
const clockEvery = 256

// run applies up to max events before deadline, stopping after an event
// that matches stop. It runs on the stream's goroutine when the stream
// has one.
func (p *player) run(deadline time.Time, max uint64, stop Until) (n uint64, why runEnd) {
	loop := func() {
		for n < max {
			if stop == UntilStep && p.stepEnds() {
				why = runStop
				return
			}
			if !p.step() {
				why = runOver
				return
			}
			n++
			if stop != UntilNone && stop.matches(&p.last) {
				why = runStop
				return
			}
			if n%clockEvery == 0 && time.Now().After(deadline) {
				why = runLate
				return
			}
		}
		why = runCount
	}
	if b, ok := p.ss.Source().(batcher); ok && max > 1 {
		b.batch(loop)
	} else {
		loop()
	}
	return n, why
}
