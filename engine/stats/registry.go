package stats

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// maxName bounds a name so that the text outputs stay readable.
const maxName = 200

// Registry holds every statistic of one engine. The zero value is not
// usable; call New. A nil *Registry stands for statistics compiled out
// (see the package documentation).
type Registry struct {
	clk      *clock
	entries  []*entry       // registration order
	names    map[string]ref // every name but family members'
	families []*entry       // family entries, whose members are named on demand
	order    []ref          // every name in path order; nil when stale
}

// entry is one registration: exactly one of c, p, g and f is set.
type entry struct {
	name string // the pattern, for a family
	kind Kind
	unit Unit
	desc string
	c    *Counter
	p    *Profile
	g    func() uint64
	f    *Family
}

// ref names one sample: an entry, or member i of a family entry.
type ref struct {
	e *entry
	i int // family member index; -1 for every other kind
}

func (x ref) name() string {
	if x.i >= 0 {
		return x.e.f.Name(x.i)
	}
	return x.e.name
}

// New returns an empty registry with timing on.
func New() *Registry {
	return &Registry{
		clk:   &clock{on: true, base: time.Now()},
		names: make(map[string]ref),
	}
}

// SetTiming switches the clock reads of every profile on or off. Off,
// profiles still count calls, and the statistics of a replay are the same
// on every run. Switching does not reset anything.
func (r *Registry) SetTiming(on bool) {
	if r != nil {
		r.clk.on = on
	}
}

// Timing reports whether profiles read the clock.
func (r *Registry) Timing() bool { return r != nil && r.clk.on }

// Counter registers a counter. It panics if name is malformed or taken,
// or unit is not one of the Unit constants.
func (r *Registry) Counter(name string, unit Unit, desc string) *Counter {
	if r == nil {
		return nil
	}
	c := &Counter{}
	r.add(&entry{name: name, kind: KindCounter, unit: unit, desc: desc, c: c})
	return c
}

// Profile registers a profile; its unit is UnitNsPerCall. It panics if
// name is malformed or taken.
func (r *Registry) Profile(name, desc string) *Profile {
	if r == nil {
		return nil
	}
	p := newProfile(r.clk)
	r.add(&entry{name: name, kind: KindProfile, unit: UnitNsPerCall, desc: desc, p: p})
	return p
}

// Gauge registers a value that fn computes each time the registry is
// read; Reset does not affect it. It panics if name is malformed or
// taken, unit is invalid, or fn is nil.
func (r *Registry) Gauge(name string, unit Unit, desc string, fn func() uint64) {
	if r == nil {
		return
	}
	if fn == nil {
		panic(fmt.Sprintf("stats: gauge %q has a nil function", name))
	}
	r.add(&entry{name: name, kind: KindGauge, unit: unit, desc: desc, g: fn})
}

// CounterFamily registers n counters named fmt.Sprintf(pattern, i) for i
// in [0, n). It panics if the pattern is malformed (see Family), n is not
// in [1, 65536], a member name is taken, or unit is invalid.
func (r *Registry) CounterFamily(pattern string, unit Unit, desc string, n int) *Family {
	if r == nil {
		return nil
	}
	prefix, err := familyNames(pattern, n)
	if err != nil {
		panic(fmt.Sprintf("stats: malformed family pattern %q: %v", pattern, err))
	}
	f := &Family{v: make([]uint64, n), pattern: pattern, prefix: prefix}
	r.add(&entry{name: pattern, kind: KindCounter, unit: unit, desc: desc, f: f})
	return f
}

// add checks and records e. All checks happen before anything is
// recorded, so a recovered panic leaves the registry as it was.
func (r *Registry) add(e *entry) {
	if !e.unit.valid() {
		panic(fmt.Sprintf("stats: %q has an invalid unit %d", e.name, e.unit))
	}
	if e.f != nil {
		// A family clashes with a name that is one of its members, or with
		// another family sharing a member.
		for name := range r.names {
			if _, ok := e.f.member(name); ok {
				panic(fmt.Sprintf("stats: name %q registered twice", name))
			}
		}
		for _, o := range r.families {
			// Members start with their prefix: families can only share one
			// when a prefix begins the other.
			if !strings.HasPrefix(o.f.prefix, e.f.prefix) && !strings.HasPrefix(e.f.prefix, o.f.prefix) {
				continue
			}
			for i := range o.f.v {
				if _, ok := e.f.member(o.f.Name(i)); ok {
					panic(fmt.Sprintf("stats: name %q registered twice", o.f.Name(i)))
				}
			}
		}
		r.families = append(r.families, e)
	} else {
		if err := checkName(e.name); err != nil {
			panic(fmt.Sprintf("stats: malformed name %q: %v", e.name, err))
		}
		if _, dup := r.lookupRef(e.name); dup {
			panic(fmt.Sprintf("stats: name %q registered twice", e.name))
		}
		r.names[e.name] = ref{e: e, i: -1}
	}
	r.entries = append(r.entries, e)
	r.order = nil
}

// lookupRef finds a name, family members included.
func (r *Registry) lookupRef(name string) (ref, bool) {
	if x, ok := r.names[name]; ok {
		return x, true
	}
	for _, e := range r.families {
		if i, ok := e.f.member(name); ok {
			return ref{e: e, i: i}, true
		}
	}
	return ref{}, false
}

// sorted returns every ref in path order, rebuilding the order after a
// registration. Callers must not modify the result.
func (r *Registry) sorted() []ref {
	if r.order == nil {
		order := make([]ref, 0, len(r.names))
		for _, x := range r.names {
			order = append(order, x)
		}
		for _, e := range r.families {
			for i := range e.f.v {
				order = append(order, ref{e: e, i: i})
			}
		}
		// sort.Slice rather than slices.SortFunc: not hot, and a generic
		// sort is compiled anew for each element type (tens of KB in the
		// browser's module).
		sort.Slice(order, func(i, j int) bool { return comparePaths(order[i].name(), order[j].name()) < 0 })
		r.order = order
	}
	return r.order
}

// comparePaths orders names component by component: it compares bytewise
// except that '/' sorts before every other byte, so that "/A/B" comes
// before "/A-B" and the subtree of "/A" stays contiguous.
func comparePaths(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		x, y := a[i], b[i]
		switch {
		case x == y:
			continue
		case x == '/':
			return -1
		case y == '/':
			return 1
		case x < y:
			return -1
		default:
			return 1
		}
	}
	return len(a) - len(b)
}

// checkName returns why name is not a valid statistic name, or nil.
func checkName(name string) error {
	switch {
	case len(name) < 2 || name[0] != '/':
		return errors.New("want a path starting with / and a component")
	case len(name) > maxName:
		return fmt.Errorf("longer than %d bytes", maxName)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c > '~' {
			return fmt.Errorf("byte %#02x at offset %d is not printable ASCII", c, i)
		}
	}
	for i, comp := range strings.Split(name[1:], "/") {
		switch comp {
		case "":
			return fmt.Errorf("component %d is empty", i)
		case ".", "..":
			return fmt.Errorf("component %d is %q", i, comp)
		}
	}
	return nil
}
