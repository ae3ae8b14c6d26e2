package workload

import (
	"context"
	"flag"
	"fmt"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
	"github.com/pgm-explorer/pgm-explorer/traces"
)

// A run is what a live recording saw.
type run struct {
	eng      *engine.Shadow // the engine it ran on
	header   traces.Header
	events   []engine.Event
	outcomes []engine.Outcome
}

// live runs a workload on the shadow engine of its header for at most max
// events, checking the engine's invariants after every event.
func liveRun(t *testing.T, name string, seed uint64, params map[string]string, max int) run {
	t.Helper()
	w, err := New(name, seed, params)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r := run{header: w.Header()}
	eng, err := engine.NewShadow(r.header.Config)
	if err != nil {
		t.Fatal(err)
	}
	r.eng = eng
	_, err = Run(context.Background(), w, eng, max, func(ev engine.Event, o *engine.Outcome) error {
		if err := eng.Check(); err != nil {
			return fmt.Errorf("after event %d %s: invariant violated: %w\n%s", o.Index, traces.AppendEvent(nil, ev), err, tail(r.events, ev))
		}
		r.events = append(r.events, ev)
		r.outcomes = append(r.outcomes, *o)
		return nil
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, tail(r.events, engine.Event{}))
	}
	return r
}

// tail renders the last events before ev, for failure messages.
func tail(evs []engine.Event, ev engine.Event) string {
	s := ""
	for _, e := range evs[max(0, len(evs)-12):] {
		s += "  " + string(traces.AppendEvent(nil, e)) + "\n"
	}
	if ev.Kind != engine.EvInvalid {
		s += "> " + string(traces.AppendEvent(nil, ev)) + "\n"
	}
	return s
}

// memoryOf is an engine's guest memory.
type memoryOf interface{ Memory() *phys.Memory }

// checkEvery is how often replays run the invariant checker (live runs
// run it after every event).
const checkEvery = 97

// replayCompare replays r's events on e and compares every outcome's
// guest-visible fields with want (the live run's, or the reference
// CPU's) and, at the end, all guest memory with ref's.
func replayCompare(t *testing.T, r run, e engine.Engine, want []engine.Outcome, ref memoryOf, check func() error) {
	t.Helper()
	for i, ev := range r.events {
		got, err := e.Apply(ev)
		if err != nil {
			t.Fatalf("event %d %s: %v", i, traces.AppendEvent(nil, ev), err)
		}
		w := want[i]
		if !sameOutcome(got, w) {
			t.Fatalf("event %d %s:\n got %s\nwant %s\n%s", i, traces.AppendEvent(nil, ev),
				traces.AppendOutcomeJSON(nil, &got), traces.AppendOutcomeJSON(nil, &w), tail(r.events[:i], ev))
		}
		if check != nil && (i%checkEvery == 0 || i == len(r.events)-1) {
			if err := check(); err != nil {
				t.Fatalf("after event %d %s: %v", i, traces.AppendEvent(nil, ev), err)
			}
		}
	}
	if ref != nil {
		sameMemory(t, ref.Memory(), e.(memoryOf).Memory())
	}
}

// sameOutcome compares the guest-visible fields of two outcomes.
func sameOutcome(got, want engine.Outcome) bool {
	return got.OK == want.OK && got.Fault.Kind == want.Fault.Kind && got.Fault.Code == want.Fault.Code &&
		(!want.OK || got.GPA == want.GPA && got.Value == want.Value)
}

func sameMemory(t *testing.T, want, got *phys.Memory) {
	t.Helper()
	var a, b [4096]byte
	for _, r := range want.Ranges() {
		for off := uint64(0); off < r.Spec.Size; off += uint64(len(a)) {
			n := min(uint64(len(a)), r.Spec.Size-off)
			want.ReadNoHandler(r.Spec.Start+x86.GPA(off), a[:n])
			got.ReadNoHandler(r.Spec.Start+x86.GPA(off), b[:n])
			if a == b {
				continue
			}
			for i := range n {
				if a[i] != b[i] {
					t.Fatalf("guest memory differs at %#x: %#x, reference %#x", uint64(r.Spec.Start)+off+i, b[i], a[i])
				}
			}
		}
	}
}

