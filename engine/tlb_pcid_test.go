package engine

import (
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// TestTLBPCIDTags: which entries each flush of the PCID rules drops, with
// global entries kept or dropped where the contract says.
func TestTLBPCIDTags(t *testing.T) {
	const (
		vaA = x86.GVA(0x400000) // PCID 1, non-global
		vaB = x86.GVA(0x400000) // PCID 2, same address, non-global
		vaG = x86.GVA(0x805000) // global, filled under PCID 1 (another slot)
		vaC = x86.GVA(0x401000) // PCID 2, non-global
	)
	var tl tlb
	tl.reset()
	fill := func(p uint16, va x86.GVA, global bool, gpa x86.GPA) {
		tl.setPCID(p)
		tl.fill(va, gpa, 0, x86.AllRights, pkSupervisor, global, nil)
	}
	// sees reports the gpa the TLB gives for va under PCID p (0: a miss).
	sees := func(p uint16, va x86.GVA) x86.GPA {
		tl.setPCID(p)
		if e := tl.lookup(va); e != nil {
			return e.gpa
		}
		return 0
	}
	setup := func() {
		tl.flushAll()
		fill(1, vaA, false, 0xa000)
		fill(1, vaG, true, 0x9000)
		fill(2, vaB, false, 0xb000)
		fill(2, vaC, false, 0xc000)
	}
	type view struct{ a, g1, g2, b, c x86.GPA }
	look := func() view { return view{sees(1, vaA), sees(1, vaG), sees(2, vaG), sees(2, vaB), sees(2, vaC)} }
	all := view{0xa000, 0x9000, 0x9000, 0xb000, 0xc000}
	for _, c := range []struct {
		name string
		op   func()
		want view
	}{
		{"nothing: same address, two PCIDs, both kept", func() {}, all},
		{"CR3 load of PCID 2 without bit 63", func() { tl.flushPCID(2) }, view{0xa000, 0x9000, 0x9000, 0, 0}},
		{"INVPCID 1 of PCID 1", func() { tl.flushPCID(1) }, view{0, 0x9000, 0x9000, 0xb000, 0xc000}},
		{"INVPCID 0 of PCID 2 at the shared address", func() { tl.invalidatePCID(vaB, 2) }, view{0xa000, 0x9000, 0x9000, 0, 0xc000}},
		{"INVPCID 0 keeps global entries", func() { tl.invalidatePCID(vaG, 1) }, all},
		{"INVPCID 3: every PCID's non-global entries", func() { tl.flush() }, view{0, 0x9000, 0x9000, 0, 0}},
		{"INVPCID 2: everything", func() { tl.flushAll() }, view{}},
		{"invlpg drops the address in every PCID", func() { tl.invalidate(vaA) }, view{0, 0x9000, 0x9000, 0, 0xc000}},
		{"invlpg drops global entries", func() { tl.invalidate(vaG) }, view{0xa000, 0, 0, 0xb000, 0xc000}},
	} {
		t.Run(c.name, func(t *testing.T) {
			setup()
			tl.setPCID(2) // the current PCID must not matter to the flushes
			c.op()
			if got := look(); got != c.want {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

// TestTLBGenerationWrap: a PCID generation that wraps clears the TLB
// rather than let an old entry look current.
func TestTLBGenerationWrap(t *testing.T) {
	var tl tlb
	tl.reset()
	tl.setPCID(5)
	tl.fill(0x1000, 0x2000, 0, x86.AllRights, pkSupervisor, false, nil)
	// Pretend 2^32-1 flushes happened since, and one entry was filled
	// one flush ago: 2^32 flushes later its generation would match again.
	_, slot := tlbKey(0x1000, 5)
	tl.e[slot].genP = 0
	tl.genP[5], tl.curGen = ^uint32(0), ^uint32(0)
	tl.flushPCID(5) // wraps to 0
	if e := &tl.e[slot]; e.vpn != 0 || tl.lookup(0x1000) != nil {
		t.Fatal("an entry survived a wrapped generation")
	}
}
