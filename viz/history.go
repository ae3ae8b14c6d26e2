package viz

import (
	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/stats"
)

// StatsHistory remembers the /PGM statistics as they were a little
// earlier in the replay, so that the statistics panel can show how fast
// each one changes, not only its value. Layout must stay a function of
// the Model, so the history is kept by the caller, like Recent: call
// Observe after each event applied.
//
// It samples every Window/8 events and keeps nine samples, so rates are
// measured over Window to 9/8 Window events (fewer early in a replay).
// Samples are taken by event index, and a replay is deterministic, so a
// sample stays true after seeking: Layout uses only samples older than
// the engine's current event and at most 9/8 Window events old.
type StatsHistory struct {
	Window uint64 // events rates are measured over

	snaps []statsSnap // ring of samples, taken in order of observation
	next  int         // where the next sample goes
	last  uint64      // events applied at the latest sample
	n     int         // samples held

	cols  map[string]int // statistic -> its column in a sample
	names []string       // the columns' names
}

// statsSnap is the statistics after at events, as Registry.AppendValues
// reads them (counters and gauges by value, profiles by calls; family
// members are not sampled: their panel lines go without a rate).
type statsSnap struct {
	at   uint64
	vals []uint64
}

// value is the named statistic in sample sn of h.
func (h *StatsHistory) value(sn *statsSnap, name string) (uint64, bool) {
	k, ok := h.cols[name]
	if !ok || k >= len(sn.vals) {
		return 0, false
	}
	return sn.vals[k], true
}

const statsSamples = 9

// RateWindow is the span, in events, that the explorer and explorer
// render measure rates over: short enough to follow a phase of the
// guest, long enough that a rate is not one event's noise.
const RateWindow = 4096

// NewStatsHistory measures rates over window events (at least 8).
func NewStatsHistory(window uint64) *StatsHistory {
	return &StatsHistory{Window: max(window, 8), snaps: make([]statsSnap, statsSamples)}
}

// sampleValue is the number the panel shows for a statistic.
func sampleValue(s *stats.Sample) uint64 {
	if s.Kind == stats.KindProfile {
		return s.Calls
	}
	return s.Value
}

// Observe samples e's statistics when Window/8 events have passed since
// the last sample (or the replay went back). It costs a comparison
// between samples.
func (h *StatsHistory) Observe(e *engine.Shadow) {
	if h == nil || len(h.snaps) == 0 {
		return
	}
	now := e.Events()
	every := max(h.Window/8, 1)
	if h.n > 0 && now >= h.last && now-h.last < every {
		return
	}
	sn := &h.snaps[h.next]
	sn.at = now
	reg := e.Stats()
	sn.vals = reg.AppendValues(sn.vals[:0])
	if len(sn.vals) > len(h.names) {
		// Registration only appends: name the new columns.
		h.names = reg.AppendNames(h.names[:0])
		if h.cols == nil {
			h.cols = make(map[string]int, len(h.names))
		}
		for k, n := range h.names {
			h.cols[n] = k
		}
	}
	h.next = (h.next + 1) % len(h.snaps)
	h.n = min(h.n+1, len(h.snaps))
	h.last = now
}

// Reset forgets every sample: for a replay of another trace or engine.
func (h *StatsHistory) Reset() {
	if h != nil {
		h.n, h.next, h.last = 0, 0, 0
	}
}

// base is the sample rates at event now are measured from: the oldest
// one before now and at most 9/8 Window events old. nil if none.
func (h *StatsHistory) base(now uint64) *statsSnap {
	if h == nil {
		return nil
	}
	var b *statsSnap
	oldest := now - min(now, h.Window+h.Window/8)
	for i := 0; i < h.n; i++ {
		sn := &h.snaps[i]
		if sn.at < now && sn.at >= oldest && (b == nil || sn.at < b.at) {
			b = sn
		}
	}
	return b
}