var longTests = flag.Bool("workload.long", false, "drive the workloads with their default parameters and more events (slow)")

// wellBehavedCase is a workload the tests drive, with a short run.
type wellBehavedCase struct {
	name   string
	params map[string]string
	events int // 0: the whole run
	seeds  []uint64
}

// wellBehavedCases are small: the invariant checker after every event
// costs about 0.1 ms per event and MiB of RAM would make it slower still.
func wellBehavedCases() []wellBehavedCase {
	if *longTests {
		return []wellBehavedCase{
			{"boot", nil, 0, []uint64{1, 2, 3}},
			{"modes-tour", nil, 0, []uint64{1, 2}},
			{"modes-tour", map[string]string{"la57": "false"}, 0, []uint64{1}},
			{"multiprocess", nil, 20000, []uint64{1, 2, 3}},
			{"multiprocess", map[string]string{"mode": "32bit"}, 10000, []uint64{1, 2}},
			{"multiprocess", map[string]string{"mode": "pae"}, 10000, []uint64{1, 2}},
			{"multiprocess", map[string]string{"mode": "pae", "nx": "false"}, 10000, []uint64{1}},
			{"multiprocess", map[string]string{"mode": "la57"}, 10000, []uint64{1, 2}},
			{"multiprocess", map[string]string{"procs": "32", "heap": "256", "locality": "30", "quantum": "16", "ram": "128"}, 20000, []uint64{1}},
			{"multiprocess", map[string]string{"pcid": "true", "smap": "true"}, 20000, []uint64{1, 2}},
			{"multiprocess", map[string]string{"mode": "la57", "pcid": "true", "quantum": "16"}, 10000, []uint64{1}},
			{"multiprocess", map[string]string{"mode": "32bit", "smap": "true"}, 10000, []uint64{1}},
			{"devices", nil, 0, []uint64{1, 2}},
			{"devices", map[string]string{"mode": "32bit"}, 0, []uint64{1}},
			{"devices", map[string]string{"mode": "pae", "fb": "64", "refresh": "4"}, 0, []uint64{1}},
			{"mapping-conflict", nil, 0, []uint64{1, 2}},
			{"mapping-conflict", map[string]string{"pae": "true", "spaces": "3", "hma": "64"}, 0, []uint64{1, 2}},
			{"overcommit", nil, 0, []uint64{1, 2}},
			{"overcommit", map[string]string{"mode": "32bit", "balloon": "200"}, 0, []uint64{1}},
			{"overcommit", map[string]string{"mode": "pae", "zero": "1024", "share": "256"}, 0, []uint64{1}},
		}
	}
	return []wellBehavedCase{
		{"boot", map[string]string{"ram": "8"}, 0, []uint64{1, 2}},
		{"modes-tour", nil, 0, []uint64{1, 2}},
		{"modes-tour", map[string]string{"la57": "false"}, 0, []uint64{1}},
		{"multiprocess", map[string]string{"ram": "8", "heap": "24"}, 1000, []uint64{1, 2}},
		{"multiprocess", map[string]string{"mode": "32bit", "procs": "4", "quantum": "16", "ram": "8", "heap": "16"}, 600, []uint64{1}},
		{"multiprocess", map[string]string{"mode": "pae", "nx": "false", "heap": "16", "ram": "8"}, 600, []uint64{1}},
		{"multiprocess", map[string]string{"mode": "la57", "procs": "3", "locality": "50", "ram": "8"}, 600, []uint64{1}},
		// PCIDs reused after exits (invpcid), bit-63 switches, stac/clac
		// brackets and the deliberate SMAP and SMEP faults all show up
		// in 3000 events of these seeds (TestMultiprocessModern).
		{"multiprocess", map[string]string{"pcid": "true", "smap": "true", "procs": "4", "quantum": "8", "ram": "8", "heap": "16"}, 3000, []uint64{1, 2}},
		{"multiprocess", map[string]string{"mode": "pae", "smap": "true", "procs": "4", "quantum": "8", "ram": "8", "heap": "16"}, 1500, []uint64{3}},
		{"devices", map[string]string{"steps": "16", "ram": "4"}, 0, []uint64{1}},
		{"devices", map[string]string{"mode": "32bit", "steps": "10", "fb": "2", "refresh": "3", "ram": "4"}, 0, []uint64{2}},
		{"mapping-conflict", map[string]string{"grow": "8", "touches": "6", "ram": "4"}, 0, []uint64{1}},
		{"mapping-conflict", map[string]string{"pae": "true", "spaces": "2", "grow": "10", "touches": "6", "hma": "12", "ram": "4"}, 0, []uint64{2}},
		{"overcommit", map[string]string{"zero": "24", "share": "8", "balloon": "12", "ram": "4"}, 0, []uint64{1}},
		{"overcommit", map[string]string{"mode": "pae", "zero": "16", "share": "8", "balloon": "4", "ram": "4"}, 0, []uint64{3}},
	}
}

