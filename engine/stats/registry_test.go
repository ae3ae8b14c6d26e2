package stats

import (
	"slices"
	"strings"
	"testing"
)

func TestKindAndUnitNumbers(t *testing.T) {
	kinds := []struct {
		k    Kind
		n    uint8
		name string
	}{
		{KindInvalid, 0, "invalid"}, {KindCounter, 1, "counter"},
		{KindProfile, 2, "profile"}, {KindGauge, 3, "gauge"}, {kindMax, 4, "unknown kind"},
	}
	for _, c := range kinds {
		if uint8(c.k) != c.n || c.k.String() != c.name {
			t.Errorf("kind %d: got (%d, %q), want (%d, %q)", c.k, uint8(c.k), c.k, c.n, c.name)
		}
	}
	units := []struct {
		u    Unit
		n    uint8
		name string
	}{
		{UnitInvalid, 0, "invalid"}, {UnitOccurrences, 1, "occurrences"}, {UnitCalls, 2, "calls"},
		{UnitNsPerCall, 3, "ns/call"}, {UnitPages, 4, "pages"}, {UnitBytes, 5, "bytes"},
		{UnitCount, 6, "count"}, {unitMax, 7, "unknown unit"},
	}
	for _, c := range units {
		if uint8(c.u) != c.n || c.u.String() != c.name {
			t.Errorf("unit %d: got (%d, %q), want (%d, %q)", c.u, uint8(c.u), c.u, c.n, c.name)
		}
	}
}

// mustPanic runs f and returns the panic message, failing if f returns.
func mustPanic(t *testing.T, f func()) (msg string) {
	t.Helper()
	defer func() {
		v := recover()
		if v == nil {
			t.Fatal("no panic")
		}
		msg, _ = v.(string)
	}()
	f()
	return ""
}

func TestRegisterPanics(t *testing.T) {
	zero := func() uint64 { return 0 }
	cases := []struct {
		name string
		reg  func(r *Registry)
		want string // substring of the panic message
	}{
		{"empty", func(r *Registry) { r.Counter("", UnitOccurrences, "") }, "malformed name"},
		{"no leading slash", func(r *Registry) { r.Counter("PGM/X", UnitOccurrences, "") }, "malformed name"},
		{"root only", func(r *Registry) { r.Profile("/", "") }, "malformed name"},
		{"trailing slash", func(r *Registry) { r.Counter("/PGM/", UnitOccurrences, "") }, "component 1 is empty"},
		{"double slash", func(r *Registry) { r.Counter("/PGM//X", UnitOccurrences, "") }, "component 1 is empty"},
		{"space", func(r *Registry) { r.Counter("/PGM/A B", UnitOccurrences, "") }, "offset 6"},
		{"non-ASCII", func(r *Registry) { r.Counter("/PGM/é", UnitOccurrences, "") }, "not printable"},
		{"dot-dot", func(r *Registry) { r.Gauge("/PGM/../X", UnitPages, "", zero) }, `component 1 is ".."`},
		{"too long", func(r *Registry) { r.Counter("/"+strings.Repeat("x", maxName), UnitCount, "") }, "longer than"},
		{"invalid unit", func(r *Registry) { r.Counter("/PGM/X", UnitInvalid, "") }, "invalid unit"},
		{"unit out of range", func(r *Registry) { r.Gauge("/PGM/X", unitMax, "", zero) }, "invalid unit"},
		{"nil gauge", func(r *Registry) { r.Gauge("/PGM/X", UnitPages, "", nil) }, "nil function"},
		{"duplicate counter", func(r *Registry) {
			r.Counter("/PGM/X", UnitOccurrences, "")
			r.Counter("/PGM/X", UnitOccurrences, "")
		}, `"/PGM/X" registered twice`},
		{"profile over counter", func(r *Registry) {
			r.Counter("/PGM/X", UnitOccurrences, "")
			r.Profile("/PGM/X", "")
		}, "registered twice"},
		{"gauge over family member", func(r *Registry) {
			r.CounterFamily("/PGM/PD/%02X", UnitOccurrences, "", 32)
			r.Gauge("/PGM/PD/1F", UnitPages, "", zero)
		}, `"/PGM/PD/1F" registered twice`},
		{"overlapping families", func(r *Registry) {
			r.CounterFamily("/PGM/PD/%d", UnitOccurrences, "", 20)
			r.CounterFamily("/PGM/PD/1%d", UnitOccurrences, "", 10)
		}, `"/PGM/PD/10" registered twice`},
		{"family no verb", func(r *Registry) { r.CounterFamily("/PGM/PD", UnitOccurrences, "", 4) }, "exactly one"},
		{"family two verbs", func(r *Registry) { r.CounterFamily("/PGM/%d/%d", UnitOccurrences, "", 4) }, "exactly one"},
		{"family string verb", func(r *Registry) { r.CounterFamily("/PGM/%s", UnitOccurrences, "", 4) }, "the verb must be"},
		{"family flag", func(r *Registry) { r.CounterFamily("/PGM/%-4d", UnitOccurrences, "", 4) }, "the verb must be"},
		{"family verb at end", func(r *Registry) { r.CounterFamily("/PGM/%04", UnitOccurrences, "", 4) }, "the verb must be"},
		{"family empty", func(r *Registry) { r.CounterFamily("/PGM/%d", UnitOccurrences, "", 0) }, "size 0"},
		{"family too big", func(r *Registry) { r.CounterFamily("/PGM/%d", UnitOccurrences, "", maxFamily+1) }, "size"},
		{"family bad member", func(r *Registry) { r.CounterFamily("/PGM/%d/", UnitOccurrences, "", 2) }, "member 0"},
		{"family invalid unit", func(r *Registry) { r.CounterFamily("/PGM/%d", UnitInvalid, "", 2) }, "invalid unit"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg := mustPanic(t, func() { c.reg(New()) })
			if !strings.Contains(msg, c.want) {
				t.Errorf("panic %q does not contain %q", msg, c.want)
			}
		})
	}
}

