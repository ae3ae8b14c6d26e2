package engine_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/pgm-explorer/pgm-explorer/engine"
)

// BenchmarkContextSwitch replays a context-switch-heavy guest: 8 address
// spaces in long mode, switching every 64 accesses, without PCIDs, with
// PCIDs and plain CR3 loads, and with PCIDs and CR3 bit 63, under shadow
// and nested paging. Besides ns/op (one replay of the whole trace) it
// reports events per second, SyncCR3 calls per switch, syncs (sync-page
// and sync-pt outcomes) per switch and the TLB hit ratio, all over the
// whole trace (its first round builds the tables).
func BenchmarkContextSwitch(b *testing.B) {
	for _, paging := range []engine.Paging{engine.PagingShadow, engine.PagingNested} {
		for _, use := range []pcidUse{noPCID, pcidFlush, pcidKeep} {
			b.Run(fmt.Sprintf("%v/%v", paging, use), func(b *testing.B) {
				evs, _ := switchTrace(8, 50, 64, 0, use, 3)
				switches := 0
				for _, ev := range evs {
					if ev.Kind == engine.EvCR3 {
						switches++
					}
				}
				var elapsed time.Duration
				var syncCR3, syncs, hits, misses uint64
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					e, err := engine.NewShadow(switchConfig(paging, 1024))
					if err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
					t0 := time.Now()
					syncs = 0
					for _, ev := range evs {
						o, err := e.Apply(ev)
						if err != nil {
							b.Fatal(err)
						}
						if o.Path == engine.PathSyncPage || o.Path == engine.PathSyncPT {
							syncs++
						}
					}
					elapsed += time.Since(t0)
					s, _ := e.Stats().Lookup("/PGM/RZ/SyncCR3")
					syncCR3 = s.Calls
					h, _ := e.Stats().Lookup("/PGM/TLB/Hits")
					m, _ := e.Stats().Lookup("/PGM/TLB/Misses")
					hits, misses = h.Value, m.Value
				}
				b.ReportMetric(float64(len(evs))*float64(b.N)/elapsed.Seconds(), "events/s")
				b.ReportMetric(float64(syncCR3)/float64(switches), "SyncCR3/switch")
				b.ReportMetric(float64(syncs)/float64(switches), "syncs/switch")
				b.ReportMetric(float64(hits)/float64(hits+misses), "TLB-hit-ratio")
			})
		}
	}
}
