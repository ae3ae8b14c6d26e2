package app

import (
	"sort"

	"github.com/pgm-explorer/pgm-explorer/analysis"
	"github.com/pgm-explorer/pgm-explorer/engine"
)

// keyFinder finds the events a hot spot row counts: an Analyzer of the
// row's key kind tells, through its Hit hook, each key an event counts
// under. It keeps the first MaxMatches, as analysis.Search does.
type keyFinder struct {
	an      *analysis.Analyzer
	want    uint64
	hit     bool
	total   uint64
	matches []uint64
}

func newKeyFinder(eng engine.Engine, k hotKey) *keyFinder {
	f := &keyFinder{an: analysis.NewAnalyzer(eng, k.by, nil, hotKeys), want: k.key}
	f.an.Hit = func(key uint64) { f.hit = f.hit || key == f.want }
	return f
}

func (f *keyFinder) Add(o *engine.Outcome) bool {
	f.hit = false
	f.an.Add(o)
	if !f.hit {
		return false
	}
	f.total++
	if len(f.matches) < MaxMatches {
		f.matches = append(f.matches, o.Index)
	}
	return true
}

func (f *keyFinder) Matches() []uint64 { return f.matches }
func (f *keyFinder) Truncated() bool   { return f.total > uint64(len(f.matches)) }
func (f *keyFinder) count() uint64     { return f.total }

func (f *keyFinder) Next(i uint64) (uint64, bool) {
	k := sort.Search(len(f.matches), func(k int) bool { return f.matches[k] > i })
	if k == len(f.matches) {
		return 0, false
	}
	return f.matches[k], true
}

func (f *keyFinder) Prev(i uint64) (uint64, bool) {
	k := sort.Search(len(f.matches), func(k int) bool { return f.matches[k] >= i })
	if k == 0 {
		return 0, false
	}
	return f.matches[k-1], true
}
