package engine_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
)

// switchTrace is a context-switch-heavy long-mode guest with PCIDs: n
// address spaces, each with 16 user pages at 0x400000 and the kernel's
// global pages at 0x200000, switched to in turn every perSwitch
// accesses (after a first round that writes every page), without PCIDs
// (noPCID), with PCIDs and plain CR3 loads (pcidFlush), or with PCIDs
// and CR3 bit 63 (pcidKeep). Every remapEvery-th
// round (0: never) the kernel remaps a page of the next address space
// while in another one and tells the TLB with INVPCID type 0 (so the
// trace stays well-behaved with bit 63). It returns the events and the
// index where the switching starts.
func switchTrace(n, rounds, perSwitch, remapEvery int, use pcidUse, seed uint64) ([]engine.Event, int) {
	r := rand.New(rand.NewPCG(seed, 7))
	var evs []engine.Event
	add := func(e ...engine.Event) { evs = append(evs, e...) }
	pw := func(a, v uint64) { add(engine.Event{Kind: engine.EvPhysWrite, Size: 8, Addr: a, Value: v}) }
	const kernelPT = 0xf0000
	pml4 := func(i int) uint64 { return 0x100000 + uint64(i)*0x10000 }
	frame := func(i, j int) uint64 { return 0x800000 + uint64(i)*0x40000 + uint64(j)*0x1000 }
	// The kernel's entries are global, and like an OS's they are
	// accessed and dirty from the start, and so is every entry leading to
	// them in each space's own tables: a global translation filled in one
	// space serves the next without a walk, which on a CPU without a TLB
	// would set A in that space's copies.
	for j := 0; j < 8; j++ {
		pw(kernelPT+uint64(j)*8, 0x300000+uint64(j)*0x1000|0x163) // P RW A D G, supervisor
	}
	for i := 0; i < n; i++ {
		b := pml4(i)
		pw(b, b+0x1027)
		pw(b+0x1000, b+0x2027)
		pw(b+0x2000+8, kernelPT|0x27) // PD[1]: the kernel's table, 0x200000
		pw(b+0x2000+16, b+0x3007)     // PD[2]: this space's user pages, 0x400000
		for j := 0; j < 16; j++ {
			pw(b+0x3000+uint64(j)*8, frame(i, j)|0x7)
		}
	}
	add(evCR(engine.EvCR4, 0xa0), evCR(engine.EvEFER, 0x900), evCR(engine.EvCR3, pml4(0)), evCR(engine.EvCR0, 0x80010011))
	if use != noPCID {
		add(evCR(engine.EvCR4, 0xa0|1<<17))
	}
	start := len(evs)
	for round := 0; round < rounds; round++ {
		for i := 0; i < n; i++ {
			cr3 := pml4(i)
			switch use {
			case pcidFlush:
				cr3 |= uint64(i + 1)
			case pcidKeep:
				cr3 |= uint64(i+1) | 1<<63
			}
			add(evCPL(0), evCR(engine.EvCR3, cr3))
			if remapEvery > 0 && round%remapEvery == remapEvery-1 {
				// Remap page 5 of the next space to a page of its own, while
				// in this one: INVPCID 0 for that space's PCID.
				k := (i + 1) % n
				pw(pml4(k)+0x3000+5*8, frame(k, (5+round)%16)|0x7)
				if use == noPCID {
					add(evInvlpg(0x405000)) // harmless: a plain CR3 load flushes anyway
				} else {
					add(evInvpcid(0, uint64(k+1), 0x405000))
				}
			}
			add(evR(8, 0x200000+uint64(r.IntN(8))*0x1000), evCPL(3))
			if round == 0 {
				// The process starts by writing each of its pages and the
				// kernel reads each of its own (so that later rounds measure
				// switching, not first touches: a space that reads a global
				// page through another's TLB entry syncs its own tables for
				// it only at its first miss).
				for j := 0; j < 16; j++ {
					add(evW(8, 0x400000+uint64(j)*0x1000, uint64(j)))
				}
				add(evCPL(0))
				for j := 0; j < 8; j++ {
					add(evR(8, 0x200000+uint64(j)*0x1000))
				}
				add(evCPL(3))
			}
			for a := 0; a < perSwitch-1; a++ {
				va := 0x400000 + uint64(r.IntN(16))*0x1000 + uint64(r.IntN(512))*8
				if r.IntN(4) == 0 {
					add(evW(8, va, r.Uint64()))
				} else {
					add(evR(8, va))
				}
			}
		}
	}
	return evs, start
}

// pcidUse is how switchTrace loads CR3.
type pcidUse int

const (
	noPCID    pcidUse = iota // CR4.PCIDE=0
	pcidFlush                // PCIDs, CR3 loads without bit 63
	pcidKeep                 // PCIDs, CR3 loads with bit 63
)

func (u pcidUse) String() string { return [...]string{"no-pcid", "pcid-flush", "pcid-bit63"}[u] }

