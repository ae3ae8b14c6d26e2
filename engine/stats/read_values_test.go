package stats

import (
	"slices"
	"testing"
)

// TestAppendValues: the cheap read agrees with Each, name for name,
// leaves family members out and keeps indexes across registrations.
func TestAppendValues(t *testing.T) {
	r := New()
	c := r.Counter("/PGM/B/Count", UnitOccurrences, "")
	p := r.Profile("/PGM/A/Prof", "")
	g := uint64(7)
	r.Gauge("/PGM/C/Gauge", UnitCount, "", func() uint64 { return g })
	f := r.CounterFamily("/PGM/F/%02d", UnitOccurrences, "", 4)
	c.Add(3)
	p.End(p.Begin())
	p.End(p.Begin())
	f.Inc(2)
	names := r.AppendNames(nil)
	vals := r.AppendValues(nil)
	if want := []string{"/PGM/B/Count", "/PGM/A/Prof", "/PGM/C/Gauge"}; !slices.Equal(names, want) {
		t.Fatalf("names %q, want %q", names, want)
	}
	for i, n := range names {
		s, _ := r.Lookup(n)
		want := s.Value
		if s.Kind == KindProfile {
			want = s.Calls
		}
		if vals[i] != want {
			t.Errorf("%s: %d, Lookup says %d", n, vals[i], want)
		}
	}
	r.Counter("/PGM/0/Later", UnitOccurrences, "").Inc()
	g = 9
	vals = r.AppendValues(vals[:0])
	if len(vals) != 4 || vals[2] != 9 || vals[3] != 1 || vals[0] != 3 {
		t.Errorf("after a registration: %v", vals)
	}
}
