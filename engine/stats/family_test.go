package stats

import (
	"slices"
	"testing"
)

func TestFamily(t *testing.T) {
	cases := []struct {
		name    string
		pattern string
		n       int
		incs    []int
		want    []Sample // what Each lists
	}{
		{"untouched", "/PGM/PDSyncPT/%04X", 1024, nil, nil},
		{"hex members", "/PGM/PDSyncPT/%04X", 1024, []int{0x3ff, 1, 0x3ff, 0x10},
			[]Sample{
				{Name: "/PGM/PDSyncPT/0001", Value: 1},
				{Name: "/PGM/PDSyncPT/0010", Value: 1},
				{Name: "/PGM/PDSyncPT/03FF", Value: 2},
			}},
		{"lower hex", "/PGM/PD/%x/Syncs", 16, []int{10, 0},
			[]Sample{
				{Name: "/PGM/PD/0/Syncs", Value: 1},
				{Name: "/PGM/PD/a/Syncs", Value: 1},
			}},
		// Unpadded decimal sorts bytewise: 10 before 9.
		{"decimal", "/PGM/Set/%d", 12, []int{9, 10},
			[]Sample{
				{Name: "/PGM/Set/10", Value: 1},
				{Name: "/PGM/Set/9", Value: 1},
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := New()
			f := r.CounterFamily(c.pattern, UnitOccurrences, "per index", c.n)
			for _, i := range c.incs {
				f.Inc(i)
			}
			var want []Sample
			for _, s := range c.want {
				s.Kind, s.Unit, s.Desc = KindCounter, UnitOccurrences, "per index"
				want = append(want, s)
			}
			if got := r.Snapshot(); !slices.Equal(got, want) {
				t.Errorf("Snapshot\n got %+v\nwant %+v", got, want)
			}
			if r.Len() != len(want) {
				t.Errorf("Len = %d, want %d", r.Len(), len(want))
			}
			if f.Len() != c.n {
				t.Errorf("family Len = %d, want %d", f.Len(), c.n)
			}
		})
	}
}

func TestFamilyMembers(t *testing.T) {
	r := New()
	f := r.CounterFamily("/PGM/RZ/Trap0e/PD/%04X", UnitOccurrences, "traps per PD index", 1024)
	f.Add(0x2a, 5)
	if f.Name(0x2a) != "/PGM/RZ/Trap0e/PD/002A" || f.Value(0x2a) != 5 {
		t.Errorf("member 0x2a: %q = %d", f.Name(0x2a), f.Value(0x2a))
	}
	// A zero member is not listed but can be looked up by name.
	s, ok := r.Lookup("/PGM/RZ/Trap0e/PD/0000")
	if !ok || s.Value != 0 || s.Kind != KindCounter || s.Desc != "traps per PD index" {
		t.Errorf("Lookup of a zero member = %+v, %v", s, ok)
	}
	if _, ok := r.Lookup("/PGM/RZ/Trap0e/PD/0400"); ok {
		t.Error("Lookup found a member past the end")
	}
	if _, ok := r.Lookup("/PGM/RZ/Trap0e/PD/%04X"); ok {
		t.Error("Lookup found the pattern itself")
	}
	for _, i := range []int{-1, 1024} {
		mustPanic(t, func() { f.Inc(i) }) // a runtime index error
	}
}
