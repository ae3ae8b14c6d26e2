package analysis

import (
	"sort"

	"github.com/pgm-explorer/pgm-explorer/engine"
)

// Search collects the events a filter matches, for a viewer that marks
// them on a timeline and steps from one to the next (the window's
// search box; `replay --where` is the streaming form). Feed it every
// outcome in order. It keeps at most Max event indexes, the first ones,
// and counts the rest, so that memory stays bounded on any trace.
type Search struct {
	Filter  *Filter
	Max     int
	Total   uint64 // events matched, kept or not
	matches []uint64
	tr      Tracker
}

// NewSearch searches for f, keeping at most max matches. eng is the
// engine the outcomes come from (nil is allowed; see Tracker.Eng).
func NewSearch(f *Filter, max int, eng engine.Engine) *Search {
	s := &Search{Filter: f, Max: max}
	s.tr.Eng = eng
	return s
}

// Add looks at the outcome of the next event and reports whether it
// matched.
func (s *Search) Add(o *engine.Outcome) bool {
	r := s.tr.Next(o)
	if !s.Filter.Match(&r) {
		return false
	}
	s.Total++
	if len(s.matches) < s.Max {
		s.matches = append(s.matches, o.Index)
	}
	return true
}

// Matches are the event indexes kept, in order.
func (s *Search) Matches() []uint64 { return s.matches }

// Truncated reports whether matches past Max were counted but not kept.
func (s *Search) Truncated() bool { return s.Total > uint64(len(s.matches)) }

// Next is the first kept match after event i.
func (s *Search) Next(i uint64) (uint64, bool) {
	k := sort.Search(len(s.matches), func(k int) bool { return s.matches[k] > i })
	if k == len(s.matches) {
		return 0, false
	}
	return s.matches[k], true
}

// Prev is the last kept match before event i.
func (s *Search) Prev(i uint64) (uint64, bool) {
	k := sort.Search(len(s.matches), func(k int) bool { return s.matches[k] >= i })
	if k == 0 {
		return 0, false
	}
	return s.matches[k-1], true
}

// Density counts the kept matches in each of n equal buckets of events
// [0, events), for marks on a timeline of n pixels; matches at or past
// events count in the last bucket.
func (s *Search) Density(n int, events uint64) []uint32 {
	if n <= 0 {
		return nil
	}
	d := make([]uint32, n)
	if events == 0 {
		events = 1
	}
	for _, m := range s.matches {
		b := int(min(m*uint64(n)/events, uint64(n-1)))
		if m >= events {
			b = n - 1
		}
		d[b]++
	}
	return d
}
