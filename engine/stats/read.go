package stats

import "strings"

// Sample is one statistic as read at one moment.
type Sample struct {
	Name string // full path; for a family member, the pattern filled in
	Kind Kind
	Unit Unit
	Desc string

	// Value is the count of a counter or family member, the gauge's
	// current value, or a profile's mean time per timed call in ns (0 if
	// no call was timed).
	Value uint64

	// Profiles only; 0 for every other kind.
	Calls   uint64 // finished calls, timed or not
	TotalNS uint64 // time of the timed calls
	MinNS   uint64 // shortest timed call; 0 if none
	MaxNS   uint64 // longest timed call; 0 if none
}

// IsZero reports whether nothing was counted: the test behind
// TreeOptions.SkipZero.
func (s Sample) IsZero() bool { return s.Value == 0 && s.Calls == 0 }

func (x ref) sample() Sample {
	e := x.e
	s := Sample{Name: x.name(), Kind: e.kind, Unit: e.unit, Desc: e.desc}
	switch {
	case e.c != nil:
		s.Value = e.c.n
	case e.p != nil:
		e.p.sample(&s)
	case e.g != nil:
		s.Value = e.g()
	case e.f != nil:
		s.Value = e.f.v[x.i]
	}
	return s
}

// listed reports whether readers show x: family members only when non-zero.
func (x ref) listed() bool { return x.i < 0 || x.e.f.v[x.i] != 0 }

// Each calls fn for every statistic in path order, sampling gauges as it
// goes. Family members that are zero are left out.
func (r *Registry) Each(fn func(Sample)) {
	if r == nil {
		return
	}
	for _, x := range r.sorted() {
		if x.listed() {
			fn(x.sample())
		}
	}
}

// Snapshot returns what Each would visit.
func (r *Registry) Snapshot() []Sample {
	var out []Sample
	r.Each(func(s Sample) { out = append(out, s) })
	return out
}

// Prefix returns the samples whose names begin with prefix, in path
// order. The match is on bytes: end prefix with "/" to select exactly
// the statistics under a node, as in "/PGM/Pool/".
func (r *Registry) Prefix(prefix string) []Sample {
	var out []Sample
	r.Each(func(s Sample) {
		if strings.HasPrefix(s.Name, prefix) {
			out = append(out, s)
		}
	})
	return out
}

// Lookup returns the sample of one name. A family member is found even
// when it is zero.
func (r *Registry) Lookup(name string) (Sample, bool) {
	if r == nil {
		return Sample{}, false
	}
	x, ok := r.lookupRef(name)
	if !ok {
		return Sample{}, false
	}
	return x.sample(), true
}

// Len is the number of samples Each would visit now.
func (r *Registry) Len() int {
	if r == nil {
		return 0
	}
	n := 0
	for _, e := range r.entries {
		if e.f == nil {
			n++
			continue
		}
		for _, v := range e.f.v {
			if v != 0 {
				n++
			}
		}
	}
	return n
}

// Reset zeroes every counter, family and profile. Gauges belong to other
// packages and are left alone; so is the timing switch.
func (r *Registry) Reset() {
	if r == nil {
		return
	}
	for _, e := range r.entries {
		switch {
		case e.c != nil:
			e.c.n = 0
		case e.p != nil:
			e.p.reset()
		case e.f != nil:
			clear(e.f.v)
		}
	}
}

// AppendValues appends the value of every statistic except family
// members, in registration order: a counter's count, a profile's calls,
// a gauge's value. It is the cheap read for code that samples often (a
// pass is a load per statistic, with no names and no allocation);
// AppendNames gives the names in the same order. Registration only
// appends, so an index stays the same statistic for the registry's life.
func (r *Registry) AppendValues(dst []uint64) []uint64 {
	if r == nil {
		return dst
	}
	for _, e := range r.entries {
		switch {
		case e.c != nil:
			dst = append(dst, e.c.n)
		case e.p != nil:
			dst = append(dst, e.p.calls)
		case e.g != nil:
			dst = append(dst, e.g())
		}
	}
	return dst
}

// AppendNames appends the names of what AppendValues reads, in its order.
func (r *Registry) AppendNames(dst []string) []string {
	if r == nil {
		return dst
	}
	for _, e := range r.entries {
		if e.f == nil {
			dst = append(dst, e.name)
		}
	}
	return dst
}
