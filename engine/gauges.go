package engine

import (
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/engine/stats"
)

// registerGauges publishes the pool's and guest memory's own counters.
func (s *Shadow) registerGauges() {
	g := func(name string, unit stats.Unit, desc string, fn func() uint64) { s.reg.Gauge(name, unit, desc, fn) }
	ph := func(f func(st *phys.Stats) uint64) func() uint64 {
		return func() uint64 { st := s.mem.Stats(); return f(&st) }
	}
	pages := stats.UnitPages
	g("/PGM/Pool/cCurPages", pages, "Pages the pool holds now (it grows on demand).", func() uint64 { return uint64(s.pool.size()) })
	g("/PGM/Pool/cMaxPages", pages, "Pages the pool may grow to.", func() uint64 { return uint64(s.pool.max) })
	g("/PGM/Pool/cUsedPages", pages, "Pool pages in use.", func() uint64 { return uint64(s.pool.used) })
	g("/PGM/Pool/cUsedPagesHigh", pages, "Most pool pages ever in use at once.", func() uint64 { return uint64(s.pool.usedHigh) })
	g("/PGM/Pool/cPresent", stats.UnitCount, "Present entries in all shadow page tables.", func() uint64 { return uint64(s.pool.present) })
	g("/PGM/Pool/cModifiedPages", pages, "Monitored pages written since the last CR3 sync.", func() uint64 { return uint64(s.pool.modified) })
	g("/PGM/Page/cAllPages", pages, "Guest physical pages of every type.", ph(func(st *phys.Stats) uint64 { return st.AllPages }))
	g("/PGM/Page/cPrivatePages", pages, "Guest pages backed by a private host page.", ph(func(st *phys.Stats) uint64 { return st.PrivatePages }))
	g("/PGM/Page/cSharedPages", pages, "Guest pages backed by a shared copy-on-write page.", ph(func(st *phys.Stats) uint64 { return st.SharedPages }))
	g("/PGM/Page/cZeroPages", pages, "Guest pages backed by the zero page.", ph(func(st *phys.Stats) uint64 { return st.ZeroPages }))
	g("/PGM/Page/cBalloonedPages", pages, "Guest pages handed back by the balloon.", ph(func(st *phys.Stats) uint64 { return st.BalloonedPages }))
	g("/PGM/ChunkR3Map/c", stats.UnitCount, "Allocation chunks mapped.", ph(func(st *phys.Stats) uint64 { return st.ChunksMapped }))
	g("/PGM/ChunkR3Map/cMax", stats.UnitCount, "Allocation chunks that may stay mapped.", ph(func(st *phys.Stats) uint64 { return st.ChunkMapMax }))
	occ := stats.UnitOccurrences
	g("/PGM/ChunkR3Map/TlbHitsR3", occ, "Chunk lookups answered by the chunk TLB.", ph(func(st *phys.Stats) uint64 { return st.ChunkTLBHits }))
	g("/PGM/ChunkR3Map/TlbMissesR3", occ, "Chunk lookups that missed the chunk TLB.", ph(func(st *phys.Stats) uint64 { return st.ChunkTLBMisses }))
	g("/PGM/R3/Page/MapTlbHits", occ, "Physical accesses answered by the page map TLB.", ph(func(st *phys.Stats) uint64 { return st.PageTLBHits }))
	g("/PGM/R3/Page/MapTlbMisses", occ, "Physical accesses that missed the page map TLB.", ph(func(st *phys.Stats) uint64 { return st.PageTLBMisses }))
	g("/PGM/R3/Page/ReplacedZero", occ, "Zero pages replaced by private pages on write.", ph(func(st *phys.Stats) uint64 { return st.ReplacedZero }))
	g("/PGM/R3/Page/ReplacedShared", occ, "Shared pages copied on write.", ph(func(st *phys.Stats) uint64 { return st.ReplacedShared }))
}
