package synth

import (
	"math/rand/v2"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
)

// BigMap is the shape of a kernel's direct map, the part of a real
// guest's page tables that holds most of their present leaves: one large
// region mapped in 4 KiB pages, all accessed, and a stream of accesses
// spread over it with a little locality, now and then a page remapped
// (pw8 of the PTE, then invlpg). It is the workload that makes checking
// every shadow entry after every event impractical (explorer replay
// --check), and the one the incremental checker is measured on.
//
// BigMapEvents returns the events: the tables (leaves PTEs), long mode,
// then accesses until there are n events in all.
func BigMapEvents(seed uint64, leaves, n int) []engine.Event {
	rng := rand.New(rand.NewPCG(seed, 0xb16))
	const (
		base   = 0xffff888000000000 // where Linux puts its direct map
		frames = bigMapRAM>>12 - 256
	)
	var out []engine.Event
	emit := func(e engine.Event) { out = append(out, e) }
	next := uint64(0x10000) // table pages, then data frames from 1 MiB
	table := func() uint64 { t := next; next += 0x1000; return t }
	pte := func(t uint64, i int, v uint64) {
		emit(engine.Event{Kind: engine.EvPhysWrite, Size: 8, Addr: t + uint64(i)*8, Value: v})
	}
	frame := func(page int) uint64 { return 1<<20 + uint64(page%frames)<<12 }
	pml4 := table()
	var pdpt, pd, pt uint64
	pts := make([]uint64, 0, leaves/512+1)
	for page := 0; page < leaves; page++ {
		va := uint64(base) + uint64(page)<<12
		if page == 0 || idx(va, 2) == 0 && idx(va, 1) == 0 && idx(va, 0) == 0 {
			pdpt = table()
			pte(pml4, idx(va, 3), pdpt|tableFlags)
		}
		if page == 0 || idx(va, 1) == 0 && idx(va, 0) == 0 {
			pd = table()
			pte(pdpt, idx(va, 2), pd|tableFlags)
		}
		if idx(va, 0) == 0 || page == 0 {
			pt = table()
			pts = append(pts, pt)
			pte(pd, idx(va, 1), pt|tableFlags)
		}
		pte(pt, idx(va, 0), frame(page)|pteP|pteRW|pteA|pteNX)
	}
	emit(engine.Event{Kind: engine.EvCR4, Value: 0x20})   // PAE
	emit(engine.Event{Kind: engine.EvEFER, Value: 0x900}) // LME, NXE
	emit(engine.Event{Kind: engine.EvCR3, Value: pml4})
	emit(engine.Event{Kind: engine.EvCR0, Value: 0x80010011})
	cur := 0
	for len(out) < n {
		switch r := rng.IntN(100); {
		case r < 70: // near the last access
			cur = (cur + rng.IntN(9) - 4 + leaves) % leaves
		case r < 98:
			cur = rng.IntN(leaves)
		default: // remap a page to another frame
			page := rng.IntN(leaves)
			pte(pts[page/512], page%512, frame(rng.IntN(frames))|pteP|pteRW|pteA|pteNX)
			emit(engine.Event{Kind: engine.EvInvlpg, Addr: uint64(base) + uint64(page)<<12})
			continue
		}
		va := uint64(base) + uint64(cur)<<12 + uint64(rng.IntN(512))*8
		if rng.IntN(4) == 0 {
			emit(engine.Event{Kind: engine.EvWrite, Size: 8, Addr: va, Value: rng.Uint64()})
		} else {
			emit(engine.Event{Kind: engine.EvRead, Size: 8, Addr: va})
		}
	}
	return out[:n]
}

const bigMapRAM = 256 << 20

// BigMapConfig is the machine of BigMapEvents: 256 MiB of RAM and a pool
// large enough for the whole shadow of the map.
func BigMapConfig(leaves int) engine.Config {
	return engine.Config{
		Ranges:    []phys.RangeSpec{{Type: phys.TypeRAM, Start: 0, Size: bigMapRAM, Name: "ram"}},
		Host:      engine.HostAMD64NX,
		PoolPages: leaves/512 + 64,
	}
}
