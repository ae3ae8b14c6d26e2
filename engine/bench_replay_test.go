package engine_test

import (
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
	"github.com/pgm-explorer/pgm-explorer/internal/cputime"
	"github.com/pgm-explorer/pgm-explorer/internal/testkit/rguest"
)

// replayRate applies every event to a fresh engine per iteration and
// reports events per second, by wall time and, where the system says,
// by the process's CPU time (cpu-events/s), which a loaded machine
// disturbs far less.
func replayRate(b *testing.B, cfg engine.Config, events []engine.Event, mk func(engine.Config) (engine.Engine, error)) {
	b.Helper()
	b.ReportAllocs()
	cpu0, cpuOK := cputime.Process()
	for b.Loop() {
		e, err := mk(cfg)
		if err != nil {
			b.Fatal(err)
		}
		var o engine.Outcome
		for i := range events {
			if err := e.ApplyTo(&events[i], &o); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(len(events))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	if cpu1, ok := cputime.Process(); ok && cpuOK && cpu1 > cpu0 {
		b.ReportMetric(float64(len(events))*float64(b.N)/(float64(cpu1-cpu0)/1e9), "cpu-events/s")
	}
}

func newRef(c engine.Config) (engine.Engine, error)    { return engine.NewReference(c) }
func newShadow(c engine.Config) (engine.Engine, error) { return engine.NewShadow(c) }

// BenchmarkReplay compares the shadow engine (and nested paging) with the
// reference CPU on the same traces, in the same run: a TLB-friendly loop
// over a small working set, a fault-heavy trace, and random guests that
// keep changing their page tables.
func BenchmarkReplay(b *testing.B) {
	const n = 100_000
	small := refRAMConfig(phys.RangeSpec{Type: phys.TypeRAM, Start: 0, Size: 4 << 20, Name: "ram"})
	random := engine.Config{Ranges: rguest.Ranges()}
	nested := engine.Config{Ranges: rguest.Ranges(), Paging: engine.PagingNested}
	traces := []struct {
		name   string
		cfg    engine.Config
		events []engine.Event
	}{
		{"tlb-friendly", small, refTLBFriendlyTrace(n)},
		{"fault-heavy", small, refFaultHeavyTrace(n)},
		{"random-guest", random, rguest.New(1, allGuestModes).Events(n)},
	}
	for _, tr := range traces {
		b.Run(tr.name+"/ref", func(b *testing.B) { replayRate(b, tr.cfg, tr.events, newRef) })
		b.Run(tr.name+"/shadow", func(b *testing.B) { replayRate(b, tr.cfg, tr.events, newShadow) })
		cfg := tr.cfg
		cfg.Paging = engine.PagingNested
		if tr.name == "random-guest" {
			cfg = nested
		}
		b.Run(tr.name+"/nested", func(b *testing.B) { replayRate(b, cfg, tr.events, newShadow) })
	}
}

// contextSwitchTrace is a long-mode guest with procs processes, each with
// its own PML4 and working set and a kernel half they share, switching
// CR3 every few accesses: the pool cache keeps every process's tables.
func contextSwitchTrace(procs, n int) []engine.Event {
	var e []engine.Event
	pw := func(gpa, v uint64) {
		e = append(e, engine.Event{Kind: engine.EvPhysWrite, Size: 8, Addr: gpa, Value: v})
	}
	const kernelPDPT, kernelPD, kernelPT = 0x10000, 0x11000, 0x12000
	pw(kernelPDPT, kernelPD|7)
	pw(kernelPD, kernelPT|7)
	for i := uint64(0); i < 512; i++ {
		pw(kernelPT+8*i, (0x400+i)<<12|0x163) // global, supervisor
	}
	for p := uint64(0); p < uint64(procs); p++ {
		base := 0x100000 + p*0x4000
		pml4, pdpt, pd, pt := base, base+0x1000, base+0x2000, base+0x3000
		pw(pml4, pdpt|7)
		pw(pml4+8*511, kernelPDPT|7) // kernel half
		pw(pdpt, pd|7)
		pw(pd, pt|7)
		for i := uint64(0); i < 64; i++ {
			pw(pt+8*i, (0x1000+p*64+i)<<12|0x67)
		}
	}
	ev := func(k engine.EventKind, v uint64) { e = append(e, engine.Event{Kind: k, Value: v}) }
	ev(engine.EvCR0, x86.CR0PE)
	ev(engine.EvCR4, x86.CR4PAE|x86.CR4PGE)
	ev(engine.EvEFER, x86.EFERLME|x86.EFERNXE)
	ev(engine.EvCR3, 0x100000)
	ev(engine.EvCR0, x86.CR0PE|x86.CR0PG|x86.CR0WP)
	for i := 0; len(e) < n; i++ {
		p := uint64(i/16) % uint64(procs)
		if i%16 == 0 {
			ev(engine.EvCR3, 0x100000+p*0x4000)
		}
		va := uint64(i*7%64)<<12 | uint64(i*8)&0xff8
		if i%5 == 0 {
			va = 0xffffff8000000000 | uint64(i%512)<<12 // kernel
		}
		e = append(e, engine.Event{Kind: engine.EvRead, Size: 8, Addr: va})
	}
	return e
}

// BenchmarkPoolCacheContextSwitch reports the pool cache hit rate of a
// context-switch-heavy guest (64 processes) with the default pool and a
// small one that must evict.
func BenchmarkPoolCacheContextSwitch(b *testing.B) {
	events := contextSwitchTrace(64, 200_000)
	for _, pool := range []int{1024, 128} {
		b.Run(poolName(pool), func(b *testing.B) {
			var hits, misses uint64
			for b.Loop() {
				s, err := engine.NewShadow(engine.Config{Ranges: []phys.RangeSpec{{Type: phys.TypeRAM, Size: 64 << 20}}, PoolPages: pool})
				if err != nil {
					b.Fatal(err)
				}
				for _, ev := range events {
					if _, err := s.Apply(ev); err != nil {
						b.Fatal(err)
					}
				}
				h, _ := s.Stats().Lookup("/PGM/Pool/Cache/Hits")
				m, _ := s.Stats().Lookup("/PGM/Pool/Cache/Misses")
				hits, misses = h.Value, m.Value
			}
			b.ReportMetric(100*float64(hits)/float64(hits+misses), "%hit")
			b.ReportMetric(float64(len(events))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

func poolName(n int) string {
	if n == 1024 {
		return "pool1024"
	}
	return "pool128"
}
