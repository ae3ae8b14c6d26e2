package stats_test

import (
	"fmt"
	"os"

	"github.com/pgm-explorer/pgm-explorer/engine/stats"
)

// An engine registers its statistics once, keeps the handles, and bumps
// them on its hot path; the CLI prints the tree at the end of a replay.
func Example() {
	r := stats.New()
	r.SetTiming(false) // a replay whose output is compared byte for byte
	modes := r.Counter("/PGM/cGuestModeChanges", stats.UnitOccurrences, "Guest paging mode switches.")
	trap := r.Profile("/PGM/RZ/Trap0e", "The #PF handler.")
	syncPT := r.Counter("/PGM/RZ/Trap0e/Time2/SyncPT", stats.UnitOccurrences, "Faults fixed by a new shadow PT.")
	pool := 3
	r.Gauge("/PGM/Pool/cCurPages", stats.UnitPages, "Pages in the pool.", func() uint64 { return uint64(pool) })

	modes.Inc()
	for range 4 {
		s := trap.Begin()
		syncPT.Inc()
		trap.End(s)
	}
	pool = 5

	r.WriteTree(os.Stdout, stats.TreeOptions{})
	// Output:
	// PGM
	//   Pool
	//     cCurPages        5 pages                 Pages in the pool.
	//   RZ
	//     Trap0e           0 ns/call      4 calls  The #PF handler.
	//       Time2
	//         SyncPT       4 occurrences           Faults fixed by a new shadow PT.
	//   cGuestModeChanges  1 occurrences           Guest paging mode switches.
}

// A family counts per index without registering one counter per index;
// only the members that were used are listed.
func ExampleRegistry_CounterFamily() {
	r := stats.New()
	perPD := r.CounterFamily("/PGM/PDSyncPT/%04X", stats.UnitOccurrences, "Shadow PTs built, per PD index.", 1024)
	perPD.Inc(0x300)
	perPD.Inc(0x300)
	perPD.Inc(0x001)

	r.Each(func(s stats.Sample) { fmt.Println(s.Name, s.Value) })
	fmt.Println(r.Len(), "of", perPD.Len(), "members listed")
	// Output:
	// /PGM/PDSyncPT/0001 1
	// /PGM/PDSyncPT/0300 2
	// 2 of 1024 members listed
}

// Begin returns a stamp that End takes back, so calls of one profile may
// nest. With timing off only calls are counted.
func ExampleProfile() {
	r := stats.New()
	r.SetTiming(false)
	walk := r.Profile("/PGM/GstWalk", "A guest page-table walk.")

	outer := walk.Begin()
	inner := walk.Begin()
	walk.End(inner)
	walk.End(outer)

	s, _ := r.Lookup("/PGM/GstWalk")
	fmt.Println(s.Calls, "calls,", s.TotalNS, "ns")
	// Output:
	// 2 calls, 0 ns
}

func ExampleRegistry_WriteCSV() {
	r := stats.New()
	r.Counter("/PGM/Pool/Cache/Hits", stats.UnitOccurrences, "Cache hits, all kinds.").Add(40)
	r.Profile("/PGM/Pool/Alloc", "Pool allocations.")
	r.WriteCSV(os.Stdout)
	// Output:
	// name,kind,unit,value,calls,total_ns,description
	// /PGM/Pool/Alloc,profile,ns/call,0,0,0,Pool allocations.
	// /PGM/Pool/Cache/Hits,counter,occurrences,40,0,0,"Cache hits, all kinds."
}

func ExampleRegistry_Prefix() {
	r := stats.New()
	r.Counter("/PGM/Pool/Cache/Hits", stats.UnitOccurrences, "").Add(40)
	r.Counter("/PGM/Pool/Cache/Misses", stats.UnitOccurrences, "").Add(2)
	r.Counter("/PGM/PoolFlushes", stats.UnitOccurrences, "").Inc()
	for _, s := range r.Prefix("/PGM/Pool/") {
		fmt.Println(s.Name, s.Value)
	}
	// Output:
	// /PGM/Pool/Cache/Hits 40
	// /PGM/Pool/Cache/Misses 2
}
