package main

import (
	"fmt"
	"io"
	"time"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/stats"
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
			fmt.Fprintf(w, "  %-14s %d\n", engine.Path(p), s.byPath[p])
		}
	}
	if sh, ok := eng.(*engine.Shadow); ok {
		mode, sw := sh.ShadowMode()
		cfg := sh.Config()
		fmt.Fprintf(w, "shadow paging mode: %v (host %v, switcher %v, %v paging, pool of %d pages)\n",
			mode, cfg.Host, sw, cfg.Paging, cfg.PoolPages)
		fmt.Fprintln(w, "statistics (non-zero):")
		sh.Stats().WriteTree(w, stats.TreeOptions{SkipZero: true})
	}
}
