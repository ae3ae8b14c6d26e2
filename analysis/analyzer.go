package analysis

import (
	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// Analyzer counts hot spots over a stream of outcomes: per key (By), per
// address space and in total. Feed it every outcome, in order, right
// after the engine applied the event (it reads the engine's pool and
// guest tables read-only to attribute pool churn and syncs).
type Analyzer struct {
	By     KeyKind
	Filter *Filter // nil counts every event
	// Hit, when set, is called with each key the event being added is
	// counted under (after the filter): a viewer marks a row's events
	// with it, whatever the key kind, even those no filter names.
	Hit func(key uint64)

	Events  uint64 // events seen
	Matched uint64 // events the filter matched
	Total   Counts
	keys    *Table
	spaces  *Table

	tr     Tracker
	walker guestWalker
	sh     *engine.Shadow
	fresh  uint64
	used   int
	// poolKey remembers what each pool page mirrored when allocated,
	// since a freed page forgets it; at most one entry per pool page.
	poolKey map[uint16]uint64
	// labelID numbers the labels seen for ByLabel (at most the key cap;
	// later labels count in Other); labels are the texts by number.
	labelID map[string]uint64
	labels  []string
}

// NewAnalyzer counts by key kind by, with at most maxKeys keys (and as
// many address spaces) held; eng is the engine the outcomes come from.
func NewAnalyzer(eng engine.Engine, by KeyKind, f *Filter, maxKeys int) *Analyzer {
	a := &Analyzer{By: by, Filter: f, keys: NewTable(maxKeys), spaces: NewTable(maxKeys), poolKey: map[uint16]uint64{}}
	a.tr.Eng = eng
	a.walker, _ = eng.(guestWalker)
	if sh, ok := eng.(*engine.Shadow); ok {
		a.sh = sh
		a.fresh, a.used = sh.PoolTurnover()
	}
	return a
}

// Add counts the outcome of the next event.
func (a *Analyzer) Add(o *engine.Outcome) {
	a.Events++
	r := a.tr.Next(o)
	match := a.Filter == nil || a.Filter.Match(&r)
	// The pool is looked at whether or not the event matches, so that
	// the page-to-table memory stays right.
	var churn []poolChange
	if a.sh != nil {
		if fresh, used := a.sh.PoolTurnover(); fresh != a.fresh || used != a.used {
			a.fresh, a.used = fresh, used
			churn = a.poolChanges(o.Index)
		}
	}
	if !match {
		return
	}
	a.Matched++
	a.Total.addOutcome(o)
	a.spaces.at(o.AS).addOutcome(o)
	for _, ch := range churn {
		a.Total.countChange(ch)
	}
	switch a.By {
	case ByPoolPage:
		for _, ch := range churn {
			c := a.keys.at(uint64(ch.idx))
			c.countChange(ch)
			c.addOutcome(o)
			if a.Hit != nil {
				a.Hit(uint64(ch.idx))
			}
		}
		return
	case ByGuestTable:
		for _, ch := range churn {
			if ch.alloc {
				a.keys.at(ch.key).Allocs++
			}
		}
	}
	if key, ok := a.keyOf(&r); ok {
		if key == noKey && a.By == ByLabel {
			a.keys.Other.addOutcome(o)
			return
		}
		a.keys.at(key).addOutcome(o)
		if a.Hit != nil {
			a.Hit(key)
		}
	}
}

// keyOf is the key r is counted under (not for ByPoolPage).
func (a *Analyzer) keyOf(r *Record) (uint64, bool) {
	switch a.By {
	case ByVA, ByPage:
		v, ok := numFields["gva"](r)
		if a.By == ByPage {
			v &^= x86.PageSize - 1
		}
		return v, ok
	case ByGPA:
		v, ok := numFields["gpa"](r)
		return v &^ (x86.PageSize - 1), ok
	case ByAS:
		return r.AS, true
	case ByPath:
		return uint64(r.Path), true
	case ByGuestTable:
		return guestTableOf(r.Outcome, a.walker)
	case ByLabel:
		id, ok := a.labelID[r.Label]
		if !ok {
			if len(a.labels) >= a.keys.Cap {
				return noKey, true
			}
			if a.labelID == nil {
				a.labelID = map[string]uint64{}
			}
			id = uint64(len(a.labels))
			a.labelID[r.Label] = id
			a.labels = append(a.labels, r.Label)
		}
		return id, true
	}
	return 0, false
}

// noKey is a key that goes to Other: a label past the cap.
const noKey = ^uint64(0)

// poolChange is one pool page allocated or freed by an event.
type poolChange struct {
	idx   uint16
	key   uint64 // the guest address the page mirrors (mirrored, when freed)
	alloc bool
	cause engine.FreeCause // when freed
}

func (c *Counts) countChange(ch poolChange) {
	if ch.alloc {
		c.Allocs++
	} else {
		c.Freed[ch.cause&3]++
	}
}

// poolChanges lists the pages event index allocated or freed: a page
// freed then reused within the event counts as both.
func (a *Analyzer) poolChanges(index uint64) []poolChange {
	var out []poolChange
	a.sh.VisitPool(func(v engine.PoolPageView) bool {
		if v.FreedAt == index+1 {
			out = append(out, poolChange{idx: v.Index, key: a.poolKey[v.Index], cause: v.FreedBy})
		}
		if v.AllocatedAt == index+1 && v.Kind != engine.KindFree {
			a.poolKey[v.Index] = uint64(v.Key)
			out = append(out, poolChange{idx: v.Index, key: uint64(v.Key), alloc: true})
		}
		return true
	})
	return out
}

// Report is what an Analyzer found, ready to print.
type Report struct {
	By      KeyKind
	Sort    string // the column rows are ordered by
	Events  uint64 // events read
	Matched uint64 // events counted (the filter matched)
	Total   Counts
	Rows    []Row    // the top keys
	Keys    int      // distinct keys held
	Cap     int      // the cap on keys
	Other   Counts   // events of keys past the cap, not in Rows
	Spaces  []Row    // per address space, by events
	Labels  []string // ByLabel: the label texts, by key
}

// KeyName prints a row's key: as FormatKey does, or the label's text.
func (r *Report) KeyName(key uint64) string {
	if r.By == ByLabel {
		if key < uint64(len(r.Labels)) {
			if r.Labels[key] == "" {
				return "(before any label)"
			}
			return r.Labels[key]
		}
		return "?"
	}
	return r.By.FormatKey(key)
}

// Report returns the top n keys ordered by column sortBy (one of
// SortBy), and every address space up to n.
func (a *Analyzer) Report(n int, sortBy string) *Report {
	return &Report{By: a.By, Sort: sortBy, Events: a.Events, Matched: a.Matched, Total: a.Total,
		Rows: a.keys.Top(n, sortBy), Keys: a.keys.Len(), Cap: a.keys.Cap, Other: a.keys.Other,
		Spaces: a.spaces.Top(n, "events"), Labels: a.labels}
}
