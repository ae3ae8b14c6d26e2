package workload

import (
	"context"
	"fmt"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
	"github.com/pgm-explorer/pgm-explorer/traces"
)

// conflicts is the engine's count of mapping conflicts.
func conflicts(t *testing.T, e *engine.Shadow) uint64 {
	t.Helper()
	s, ok := e.Stats().Lookup("/PGM/R3/DetectedConflicts")
	if !ok {
		t.Fatal("no /PGM/R3/DetectedConflicts statistic")
	}
	return s.Value
}

// TestMappingConflict: the kernel's page tables collide with the
// floating mapping, which the engine moves (conflicts counted, the
// mapping no longer where it started) while the guest sees what the
// reference CPU shows (TestWellBehaved); between mappings-fix and
// mappings-unfix the mapping stays at the fixed range, which the guest
// never touches, and no conflict is counted; after the unfix the
// kernel's module area makes it move again. Replays on other hosts keep
// the header's mapping and resolve conflicts too.
func TestMappingConflict(t *testing.T) {
	for _, params := range []map[string]string{
		{"grow": "12", "touches": "6", "ram": "4"},
		{"pae": "true", "spaces": "3", "grow": "16", "touches": "6", "hma": "20", "ram": "4"},
	} {
		t.Run(fmt.Sprint(params), func(t *testing.T) {
			t.Parallel()
			w, err := New("mapping-conflict", 4, params)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			h := w.Header()
			if len(h.Config.Mappings) != 1 || h.Config.Mappings[0].Name != mcMapName {
				t.Fatalf("header mappings %+v", h.Config.Mappings)
			}
			hma := w.(withMappings).Header().Config.Mappings
			hma[0].Name = "changed"
			if w.Header().Config.Mappings[0].Name != mcMapName {
				t.Error("Header hands out its own mappings")
			}
			e, err := engine.NewShadow(h.Config)
			if err != nil {
				t.Fatal(err)
			}
			start := e.Mappings()[0].Base
			size := e.Mappings()[0].Size
			var (
				evs       []engine.Event
				outs      []engine.Outcome
				fixed     bool
				fixRange  x86.GVARange
				fixedAt   uint64 // conflicts when the mappings were fixed
				fixes     int
				unfixedAt uint64
			)
			_, err = Run(context.Background(), w, e, 0, func(ev engine.Event, o *engine.Outcome) error {
				evs, outs = append(evs, ev), append(outs, *o)
				switch ev.Kind {
				case engine.EvMappingsFix:
					fixes++
					ok, r := e.MappingsFixed()
					fixRange, _ = x86.MakeRange(x86.GVA(ev.Addr), ev.Value)
					if !ok || r != fixRange || e.Mappings()[0].Base != fixRange.Start {
						return fmt.Errorf("after %s: fixed %v at %v, mapping at %#x", traces.AppendEvent(nil, ev), ok, r,
							uint64(e.Mappings()[0].Base))
					}
					fixed, fixedAt = true, conflicts(t, e)
				case engine.EvMappingsUnfix:
					if ok, _ := e.MappingsFixed(); ok {
						return fmt.Errorf("still fixed after %s", traces.AppendEvent(nil, ev))
					}
					if n := conflicts(t, e); n != fixedAt {
						return fmt.Errorf("%d conflicts while the mappings were fixed", n-fixedAt)
					}
					fixed, unfixedAt = false, conflicts(t, e)
				}
				if fixed && ev.Kind.Access() {
					if va := x86.GVA(ev.Addr); fixRange.Contains(va) {
						return fmt.Errorf("event %d %s touches the fixed mappings at %v", o.Index, traces.AppendEvent(nil, ev), fixRange)
					}
				}
				if o.Index%16 == 0 {
					return e.Check()
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			n := conflicts(t, e)
			end := e.Mappings()[0]
			t.Logf("%d events; the mapping started at %#x, ended at %#x; %d conflicts (%d after the unfix)", len(evs),
				uint64(start), uint64(end.Base), n, n-unfixedAt)
			switch {
			case start != x86.GVA(mapTop-size):
				t.Errorf("the mapping started at %#x, not below the top 4 MiB", uint64(start))
			case fixes != 1 || fixed:
				t.Errorf("%d mappings-fix events, fixed at the end %v", fixes, fixed)
			case n < 3 || n == unfixedAt:
				t.Errorf("%d conflicts, %d after the unfix: want several, and one for the module area", n, n-unfixedAt)
			case end.Base == start || fixRange.Overlaps(end.Range()):
				t.Errorf("the mapping ends at %#x", uint64(end.Base))
			}

			for _, host := range []engine.HostMode{engine.Host32Bit, engine.HostPAE, engine.HostAMD64NX} {
				cfg := h.Config
				cfg.Host = host
				r, err := engine.NewShadow(cfg)
				if err != nil {
					t.Fatal(err)
				}
				if len(r.Mappings()) != 1 || r.Mappings()[0].Base != start {
					t.Fatalf("host %v: the replay lost the header's mapping", host)
				}
				for i, ev := range evs {
					o, err := r.Apply(ev)
					if err != nil {
						t.Fatalf("host %v: event %d: %v", host, i, err)
					}
					if !sameOutcome(o, outs[i]) {
						t.Fatalf("host %v: event %d %s: %s, live %s", host, i, traces.AppendEvent(nil, ev), traces.AppendOutcomeJSON(nil, &o), traces.AppendOutcomeJSON(nil, &outs[i]))
					}
				}
				if err := r.Check(); err != nil {
					t.Fatalf("host %v: %v", host, err)
				}
				if got := conflicts(t, r); got == 0 {
					t.Errorf("host %v: no conflict in the replay", host)
				}
			}
		})
	}
}

// TestMappingConflictSpaces32: 32-bit paging with several address
// spaces, each with its own page directory, under the well-behaved
// harness's checks. A mapping that moves while one space is current must
// leave no old entries in the others' cached shadows (the engine's own
// regression test for that is TestMappingMoveReachesOtherSpaces).
func TestMappingConflictSpaces32(t *testing.T) {
	r := liveRun(t, "mapping-conflict", 1, map[string]string{"spaces": "3", "grow": "10", "touches": "8", "ram": "4"}, 0)
	ref, err := engine.NewReference(r.header.Config)
	if err != nil {
		t.Fatal(err)
	}
	for i, ev := range r.events {
		o, err := ref.Apply(ev)
		if err != nil {
			t.Fatal(err)
		}
		if !sameOutcome(r.outcomes[i], o) {
			t.Fatalf("event %d %s: live %s, reference %s", i, traces.AppendEvent(nil, ev), traces.AppendOutcomeJSON(nil, &r.outcomes[i]), traces.AppendOutcomeJSON(nil, &o))
		}
	}
	sameMemory(t, ref.Memory(), r.eng.Memory())
}