// TestWellBehaved: every workload, live on the shadow engine with the
// invariant checker after every event, gives the outcomes and final
// memory of the reference CPU; so does a replay of its events on the
// shadow engine with other host modes, a tiny pool and nested paging.
// (The nested replay once missed a dirty bit on a write through a TLB
// entry a read had filled: the engine's TestNestedWriteAfterReadSetsDirty.)
func TestWellBehaved(t *testing.T) {
	configs := []struct {
		name string
		edit func(*engine.Config)
	}{
		{"host-32bit", func(c *engine.Config) { c.Host = engine.Host32Bit }},
		{"host-pae", func(c *engine.Config) { c.Host = engine.HostPAE }},
		{"host-amd64-nx-pool16", func(c *engine.Config) { c.Host = engine.HostAMD64NX; c.PoolPages = 16 }},
		{"nested", func(c *engine.Config) { c.Paging = engine.PagingNested }},
		{"ept", func(c *engine.Config) { c.Paging = engine.PagingEPT }},
	}
	for _, tc := range wellBehavedCases() {
		for _, seed := range tc.seeds {
			t.Run(fmt.Sprintf("%s%v/seed%d", tc.name, tc.params, seed), func(t *testing.T) {
				t.Parallel()
				r := liveRun(t, tc.name, seed, tc.params, tc.events)
				if len(r.events) == 0 {
					t.Fatal("no events")
				}
				ref, err := engine.NewReference(r.header.Config)
				if err != nil {
					t.Fatal(err)
				}
				refOut := make([]engine.Outcome, 0, len(r.events))
				for i, ev := range r.events {
					o, err := ref.Apply(ev)
					if err != nil {
						t.Fatalf("reference: event %d %s: %v", i, traces.AppendEvent(nil, ev), err)
					}
					refOut = append(refOut, o)
				}
				for i := range r.events {
					if !sameOutcome(r.outcomes[i], refOut[i]) {
						t.Fatalf("event %d %s: live %s\nreference %s\n%s", i, traces.AppendEvent(nil, r.events[i]),
							traces.AppendOutcomeJSON(nil, &r.outcomes[i]), traces.AppendOutcomeJSON(nil, &refOut[i]), tail(r.events[:i], r.events[i]))
					}
				}
				sameMemory(t, ref.Memory(), r.eng.Memory())
				for _, c := range configs {
					t.Run(c.name, func(t *testing.T) {
						cfg := r.header.Config
						c.edit(&cfg)
						e, err := engine.NewShadow(cfg)
						if err != nil {
							t.Fatal(err)
						}
						replayCompare(t, r, e, refOut, ref, e.Check)
					})
				}
			})
		}
	}
}
