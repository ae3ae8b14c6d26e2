package rguest

import (
	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// The modern paging features, for guests made with Modern: SMEP, SMAP
// with AC changes, protection keys (leaf keys, PKRU changes), and in
// IA-32e modes PCIDs with CR3 bit 63 and INVPCID of every type.
//
// The guest stays well-behaved with PCIDs as Linux is: PCID p>0 always
// names address space p-1; a CR3 load with bit 63 is used only when no
// entry that PCID may have cached has changed since it was last flushed.
// Every change of a present entry leaves every PCID stale; a switch to a
// stale PCID either loads CR3 without bit 63 or first flushes the PCID
// with INVPCID type 1. PCID 0 (the plain CR3 loads of the other steps,
// for any space) is never loaded with bit 63.

// modernState is the generator's view of the modern features.
type modernState struct {
	on    bool
	stale [numPCIDs]bool // the PCID may hold entries that changed since its last flush
}

const (
	numPCIDs = 4096
	keyMask  = uint64(0xf) << x86.KeyShift
)

// Modern makes the generator use SMEP, SMAP, AC, protection keys, PCIDs
// and INVPCID. Call it before Events.
func (g *Gen) Modern() *Gen {
	g.mod.on = true
	return g
}

// modernEnter turns some of the features on once paging is on.
func (g *Gen) modernEnter() {
	if !g.mod.on || !g.f.Mode.Paging() {
		return
	}
	cr4 := g.regs.CR4
	for _, b := range []uint64{x86.CR4SMEP, x86.CR4SMAP, x86.CR4PKE} {
		if g.r.IntN(2) == 0 {
			cr4 |= b
		}
	}
	if g.f.Mode.Long() && g.r.IntN(4) != 0 {
		cr4 |= x86.CR4PCIDE // CR3[11:0] is 0: the roots are page aligned
	}
	g.cr(engine.EvCR4, cr4)
	g.mod.stale = [numPCIDs]bool{}
}

// modernLeave clears PCIDE before paging goes off (clearing PG with it
// set is a #GP).
func (g *Gen) modernLeave() {
	if g.regs.CR4&x86.CR4PCIDE != 0 {
		g.cr(engine.EvCR4, g.regs.CR4&^x86.CR4PCIDE)
	}
}

// modernStale follows the change of a present entry: every PCID may now
// hold a stale entry. (The caller flushes the current PCID's entry for
// the address, or reloads CR3 with PCID 0, which leaves the space's own
// PCID stale: the current one is not spared.)
func (g *Gen) modernStale() {
	if !g.mod.on {
		return
	}
	for p := range g.mod.stale {
		g.mod.stale[p] = true
	}
}

// modernStep emits one action of the modern features.
func (g *Gen) modernStep() {
	pcide := g.regs.CR4&x86.CR4PCIDE != 0
	switch r := g.r.IntN(100); {
	case r < 30 && pcide:
		g.switchPCID(g.r.IntN(len(g.spaces)))
	case r < 45:
		g.regs.AC = !g.regs.AC
		g.emit(engine.Event{Kind: engine.EvAC, Value: b2u(g.regs.AC)})
	case r < 60:
		g.regs.PKRU = g.pkru()
		g.emit(engine.Event{Kind: engine.EvPKRU, Value: uint64(g.regs.PKRU)})
	case r < 68:
		bits := []uint64{x86.CR4SMEP, x86.CR4SMAP, x86.CR4PKE}
		g.cr(engine.EvCR4, g.regs.CR4^bits[g.r.IntN(len(bits))])
	case r < 82:
		g.invpcid()
	case r < 96 && g.f.Mode.Long() && len(g.maps) > 0:
		// Give a mapping's leaf a key (0 most of the time), then flush.
		key := uint64(0)
		if g.r.IntN(3) != 0 {
			key = g.r.Uint64N(16)
		}
		g.editLeaf(g.maps[g.r.IntN(len(g.maps))], func(old uint64) uint64 { return old&^keyMask | key<<x86.KeyShift })
	default:
		g.setCPL(uint8(3 * g.r.IntN(2)))
	}
}

// pkru is a PKRU value that refuses something on a few keys.
func (g *Gen) pkru() uint32 {
	if g.r.IntN(4) == 0 {
		return 0
	}
	var v uint32
	for i := 0; i < 1+g.r.IntN(3); i++ {
		v |= uint32(1+g.r.IntN(3)) << (2 * g.r.IntN(16))
	}
	return v
}

// switchPCID loads the CR3 of space s with its PCID, with bit 63 when
// that PCID holds nothing stale (or after flushing it with INVPCID 1).
func (g *Gen) switchPCID(s int) {
	p := uint16(s + 1)
	keep := g.r.IntN(4) != 0
	if keep && g.mod.stale[p] {
		if g.r.IntN(2) == 0 {
			keep = false
		} else {
			g.emit(engine.Event{Kind: engine.EvInvpcid, Size: 1, Value: uint64(p)})
			g.mod.stale[p] = false
		}
	}
	v := g.spaces[s].root | uint64(p)
	if keep {
		v |= x86.CR3NoFlush
	}
	g.cur = s
	g.cr(engine.EvCR3, v)
	g.mod.stale[p] = false
}

// invpcid emits an INVPCID that obeys its #GP rules.
func (g *Gen) invpcid() {
	typ := uint8(g.r.IntN(4))
	var pcid uint64
	switch {
	case g.regs.CR4&x86.CR4PCIDE == 0 && typ <= 1:
	case g.r.IntN(2) == 0:
		pcid = uint64(g.regs.PCID())
	default:
		pcid = uint64(1 + g.r.IntN(len(g.spaces)))
	}
	ev := engine.Event{Kind: engine.EvInvpcid, Size: typ, Value: pcid}
	if typ == 0 {
		va := g.randomVA()
		if len(g.maps) > 0 && g.r.IntN(2) == 0 {
			va = g.maps[g.r.IntN(len(g.maps))].va
		}
		ev.Addr = uint64(va)
	}
	g.emit(ev)
	switch typ {
	case 1:
		g.mod.stale[pcid] = false
	case 2, 3:
		g.mod.stale = [numPCIDs]bool{}
	}
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}
