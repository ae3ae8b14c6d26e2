package engine

import (
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// benchGuest is a long-mode guest with 4 MiB of identity-mapped 4 KiB
// pages: PML4 at 1M, PDPT at 1M+4K, PD at 1M+8K, PTs from 1M+12K.
func benchGuest(tb testing.TB, pool int, ptFlags uint64) *Shadow {
	tb.Helper()
	s, err := NewShadow(Config{Ranges: []phys.RangeSpec{{Type: phys.TypeRAM, Size: 64 << 20}}, PoolPages: pool})
	if err != nil {
		tb.Fatal(err)
	}
	apply := func(ev Event) {
		if _, err := s.Apply(ev); err != nil {
			tb.Fatal(err)
		}
	}
	pw := func(gpa, v uint64) { apply(Event{Kind: EvPhysWrite, Size: 8, Addr: gpa, Value: v}) }
	pw(0x100000, 0x101007)
	pw(0x101000, 0x102007)
	for pd := uint64(0); pd < 16; pd++ {
		pt := 0x103000 + pd*0x1000
		pw(0x102000+8*pd, pt|7)
		for i := uint64(0); i < 512; i++ {
			pw(pt+8*i, (pd*512+i)<<12|0x2000000|ptFlags)
		}
	}
	apply(Event{Kind: EvCR0, Value: x86.CR0PE})
	apply(Event{Kind: EvCR4, Value: x86.CR4PAE})
	apply(Event{Kind: EvEFER, Value: x86.EFERLME | x86.EFERNXE})
	apply(Event{Kind: EvCR3, Value: 0x100000})
	apply(Event{Kind: EvCR0, Value: x86.CR0PE | x86.CR0PG | x86.CR0WP})
	return s
}

// BenchmarkTLBHitAccess is the cost of translating and reading through a
// TLB hit: the hot path of every access once the working set is synced.
func BenchmarkTLBHitAccess(b *testing.B) {
	s := benchGuest(b, 1024, 0x67)
	acc := x86.Access{Kind: x86.Read}
	const va = 0x5008
	var x xlate
	if err := s.translate(va, acc, &x); err != nil || x.data == nil {
		b.Fatal("no translation", err)
	}
	var sum uint64
	b.ResetTimer()
	for b.Loop() {
		s.translate(va, acc, &x)
		sum += uint64(x.data[8])
	}
	_ = sum
}

// BenchmarkTLBHitApply is a TLB-hit read through the whole Apply path,
// outcome included.
func BenchmarkTLBHitApply(b *testing.B) {
	s := benchGuest(b, 1024, 0x67)
	ev := Event{Kind: EvRead, Size: 4, Addr: 0x5008}
	s.Apply(ev)
	b.ResetTimer()
	for b.Loop() {
		s.Apply(ev)
	}
}

// BenchmarkSyncPageFault measures shadow page faults resolved through
// SyncPage: every PTE is accessed and dirty, pages are touched 8 apart so
// that no prefetch window covers the next one, and each round starts
// from an empty pool (the flush is outside the timing).
func BenchmarkSyncPageFault(b *testing.B) {
	s := benchGuest(b, 1024, 0x67)
	const pages = 16 * 512
	faults := 0
	i := 0
	b.ResetTimer()
	for b.Loop() {
		if i == 0 {
			b.StopTimer()
			s.flushAll()
			s.Apply(Event{Kind: EvRead, Size: 4, Addr: 0}) // rebuild the upper levels
			b.StartTimer()
		}
		o, err := s.Apply(Event{Kind: EvRead, Size: 4, Addr: uint64(i) << 12})
		if err != nil || !o.OK {
			b.Fatal(err, o)
		}
		if o.Path == PathSyncPage || o.Path == PathSyncPT {
			faults++
		}
		i = (i + 8) % pages
		if i < 8 && i != 0 {
			i = 0
		}
	}
	b.ReportMetric(float64(faults)/b.Elapsed().Seconds(), "faults/s")
	b.ReportMetric(float64(faults)/float64(b.N), "faults/op")
}