// A registration that panics must leave nothing behind, so that a test
// recovering from it sees the registry as it was.
func TestRegisterPanicLeavesNoTrace(t *testing.T) {
	r := New()
	r.Counter("/PGM/PD/05", UnitOccurrences, "")
	mustPanic(t, func() { r.CounterFamily("/PGM/PD/%02d", UnitOccurrences, "", 10) })
	if _, ok := r.Lookup("/PGM/PD/00"); ok {
		t.Error("a member of the rejected family is registered")
	}
	r.Counter("/PGM/PD/00", UnitOccurrences, "") // must not panic
	if got := len(r.entries); got != 2 {
		t.Errorf("%d entries, want 2", got)
	}
}

func TestValidNames(t *testing.T) {
	for _, name := range []string{
		"/a", "/PGM/cGuestModeChanges", "/PGM/R0/SetSize000..09", "/PGM/RZ/Trap0e/Time2/SyncPT",
		"/PGM/VirtHandler/Calls/[0x1000-0x1fff]", "/" + strings.Repeat("x", maxName-1),
	} {
		if err := checkName(name); err != nil {
			t.Errorf("checkName(%q) = %v, want nil", name, err)
		}
	}
}

func TestEachPathOrder(t *testing.T) {
	r := New()
	reg := []string{"/B", "/A/B/C", "/A-B", "/A", "/A/B", "/A/a", "/A/B-C", "/A.B/X"}
	for _, n := range reg {
		r.Counter(n, UnitOccurrences, "")
	}
	var got []string
	r.Each(func(s Sample) { got = append(got, s.Name) })
	want := []string{"/A", "/A/B", "/A/B/C", "/A/B-C", "/A/a", "/A-B", "/A.B/X", "/B"}
	if !slices.Equal(got, want) {
		t.Errorf("order:\n got %q\nwant %q", got, want)
	}
	// Registering after a read must refresh the order.
	r.Counter("/A/0", UnitOccurrences, "")
	if s := r.Snapshot(); s[1].Name != "/A/0" {
		t.Errorf("after a late registration, second name is %q, want /A/0", s[1].Name)
	}
}

func TestCounterAndLookup(t *testing.T) {
	r := New()
	c := r.Counter("/PGM/Track/Virgin", UnitOccurrences, "first shadowings")
	c.Inc()
	c.Inc()
	c.Add(40)
	if c.Value() != 42 {
		t.Fatalf("Value = %d, want 42", c.Value())
	}
	s, ok := r.Lookup("/PGM/Track/Virgin")
	want := Sample{Name: "/PGM/Track/Virgin", Kind: KindCounter, Unit: UnitOccurrences, Desc: "first shadowings", Value: 42}
	if !ok || s != want {
		t.Errorf("Lookup = %+v, %v; want %+v, true", s, ok, want)
	}
	if _, ok := r.Lookup("/PGM/Track"); ok {
		t.Error("Lookup of a heading succeeded")
	}
}

