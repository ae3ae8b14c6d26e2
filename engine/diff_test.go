package engine_test

import (
	"flag"
	"fmt"
	"testing"
	"time"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
	"github.com/pgm-explorer/pgm-explorer/internal/testkit/rguest"
	"github.com/pgm-explorer/pgm-explorer/traces"
)

var (
	diffEvents = flag.Int("diff.events", 2500, "events per random guest in the differential tests")
	diffSeeds  = flag.Int("diff.seeds", 2, "random guests per configuration in the differential tests")
	diffFull   = flag.Int("diff.full", 16, "events between two full checks of the engine in the differential tests (1: after every event)")
)

var allGuestModes = []x86.Mode{x86.Mode32Bit, x86.ModePAE, x86.ModePAENX, x86.ModeAMD64, x86.ModeAMD64NX, x86.ModeLA57NX}

// differ replays events through the reference CPU and engine e, and
// reports the first guest-visible difference: an outcome's ok, error
// code, physical address or value, or at the end any byte of guest
// memory (page tables with their accessed and dirty bits included).
func differ(t *testing.T, cfg engine.Config, events []engine.Event, e engine.Engine, check func() error) {
	t.Helper()
	ref, err := engine.NewReference(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i, ev := range events {
		want, werr := ref.Apply(ev)
		got, gerr := e.Apply(ev)
		if (werr != nil) != (gerr != nil) {
			t.Fatalf("event %d %s: ref error %v, engine error %v", i, ev.Op(), werr, gerr)
		}
		if werr != nil {
			continue
		}
		if got.OK != want.OK || got.Fault.Kind != want.Fault.Kind || got.Fault.Code != want.Fault.Code || got.Fault.Rule != want.Fault.Rule ||
			(want.OK && (got.GPA != want.GPA || got.Value != want.Value)) {
			t.Fatalf("event %d %s %#x: engine %s\nreference %s\n%s", i, ev.Op(), ev.Addr,
				traces.AppendOutcomeJSON(nil, &got), traces.AppendOutcomeJSON(nil, &want), context(events, i))
		}
		if check != nil {
			if err := check(); err != nil {
				t.Fatalf("after event %d %s %#x: %v\n%s", i, ev.Op(), ev.Addr, err, context(events, i))
			}
		}
	}
	if c, ok := e.(interface{ Check() error }); ok && check != nil {
		if err := c.Check(); err != nil {
			t.Fatalf("after the last event: %v", err)
		}
	}
	rm, em := ref.Memory(), e.(interface{ Memory() *engine.PhysMemory }).Memory()
	for _, r := range rm.Ranges() {
		a, b := make([]byte, r.Spec.Size), make([]byte, r.Spec.Size)
		rm.ReadNoHandler(r.Spec.Start, a)
		em.ReadNoHandler(r.Spec.Start, b)
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("guest memory differs at %#x: engine %#x, reference %#x", uint64(r.Spec.Start)+uint64(i), b[i], a[i])
			}
		}
	}
}

// checked is the check the differential tests run after each event: the
// incremental one (what the event touched), and the whole state every
// `every` events and after the last. Checking everything after every
// event made these tests the slowest part of make test (minutes under
// the race detector), while the incremental check sees every entry an
// event writes; the periodic full check still finds what it might miss
// within a few events.
func checked(e *engine.Shadow, every int) func() error {
	n := 0
	return func() error {
		if n++; every <= 1 || n%every == 0 {
			return e.Check()
		}
		return e.CheckTouched()
	}
}

func context(events []engine.Event, i int) string {
	s := ""
	for j := max(0, i-12); j <= i; j++ {
		ev := events[j]
		s += fmt.Sprintf("  %d: %s %#x %#x %s\n", j, ev.Op(), ev.Addr, ev.Value, ev.Text)
	}
	return s
}

