package analysis

import (
	"fmt"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/internal/testkit"
)

func searchTwoProc(t *testing.T, expr string, max int) *Search {
	t.Helper()
	h, evs := testkit.ReadTrace(t, "testdata/twoproc.txt")
	sh, err := engine.NewShadow(h.Config)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse(expr)
	if err != nil {
		t.Fatal(err)
	}
	s := NewSearch(f, max, sh)
	for _, ev := range evs {
		o, err := sh.Apply(ev)
		if err != nil {
			t.Fatal(err)
		}
		s.Add(&o)
	}
	return s
}

// TestSearch: the faults of twoproc.txt are events 20, 21, 26 and 32
// (see the trace); stepping and the timeline density follow from them.
func TestSearch(t *testing.T) {
	s := searchTwoProc(t, "!ok", 100)
	if got := fmt.Sprint(s.Matches()); got != "[20 21 26 32]" || s.Total != 4 || s.Truncated() {
		t.Fatalf("matches %s total %d", got, s.Total)
	}
	steps := []struct {
		from       uint64
		next, prev string
	}{
		{0, "20", "-"}, {20, "21", "-"}, {21, "26", "20"}, {26, "32", "21"}, {32, "-", "26"}, {100, "-", "32"},
	}
	show := func(v uint64, ok bool) string {
		if !ok {
			return "-"
		}
		return fmt.Sprint(v)
	}
	for _, st := range steps {
		if n := show(s.Next(st.from)); n != st.next {
			t.Errorf("Next(%d) = %s, want %s", st.from, n, st.next)
		}
		if p := show(s.Prev(st.from)); p != st.prev {
			t.Errorf("Prev(%d) = %s, want %s", st.from, p, st.prev)
		}
	}
	// Four buckets of 37 events: 20, 21 and 26 fall in the third (from
	// 18.5), 32 in the fourth (from 27.75).
	if d := fmt.Sprint(s.Density(4, 37)); d != "[0 0 3 1]" {
		t.Errorf("density %s", d)
	}
	if d := fmt.Sprint(s.Density(2, 10)); d != "[0 4]" {
		t.Errorf("matches past the end: density %s", d)
	}
	s = searchTwoProc(t, "!ok", 2)
	if got := fmt.Sprint(s.Matches()); got != "[20 21]" || s.Total != 4 || !s.Truncated() {
		t.Errorf("max 2: matches %s total %d", got, s.Total)
	}
}