func TestGauge(t *testing.T) {
	r := New()
	pages := uint64(7)
	r.Gauge("/PGM/Pool/cCurPages", UnitPages, "pool pages", func() uint64 { return pages })
	check := func(want uint64) {
		t.Helper()
		if s, _ := r.Lookup("/PGM/Pool/cCurPages"); s.Value != want || s.Kind != KindGauge || s.Unit != UnitPages {
			t.Errorf("gauge sample %+v, want value %d", s, want)
		}
	}
	check(7)
	pages = 9 // sampled when read, not when registered
	check(9)
	r.Reset()
	check(9)
}

func TestResetAndPrefix(t *testing.T) {
	r := New()
	r.SetTiming(false)
	a := r.Counter("/PGM/Pool/Cache/Hits", UnitOccurrences, "")
	p := r.Profile("/PGM/Pool/Alloc", "")
	f := r.CounterFamily("/PGM/PDSyncPT/%04X", UnitOccurrences, "", 1024)
	r.Counter("/PGM/PoolX", UnitOccurrences, "").Inc()
	r.Gauge("/PGM/Pool/cCurPages", UnitPages, "", func() uint64 { return 3 })
	a.Inc()
	p.End(p.Begin())
	f.Inc(0x3ff)

	var names []string
	for _, s := range r.Prefix("/PGM/Pool/") {
		names = append(names, s.Name)
	}
	if want := []string{"/PGM/Pool/Alloc", "/PGM/Pool/Cache/Hits", "/PGM/Pool/cCurPages"}; !slices.Equal(names, want) {
		t.Errorf("Prefix = %q, want %q", names, want)
	}
	if r.Len() != 5 {
		t.Errorf("Len = %d before Reset, want 5", r.Len())
	}
	r.Reset()
	for _, s := range r.Snapshot() {
		if s.Kind != KindGauge && !s.IsZero() {
			t.Errorf("%s = %+v after Reset", s.Name, s)
		}
	}
	if r.Len() != 4 { // the family member is gone
		t.Errorf("Len = %d after Reset, want 4", r.Len())
	}
}

// Statistics compiled out: a nil registry hands out nil handles, and
// every call on them is harmless.
func TestNilRegistry(t *testing.T) {
	var r *Registry
	c := r.Counter("/x", UnitOccurrences, "")
	p := r.Profile("/y", "")
	f := r.CounterFamily("/z/%d", UnitOccurrences, "", 4)
	r.Gauge("/g", UnitPages, "", nil)
	c.Inc()
	c.Add(2)
	p.End(p.Begin())
	f.Inc(3)
	f.Add(1, 5)
	r.SetTiming(true)
	r.Reset()
	if c.Value() != 0 || p.Calls() != 0 || f.Value(3) != 0 || f.Len() != 0 || r.Len() != 0 || r.Timing() {
		t.Error("a nil handle reported something")
	}
	if _, ok := r.Lookup("/x"); ok || r.Snapshot() != nil || r.Prefix("/") != nil {
		t.Error("a nil registry listed something")
	}
	var b strings.Builder
	if err := r.WriteTree(&b, TreeOptions{}); err != nil || b.Len() != 0 {
		t.Errorf("WriteTree on nil: %q, %v", b.String(), err)
	}
}

// The hot path must not allocate; the benchmarks show the same, this
// makes it a failure.
func TestHotPathAllocs(t *testing.T) {
	r := New()
	c := r.Counter("/c", UnitOccurrences, "")
	p := r.Profile("/p", "")
	f := r.CounterFamily("/f/%d", UnitOccurrences, "", 8)
	for _, timing := range []bool{true, false} {
		r.SetTiming(timing)
		n := testing.AllocsPerRun(100, func() {
			c.Inc()
			c.Add(2)
			p.End(p.Begin())
			f.Inc(3)
		})
		if n != 0 {
			t.Errorf("timing %v: %v allocations per run, want 0", timing, n)
		}
	}
}
