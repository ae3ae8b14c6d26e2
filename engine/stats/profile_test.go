package stats

import "testing"

// fakeTime replaces r's clock with one that moves only when told to, and
// counts how often it is read.
type fakeTime struct {
	ns    int64
	reads int
}

func useFakeTime(r *Registry) *fakeTime {
	ft := &fakeTime{ns: 1_000_000}
	r.clk.fake = func() int64 { ft.reads++; return ft.ns }
	return ft
}

func TestProfile(t *testing.T) {
	type step struct {
		timing  *bool // if set, SetTiming before the step
		begin   bool  // Begin (push a stamp) or End (pop one)
		advance int64
	}
	on, off := new(bool), new(bool)
	*on = true
	b := func(adv int64) step { return step{begin: true, advance: adv} }
	e := func(adv int64) step { return step{advance: adv} }
	with := func(tm *bool, s step) step { s.timing = tm; return s }

	cases := []struct {
		name  string
		steps []step
		want  Sample // profile fields only
		reads int    // clock reads
	}{
		{"no calls", nil, Sample{}, 0},
		{"timed calls", []step{b(100), e(0), b(300), e(0), b(200), e(0)},
			Sample{Value: 200, Calls: 3, TotalNS: 600, MinNS: 100, MaxNS: 300}, 6},
		{"zero-length timed call", []step{b(0), e(0)},
			Sample{Value: 0, Calls: 1, TotalNS: 0, MinNS: 0, MaxNS: 0}, 2},
		{"timing off", []step{with(off, b(100)), e(0), b(50), e(0)},
			Sample{Calls: 2}, 0},
		{"nested calls", []step{b(10), b(20), e(30), e(0)},
			Sample{Value: 40, Calls: 2, TotalNS: 80, MinNS: 20, MaxNS: 60}, 4},
		// A call begun with timing on and ended with it off is counted
		// but not timed, and the mean ignores it.
		{"switched off mid-call", []step{b(100), e(0), b(500), with(off, e(0))},
			Sample{Value: 100, Calls: 2, TotalNS: 100, MinNS: 100, MaxNS: 100}, 3},
		{"switched on mid-call", []step{with(off, b(500)), with(on, e(0)), b(70), e(0)},
			Sample{Value: 70, Calls: 2, TotalNS: 70, MinNS: 70, MaxNS: 70}, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := New()
			ft := useFakeTime(r)
			p := r.Profile("/PGM/RZ/Trap0e", "the #PF handler")
			var stack []Stamp
			for _, s := range c.steps {
				if s.timing != nil {
					r.SetTiming(*s.timing)
				}
				if s.begin {
					stack = append(stack, p.Begin())
				} else {
					p.End(stack[len(stack)-1])
					stack = stack[:len(stack)-1]
				}
				ft.ns += s.advance
			}
			got, _ := r.Lookup("/PGM/RZ/Trap0e")
			want := c.want
			want.Name, want.Kind, want.Unit, want.Desc = "/PGM/RZ/Trap0e", KindProfile, UnitNsPerCall, "the #PF handler"
			if got != want {
				t.Errorf("sample\n got %+v\nwant %+v", got, want)
			}
			if ft.reads != c.reads {
				t.Errorf("%d clock reads, want %d", ft.reads, c.reads)
			}
			if p.Calls() != c.want.Calls {
				t.Errorf("Calls() = %d, want %d", p.Calls(), c.want.Calls)
			}
		})
	}
}

func TestProfileReset(t *testing.T) {
	r := New()
	ft := useFakeTime(r)
	p := r.Profile("/p", "")
	s := p.Begin()
	ft.ns += 900
	p.End(s)
	r.Reset()
	s = p.Begin()
	ft.ns += 10
	p.End(s)
	got, _ := r.Lookup("/p")
	if got.Calls != 1 || got.MinNS != 10 || got.MaxNS != 10 || got.TotalNS != 10 {
		t.Errorf("after Reset and one 10 ns call: %+v", got)
	}
}

func TestProfileRealClock(t *testing.T) {
	r := New()
	p := r.Profile("/p", "")
	for range 1000 {
		p.End(p.Begin())
	}
	s, _ := r.Lookup("/p")
	if s.Calls != 1000 || s.MinNS > s.MaxNS || s.MaxNS > s.TotalNS || s.Value > s.MaxNS || s.Value < s.MinNS {
		t.Errorf("inconsistent profile %+v", s)
	}
	if !r.Timing() {
		t.Error("a new registry has timing off")
	}
}