func switchConfig(paging engine.Paging, pool int) engine.Config {
	return engine.Config{Ranges: []phys.RangeSpec{{Type: phys.TypeRAM, Size: 16 << 20, Name: "ram"}},
		Paging: paging, PoolPages: pool}
}

// TestPCIDSwitchMatchesReference: the switching guest gives the
// reference CPU's outcomes in every configuration, with and without bit 63.
func TestPCIDSwitchMatchesReference(t *testing.T) {
	for _, use := range []pcidUse{noPCID, pcidFlush, pcidKeep} {
		for _, c := range []struct {
			paging engine.Paging
			pool   int
		}{{engine.PagingShadow, 1024}, {engine.PagingShadow, 16}, {engine.PagingNested, 64}, {engine.PagingEPT, 16}} {
			t.Run(fmt.Sprintf("%v/pool%d/%v", c.paging, c.pool, use), func(t *testing.T) {
				evs, _ := switchTrace(5, 8, 24, 4, use, 1)
				cfg := switchConfig(c.paging, c.pool)
				e, err := engine.NewShadow(cfg)
				if err != nil {
					t.Fatal(err)
				}
				// The full invariant check after every fourth event: the
				// switching pattern repeats, and it keeps the test quick.
				n := 0
				differ(t, cfg, evs, e, func() error {
					if n++; n%4 != 0 {
						return nil
					}
					return e.Check()
				})
			})
		}
	}
}

// switchCost replays a switching trace and reports, over the switching
// part after the first round, SyncCR3 calls per switch, the syncs
// (sync-page, sync-pt) per switch, and the TLB hit ratio.
func switchCost(t testing.TB, paging engine.Paging, use pcidUse) (syncCR3, syncs, hitRatio float64) {
	const n, rounds, per = 8, 20, 64
	evs, start := switchTrace(n, rounds, per, 0, use, 3)
	e, err := engine.NewShadow(switchConfig(paging, 1024))
	if err != nil {
		t.Fatal(err)
	}
	// One round builds everything: measure from the first switch of the second.
	warm, seen := len(evs), 0
	for i := start; i < len(evs); i++ {
		if evs[i].Kind == engine.EvCR3 {
			if seen == n {
				warm = i - 1 // its cpl event
				break
			}
			seen++
		}
	}
	stat := func(name string) uint64 {
		s, ok := e.Stats().Lookup(name)
		if !ok {
			t.Fatalf("no statistic %s", name)
		}
		if s.Calls != 0 {
			return s.Calls
		}
		return s.Value
	}
	var cr3Before, hitsBefore, missBefore uint64
	nsync, switches := 0, 0
	for i, ev := range evs {
		if i >= warm && ev.Kind == engine.EvCR3 {
			switches++
		}
		if i == warm {
			cr3Before, hitsBefore, missBefore = stat("/PGM/RZ/SyncCR3"), stat("/PGM/TLB/Hits"), stat("/PGM/TLB/Misses")
		}
		o, err := e.Apply(ev)
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if i >= warm && (o.Path == engine.PathSyncPage || o.Path == engine.PathSyncPT) {
			nsync++
		}
	}
	hits, miss := stat("/PGM/TLB/Hits")-hitsBefore, stat("/PGM/TLB/Misses")-missBefore
	sw := float64(switches)
	return float64(stat("/PGM/RZ/SyncCR3")-cr3Before) / sw, float64(nsync) / sw, float64(hits) / float64(hits+miss)
}

// TestPCIDSwitchNoResync: switching among 8 PCIDs with bit 63 pays no
// SyncCR3 per switch and keeps the TLB warm; without bit 63 every switch
// resyncs and refills.
func TestPCIDSwitchNoResync(t *testing.T) {
	for _, paging := range []engine.Paging{engine.PagingShadow, engine.PagingNested} {
		t.Run(paging.String(), func(t *testing.T) {
			keepCR3, keepSyncs, keepHits := switchCost(t, paging, pcidKeep)
			flushCR3, _, flushHits := switchCost(t, paging, pcidFlush)
			t.Logf("bit 63: %.2f SyncCR3, %.2f syncs per switch, TLB hits %.3f; without: %.2f SyncCR3, TLB hits %.3f",
				keepCR3, keepSyncs, keepHits, flushCR3, flushHits)
			if keepCR3 != 0 {
				t.Errorf("%.2f SyncCR3 per switch with bit 63, want 0", keepCR3)
			}
			if flushCR3 != 1 {
				t.Errorf("%.2f SyncCR3 per switch without bit 63, want 1", flushCR3)
			}
			if keepSyncs != 0 {
				t.Errorf("%.2f syncs per switch with bit 63 after the first round, want 0", keepSyncs)
			}
			if keepHits < 0.95 || keepHits <= flushHits {
				t.Errorf("TLB hit ratio %.3f with bit 63, %.3f without", keepHits, flushHits)
			}
		})
	}
}
