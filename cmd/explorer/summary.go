package main

import (
	"fmt"
	"io"
	"time"

	"github.com/pgm-explorer/pgm-explorer/engine"
)

// replaySummary counts what a replay did, for --stats.
type replaySummary struct {
	events  uint64
	byKind  [32]uint64
	byPath  [32]uint64
	faults  uint64
	modes   uint64
	elapsed time.Duration
}

func (s *replaySummary) add(o *engine.Outcome) {
	s.events++
	s.byKind[o.Event.Kind&31]++
	s.byPath[o.Path&31]++
	if !o.OK {
		s.faults++
	}
	if o.Notes&engine.NoteModeChange != 0 {
		s.modes++
	}
}

func (s *replaySummary) print(w io.Writer, eng engine.Engine) {
	rate := float64(s.events) / s.elapsed.Seconds()
	fmt.Fprintf(w, "replayed %d events in %v (%.0f events/s)\n", s.events, s.elapsed.Round(time.Microsecond), rate)
	fmt.Fprintf(w, "final guest mode: %v, %d mode changes, %d faults\n", eng.Format().Mode, s.modes, s.faults)
	fmt.Fprintln(w, "events by kind:")
	for k := range s.byKind {
		if s.byKind[k] > 0 {
			fmt.Fprintf(w, "  %-8s %d\n", engine.EventKind(k), s.byKind[k])
		}
	}
	fmt.Fprintln(w, "outcomes by path:")
	for p := range s.byPath {
		if s.byPath[p] > 0 && engine.Path(p) != engine.PathNone {
			fmt.Fprintf(w, "  %-12s %d\n", engine.Path(p), s.byPath[p])
		}
	}
}