func TestShadowMatchesReference(t *testing.T) {
	// Every host mode; the global variants share shadow formats with the
	// plain ones, so they get one guest each instead of diff.seeds.
	hosts := []engine.HostMode{engine.Host32Bit, engine.HostPAE, engine.HostPAENX, engine.HostPAEGlobal, engine.HostAMD64, engine.HostAMD64NX,
		engine.Host32BitGlobal, engine.HostPAEGlobalNX, engine.HostAMD64Global, engine.HostAMD64GlobNX}
	pools := []int{16, 64, 1024}
	start := time.Now()
	n := 0
	for hi, host := range hosts {
		seeds := *diffSeeds
		if hi >= 6 {
			seeds = 1
		}
		for _, pool := range pools {
			for seed := 0; seed < seeds; seed++ {
				name := fmt.Sprintf("%s/pool%d/seed%d", host.TraceName(), pool, seed)
				t.Run(name, func(t *testing.T) {
					// A floating hypervisor mapping must stay invisible: the
					// random kernels put tables everywhere, so it must move.
					cfg := engine.Config{Ranges: rguest.Ranges(), Host: host, PoolPages: pool,
						Mappings: []engine.MappingSpec{{Name: "hma", Size: 8 << 20}}}
					events := rguest.New(uint64(seed)*7919+uint64(pool), allGuestModes).Events(*diffEvents)
					e, err := engine.NewShadow(cfg)
					if err != nil {
						t.Fatal(err)
					}
					differ(t, cfg, events, e, checked(e, *diffFull))
					n += len(events)
				})
			}
		}
	}
	t.Logf("%d events in %v", n, time.Since(start))
}

func TestNestedMatchesReference(t *testing.T) {
	for _, paging := range []engine.Paging{engine.PagingNested, engine.PagingEPT} {
		for _, pool := range []int{16, 64} {
			for seed := 0; seed < *diffSeeds; seed++ {
				t.Run(fmt.Sprintf("%v/pool%d/seed%d", paging, pool, seed), func(t *testing.T) {
					cfg := engine.Config{Ranges: rguest.Ranges(), Paging: paging, PoolPages: pool}
					events := rguest.New(uint64(seed)*104729+uint64(pool), allGuestModes).Events(*diffEvents)
					e, err := engine.NewShadow(cfg)
					if err != nil {
						t.Fatal(err)
					}
					differ(t, cfg, events, e, checked(e, *diffFull))
				})
			}
		}
	}
}

// TestDirtyPTMatchesReference: with the dirty page table option, busy
// guest page tables go unmonitored between CR3 loads; a well-behaved
// guest still sees exactly what the reference CPU shows.
func TestDirtyPTMatchesReference(t *testing.T) {
	for _, host := range []engine.HostMode{engine.Host32Bit, engine.HostPAE, engine.HostAMD64NX} {
		for seed := 0; seed < *diffSeeds; seed++ {
			t.Run(fmt.Sprintf("%s/seed%d", host.TraceName(), seed), func(t *testing.T) {
				cfg := engine.Config{Ranges: rguest.Ranges(), Host: host, PoolPages: 64, DirtyPT: true}
				events := rguest.New(uint64(seed)*31+5, allGuestModes).Events(*diffEvents)
				e, err := engine.NewShadow(cfg)
				if err != nil {
					t.Fatal(err)
				}
				differ(t, cfg, events, e, checked(e, *diffFull))
				if s, _ := e.Stats().Lookup("/PGM/Pool/Monitor/RZ/Handled"); s.Value == 0 {
					t.Log("no monitored guest writes in this run")
				}
			})
		}
	}
}

// TestCheckTouchedOnRandomGuests: the incremental checker raises no false
// alarm on the random guests (every event, with a full check now and then
// to make sure the state it trusts is right), in every shadow family,
// with dirty page tables, and under nested paging.
func TestCheckTouchedOnRandomGuests(t *testing.T) {
	cfgs := []engine.Config{
		{Host: engine.Host32Bit, PoolPages: 64},
		{Host: engine.HostPAE, PoolPages: 16, Mappings: []engine.MappingSpec{{Name: "hma", Size: 8 << 20}}},
		{Host: engine.HostAMD64NX, PoolPages: 1024},
		{Host: engine.HostPAE, PoolPages: 64, DirtyPT: true},
		{Paging: engine.PagingNested, PoolPages: 64},
	}
	for ci, cfg := range cfgs {
		for seed := 0; seed < *diffSeeds; seed++ {
			t.Run(fmt.Sprintf("%d/seed%d", ci, seed), func(t *testing.T) {
				cfg.Ranges = rguest.Ranges()
				events := rguest.New(uint64(seed)*613+uint64(ci), allGuestModes).Events(*diffEvents)
				e, err := engine.NewShadow(cfg)
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				differ(t, cfg, events, e, func() error {
					if n++; n%97 == 0 {
						return e.Check()
					}
					return e.CheckTouched()
				})
			})
		}
	}
}
