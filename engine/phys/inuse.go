package phys

import (
	"math/bits"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// Sharing, reset and saving a state visit only the pages that are not on
// the zero page: a guest of 64 GiB that touched a few megabytes should
// cost a few megabytes' worth, not a walk over sixteen million
// descriptors. Each range keeps the set of those pages as a two-level
// bitmap, updated in transition (the one place a page's backing changes):
// one bit per page, and one summary bit per 64-page word, so that a walk
// costs a word per 4096 pages plus one step per page in use.

// inUse is the set of a range's pages with a frame (private or shared)
// or ballooned, indexed by page number. The zero value is empty; the
// bitmaps are allocated at the first page added.
type inUse struct {
	words []uint64 // bit i%64 of words[i/64]: page i
	sum   []uint64 // bit j%64 of sum[j/64]: words[j] != 0
	n     int      // pages in the set
}

// inUseNeeded reports whether p belongs in the set.
func inUseNeeded(p Page) bool { return p.Frame() != 0 || p.State() == StateBallooned }

func (s *inUse) set(i, pages int, on bool) {
	if s.words == nil {
		if !on {
			return
		}
		s.words = make([]uint64, (pages+63)/64)
		s.sum = make([]uint64, (len(s.words)+63)/64)
	}
	w, b := i/64, uint64(1)<<(i%64)
	had := s.words[w]&b != 0
	switch {
	case on && !had:
		s.words[w] |= b
		s.sum[w/64] |= 1 << (w % 64)
		s.n++
	case !on && had:
		s.words[w] &^= b
		if s.words[w] == 0 {
			s.sum[w/64] &^= 1 << (w % 64)
		}
		s.n--
	}
}

// each calls fn for the pages in the set, in ascending order. fn may
// change pages (and so the set): each page present when its word is
// reached is visited once.
func (s *inUse) each(fn func(i int)) {
	for si, sw := range s.sum {
		for sw != 0 {
			j := si*64 + bits.TrailingZeros64(sw)
			sw &= sw - 1
			w := s.words[j]
			for w != 0 {
				fn(j*64 + bits.TrailingZeros64(w))
				w &= w - 1
			}
		}
	}
}

// EachInUse calls fn with the index of every page of the range that is
// not on the zero page (it has a frame, private or shared, or it is
// ballooned), in address order, at a cost proportional to those pages
// and not to the range's size. Precondition: fn does not add ranges.
func (r *Range) EachInUse(fn func(i int)) { r.used.each(fn) }

// InUse is the number of the range's pages EachInUse visits.
func (r *Range) InUse() int { return r.used.n }

// markInUse keeps gpa's range's set up to date after a transition to p.
func (m *Memory) markInUse(gpa x86.GPA, p Page) {
	_, r, ok := m.Lookup(gpa)
	if !ok {
		return
	}
	i, _ := r.Index(gpa)
	r.used.set(i, len(r.Pages), inUseNeeded(p))
}
