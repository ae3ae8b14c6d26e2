//go:build !js

package analysis

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/internal/testkit"
	"github.com/pgm-explorer/pgm-explorer/traces"
	"github.com/pgm-explorer/pgm-explorer/traces/workload"
)

func compareEvents(t *testing.T, h traces.Header, evs []engine.Event, a, b string, m CostModel, window uint64) *Comparer {
	t.Helper()
	c, err := NewComparer(h.Config, a, b, m, window, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i, ev := range evs {
		if err := c.Apply(ev); err != nil {
			t.Fatalf("event %d %s: %v", i, traces.AppendEvent(nil, ev), err)
		}
	}
	c.Finish()
	return c
}

// TestCompareCostByHand: the work of twoproc.txt counted by hand from
// its outcomes (see the trace), under a cost model with round figures.
func TestCompareCostByHand(t *testing.T) {
	h, evs := testkit.ReadTrace(t, "testdata/twoproc.txt")
	m := CostModel{1000, 500, 10, 2, 1}
	c := compareEvents(t, h, evs, "paging=shadow", "paging=nested", m, 8)
	a, b := c.Sides[0], c.Sides[1]
	// Shadow paging. Exits: efer, cr4, cr3, cr0 (4); A's sync-pt,
	// dirty-trap, accessed-trap and two guest faults (5); the cr3 to B;
	// B's sync-pt, dirty-trap and guest fault (3); the cr3 back; A's
	// guest fault, the invlpg and the accessed-trap after it: 17.
	// Guest walks of 4 levels at the 10 exits that resolved a #PF, and
	// one hardware walk of the 4 shadow levels (the shadow-hit): 44.
	// Two TLB hits. Nothing emulated, no 2D walk.
	want := Work{CostExit: 17, CostWalkRef: 44, CostTLBHit: 2}
	if a.Work != want {
		t.Errorf("shadow work %v, want %v", a.Work, want)
	}
	if got, w := m.Cycles(&a.Work), 17.0*1000+44*10+2; got != w {
		t.Errorf("shadow cycles %v, want %v", got, w)
	}
	// Nested paging: efer, cr4 and cr0 exit, CR3 loads and invlpg do
	// not, guest faults go straight to the guest; four nested faults
	// (the first touch of each guest page: A's tables and data, B's).
	if b.Work[CostExit] != 7 || b.Work[CostWalkRef] != 0 || b.Work[CostTLBHit] != 2 || b.Work[CostEmulate] != 0 {
		t.Errorf("nested work %v, want 7 exits, no 1D walk, 2 TLB hits", b.Work)
	}
	if b.Work[CostNestedRef] != b.Counts.MemRefs || b.Counts.MemRefs == 0 {
		t.Errorf("nested references %d, engine's memrefs %d", b.Work[CostNestedRef], b.Counts.MemRefs)
	}
	if got, w := m.Cycles(&b.Work), 7.0*1000+2*float64(b.Counts.MemRefs)+2; got != w {
		t.Errorf("nested cycles %v, want %v", got, w)
	}
	if c.Mismatched != 0 {
		t.Errorf("mismatches: %+v", c.Mismatches)
	}
	// The stretch that differs most: events 32..36 (the last, partial
	// window) or the one with A's first syncs; either way sorted by |a-b|.
	// The last window, events 32..36 under shadow paging: A's guest
	// fault (an exit and a 4-level walk), a shadow hit (4 references),
	// the pw8 (nothing), the invlpg (an exit), the accessed-trap (an
	// exit and a walk): 3 exits and 12 references.
	found := false
	for _, s := range c.Stretches {
		if s.From == 32 {
			found = true
			if got := m.Cycles(&s.Work[0]); got != 3*1000+12*10 {
				t.Errorf("stretch 32..%d: shadow %v cycles, want 3120", s.To, got)
			}
		}
	}
	if !found {
		t.Errorf("stretch 32.. not among %+v", c.Stretches)
	}
	for i := 1; i < len(c.Stretches); i++ {
		if abs(c.Stretches[i-1].Delta) < abs(c.Stretches[i].Delta) {
			t.Errorf("stretches out of order: %+v", c.Stretches)
		}
	}
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

func TestParseCosts(t *testing.T) {
	m, err := ParseCosts(strings.NewReader("# mine\nexit = 900\n\n tlb-hit=0.5 # half\n"), "c.txt")
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultCosts
	want[CostExit], want[CostTLBHit] = 900, 0.5
	if m != want {
		t.Errorf("got %v, want %v", m, want)
	}
	for _, tc := range []struct{ in, msg string }{
		{"exit 900", "c.txt:1: want `name = cycles`"},
		{"\nvmexit = 3", `c.txt:2: unknown cost "vmexit"`},
		{"exit = -1", "c.txt:1: exit: cycles \"-1\" is not a number"},
		{"exit = lots", "c.txt:1: exit: cycles \"lots\""},
		{"exit = NaN", "c.txt:1: exit: cycles \"NaN\""},
		{"exit = +Inf", "c.txt:1: exit: cycles \"+Inf\""},
	} {
		if _, err := ParseCosts(strings.NewReader(tc.in), "c.txt"); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%q: got %v, want %q", tc.in, err, tc.msg)
		}
	}
}

func TestApplySpec(t *testing.T) {
	cfg, err := ApplySpec(engine.Config{}, "paging=ept, host=pae,pool=32,dirty-pt=on")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Paging != engine.PagingEPT || cfg.Host != engine.HostPAE || cfg.PoolPages != 32 || !cfg.DirtyPT {
		t.Errorf("got %+v", cfg)
	}
	for _, bad := range []string{"paging=tlb", "pool=3", "colour=red", "pool", "dirty-pt=maybe", "host=68k"} {
		if _, err := ApplySpec(engine.Config{}, bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestCompareNeverDiffers is the property: on live guests of every
// workload (several seeds; PCIDs, SMEP and SMAP among them), no pair of
// configurations (host modes, shadow, nested and EPT paging, pools down
// to 16 pages, dirty page tables on and off) ever gives the guest
// different outcomes or leaves it different memory.
func TestCompareNeverDiffers(t *testing.T) {
	guests := []struct {
		name   string
		params map[string]string
		events int
		seeds  []uint64
	}{
		{"boot", map[string]string{"ram": "8"}, 0, []uint64{1, 2}},
		{"modes-tour", nil, 0, []uint64{1, 2}},
		{"multiprocess", map[string]string{"ram": "8", "heap": "24"}, 1500, []uint64{1, 2, 3}},
		{"multiprocess", map[string]string{"mode": "32bit", "procs": "4", "ram": "8", "heap": "16"}, 800, []uint64{4}},
		{"multiprocess", map[string]string{"mode": "pae", "ram": "8", "heap": "16"}, 800, []uint64{5}},
		{"multiprocess", map[string]string{"mode": "la57", "procs": "3", "ram": "8"}, 800, []uint64{6}},
		{"multiprocess", map[string]string{"pcid": "true", "smap": "true", "ram": "8", "heap": "24"}, 1500, []uint64{7, 8}},
		{"devices", map[string]string{"steps": "16", "ram": "4"}, 0, []uint64{1}},
		{"mapping-conflict", map[string]string{"grow": "8", "touches": "6", "ram": "4"}, 0, []uint64{1}},
		{"overcommit", map[string]string{"zero": "24", "share": "8", "balloon": "12", "ram": "4"}, 0, []uint64{1}},
	}
	pairs := [][2]string{
		{"paging=shadow", "paging=nested"},
		{"host=32bit,pool=16", "host=pae-global-nx,pool=1024"},
		{"host=amd64,pool=16,dirty-pt=on", "paging=ept"},
		{"host=amd64-global-nx,dirty-pt=off", "host=pae,dirty-pt=on,pool=24"},
	}
	for _, g := range guests {
		for _, seed := range g.seeds {
			t.Run(fmt.Sprintf("%s%v/seed%d", g.name, g.params, seed), func(t *testing.T) {
				w, err := workload.New(g.name, seed, g.params)
				if err != nil {
					t.Fatal(err)
				}
				defer w.Close()
				h := w.Header()
				ref, err := engine.NewReference(h.Config)
				if err != nil {
					t.Fatal(err)
				}
				var evs []engine.Event
				if _, err := workload.Run(context.Background(), w, ref, g.events, func(ev engine.Event, _ *engine.Outcome) error {
					evs = append(evs, ev)
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				if len(evs) < 50 {
					t.Fatalf("only %d events", len(evs))
				}
				for _, p := range pairs {
					c := compareEvents(t, h, evs, p[0], p[1], DefaultCosts, 100)
					if c.Mismatched != 0 {
						m := c.Mismatches[0]
						t.Errorf("%s vs %s: %d events differ, first %d %s: %s\n a %s\n b %s", p[0], p[1], c.Mismatched, m.Index,
							traces.AppendEvent(nil, m.Event), m.Why, traces.AppendOutcomeJSON(nil, &m.A), traces.AppendOutcomeJSON(nil, &m.B))
					}
					if c.Events != uint64(len(evs)) {
						t.Errorf("%d events compared of %d", c.Events, len(evs))
					}
				}
			})
		}
	}
}

// TestGuestDiff: what the comparer calls a guest-visible difference
// (the engine bug it reports), and what it does not.
func TestGuestDiff(t *testing.T) {
	a := engine.Outcome{Event: engine.Event{Kind: engine.EvRead, Size: 4}, OK: true, GPA: 0x1000, Value: 1}
	for _, tc := range []struct {
		edit func(o *engine.Outcome)
		want string
	}{
		{func(o *engine.Outcome) {}, ""},
		{func(o *engine.Outcome) { o.Path = engine.PathSyncPage; o.MemRefs = 9 }, ""},
		{func(o *engine.Outcome) { o.Value = 2 }, "value 0x1, 0x2"},
		{func(o *engine.Outcome) { o.GPA = 0x2000 }, "gpa 0x1000, 0x2000"},
		{func(o *engine.Outcome) { o.OK = false }, "ok true, false"},
	} {
		b := a
		tc.edit(&b)
		if got := guestDiff(&a, &b); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}

// TestChargeModern: SMEP, SMAP and protection-key faults are guest
// faults like any other (an exit and a software walk under shadow
// paging, nothing under nested), and invpcid exits only under shadow.
func TestChargeModern(t *testing.T) {
	for _, tc := range []struct {
		o      engine.Outcome
		paging engine.Paging
		want   Work
	}{
		{engine.Outcome{Event: engine.Event{Kind: engine.EvExec}, Path: engine.PathSMEPFault}, engine.PagingShadow, Work{CostExit: 1, CostWalkRef: 4}},
		{engine.Outcome{Event: engine.Event{Kind: engine.EvRead, Size: 4}, Path: engine.PathSMAPFault}, engine.PagingShadow, Work{CostExit: 1, CostWalkRef: 4}},
		{engine.Outcome{Event: engine.Event{Kind: engine.EvWrite, Size: 4}, Path: engine.PathKeyFault, MemRefs: 24}, engine.PagingNested, Work{CostNestedRef: 24}},
		{engine.Outcome{Event: engine.Event{Kind: engine.EvInvpcid, Size: 1}}, engine.PagingShadow, Work{CostExit: 1}},
		{engine.Outcome{Event: engine.Event{Kind: engine.EvInvpcid, Size: 1}}, engine.PagingEPT, Work{}},
		{engine.Outcome{Event: engine.Event{Kind: engine.EvWrite, Size: 4}, OK: true, Path: engine.PathMonitorWrite}, engine.PagingShadow, Work{CostExit: 1, CostEmulate: 1}},
	} {
		var w Work
		charge(&w, &tc.o, tc.paging, 4, 4)
		if w != tc.want {
			t.Errorf("%v %v under %v: %v, want %v", tc.o.Event.Kind, tc.o.Path, tc.paging, w, tc.want)
		}
	}
}

// TestCompareMemory: a byte of guest memory that differs at the end (as
// a dirty bit one engine forgot would) is reported, after the events.
func TestCompareMemory(t *testing.T) {
	h, evs := testkit.ReadTrace(t, "testdata/twoproc.txt")
	c, err := NewComparer(h.Config, "", "paging=nested", DefaultCosts, 100, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if err := c.Apply(ev); err != nil {
			t.Fatal(err)
		}
	}
	// Side b "forgets" the dirty bit of A's PTE for 0x400000.
	c.Sides[1].Eng.Memory().Write(0x303000, 8, 0x500027)
	c.Finish()
	if c.Mismatched != 1 || !c.Mismatches[0].Memory || c.Mismatches[0].Why != "guest memory at 0x303000: 0x67, 0x27" {
		t.Fatalf("mismatches %+v", c.Mismatches)
	}
	var b strings.Builder
	if err := c.WriteTable(&b); err != nil || !strings.Contains(b.String(), "ENGINE BUG") || !strings.Contains(b.String(), "after the last event: guest memory at 0x303000") {
		t.Errorf("table:\n%s", b.String())
	}
	b.Reset()
	if err := c.WriteJSON(&b); err != nil || !strings.Contains(b.String(), `"mismatched": 1`) {
		t.Errorf("json:\n%s", b.String())
	}
	c2, _ := NewComparer(h.Config, "", "pool=16", DefaultCosts, 100, 1)
	for _, ev := range evs {
		c2.Apply(ev)
	}
	c2.Finish()
	if c2.Mismatched != 0 {
		t.Errorf("two sound configurations: %+v", c2.Mismatches)
	}
}
