package x86_test

import (
	"fmt"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// TestAccessedDirty: SetAccessedDirty sets A where it is missing in every
// entry of a successful walk (not in PDPTE registers) and D in the leaf on
// a write, with one SetEntryBits call per entry that changes.
func TestAccessedDirty(t *testing.T) {
	const a, d = uint64(x86.A), uint64(x86.D)
	ps := uint64(x86.PS)
	for _, c := range []struct {
		name  string
		mode  x86.Mode
		va    x86.GVA
		flags []uint64 // per level, the last one is the leaf's flags
		leaf  uint64   // leaf frame (and PS)
		write bool
		wp    bool
		calls []uint64 // bits set per level (0: no call), in walk order
	}{
		{"AMD64-read-none-accessed", x86.ModeAMD64, permVA48, []uint64{7, 7, 7, 7}, 0x5000, false, true, []uint64{a, a, a, a}},
		{"AMD64-write-none-accessed", x86.ModeAMD64, permVA48, []uint64{7, 7, 7, 7}, 0x5000, true, true, []uint64{a, a, a, a | d}},
		{"AMD64-write-all-accessed", x86.ModeAMD64, permVA48, []uint64{7 | a, 7 | a, 7 | a, 7 | a}, 0x5000, true, true, []uint64{0, 0, 0, d}},
		{"AMD64-write-all-AD", x86.ModeAMD64NX, permVA48, []uint64{7 | a, 7 | a, 7 | a, 7 | a | d}, 0x5000, true, true, []uint64{0, 0, 0, 0}},
		{"AMD64-read-leaf-not-dirty", x86.ModeAMD64NX, permVA48, []uint64{7 | a, 7, 7 | a, 7 | a}, 0x5000, false, true, []uint64{0, a, 0, 0}},
		{"AMD64-D-on-upper-untouched", x86.ModeAMD64, permVA48, []uint64{7 | a | d, 7, 7 | a, 7}, 0x5000, true, true, []uint64{0, a, 0, a | d}},
		{"AMD64-2M-write", x86.ModeAMD64, permVA48, []uint64{7, 7, 7}, 0x20_0000 | ps, true, true, []uint64{a, a, a | d}},
		{"AMD64-1G-write", x86.ModeAMD64NX, permVA48, []uint64{7 | a, 7}, 0x4000_0000 | ps, true, true, []uint64{0, a | d}},
		{"LA57-write", x86.ModeLA57, permVA57, []uint64{7, 7 | a, 7, 7 | a, 7}, 0x5000, true, true, []uint64{a, 0, a, 0, a | d}},
		{"32bit-write", x86.Mode32Bit, permVA32, []uint64{7, 7}, 0x5000, true, true, []uint64{a, a | d}},
		{"32bit-4M-write", x86.Mode32Bit, permVA32, []uint64{7}, 0x40_0000 | ps, true, true, []uint64{a | d}},
		{"PAE-write-no-PDPTE", x86.ModePAE, permVA32, []uint64{1, 7, 7}, 0x5000, true, true, []uint64{0, a, a | d}},
		{"PAE-2M-read", x86.ModePAENX, permVA32, []uint64{1, 7}, 0x20_0000 | ps, false, true, []uint64{0, a}},
		{"supervisor-write-readonly-WP0", x86.ModeAMD64, permVA48, []uint64{5, 5, 5, 5}, 0x5000, true, false, []uint64{a, a, a, a | d}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cr4 := uint64(0)
			if c.mode == x86.Mode32Bit {
				cr4 = pse
			}
			f, _ := x86.NewFormat(c.mode, cr4, 40)
			b := newBuilder(c.mode)
			addrs := b.mapVA(c.va, c.flags, c.leaf)
			before := make([]uint64, len(addrs))
			for i, ad := range addrs {
				before[i] = b.mem.ReadEntry(ad, b.g.size)
			}
			regs := b.regs
			k := x86.Read
			if c.write {
				k = x86.Write
			}
			var w x86.Walk
			f.Walk(b.mem, b.root(c.wp), c.va, x86.Access{Kind: k}, &w)
			if !w.OK() {
				t.Fatalf("walk: %v", w.Fault)
			}
			w.SetAccessedDirty(b.mem, c.write)
			var want []setCall
			for i, bits := range c.calls {
				if bits != 0 {
					want = append(want, setCall{addrs[i], b.g.size, bits})
				}
				after := b.mem.ReadEntry(addrs[i], b.g.size)
				if after != before[i]|bits {
					t.Errorf("level %d: entry %#x, want %#x", i, after, before[i]|bits)
				}
				if uint64(w.Steps[i].Entry) != after {
					t.Errorf("level %d: step holds %#x, memory %#x", i, uint64(w.Steps[i].Entry), after)
				}
			}
			if fmt.Sprint(b.mem.sets) != fmt.Sprint(want) {
				t.Errorf("SetEntryBits calls %v, want %v", b.mem.sets, want)
			}
			if b.regs != regs {
				t.Errorf("PDPTE registers changed: %#x", b.regs)
			}
		})
	}
}

// TestAccessedDirtyFaulting: a faulting walk sets nothing, whatever kind
// of fault, and Walk itself never writes.
func TestAccessedDirtyFaulting(t *testing.T) {
	for _, c := range []struct {
		name  string
		flags []uint64
		leaf  uint64
		acc   x86.Access
		kind  x86.FaultKind
	}{
		{"not-present-PT", []uint64{7, 7, 7, 0}, 0x5000, x86.Access{Kind: x86.Read}, x86.NotPresent},
		{"reserved-PD", []uint64{7, 7, 7 | 1<<45, 7}, 0x5000, x86.Access{Kind: x86.Write}, x86.ReservedBit},
		{"protection-user", []uint64{7, 3, 7, 7}, 0x5000, x86.Access{Kind: x86.Read, User: true}, x86.Protection},
		{"protection-write", []uint64{7, 7, 7, 5}, 0x5000, x86.Access{Kind: x86.Write}, x86.Protection},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, _ := x86.NewFormat(x86.ModeAMD64NX, 0, 40)
			b := newBuilder(x86.ModeAMD64NX)
			b.mapVA(permVA48, c.flags, c.leaf)
			words := len(b.mem.words)
			var w x86.Walk
			f.Walk(b.mem, b.root(true), permVA48, c.acc, &w)
			if w.Fault.Kind != c.kind {
				t.Fatalf("fault %v, want %v", w.Fault, c.kind)
			}
			if hasLeaf := w.Leaf() != nil; hasLeaf != (c.kind == x86.Protection) {
				t.Errorf("Leaf() present = %v for a %v fault", hasLeaf, c.kind)
			}
			w.SetAccessedDirty(b.mem, true)
			if len(b.mem.sets) != 0 || len(b.mem.words) != words {
				t.Errorf("faulting walk wrote: %v", b.mem.sets)
			}
		})
	}
}

// TestAccessedDirtyROM: tables in ROM are not changed; the processor
// still tries (one call per entry), and the steps keep the ROM contents.
func TestAccessedDirtyROM(t *testing.T) {
	f, _ := x86.NewFormat(x86.ModeAMD64, 0, 40)
	b := newBuilder(x86.ModeAMD64)
	addrs := b.mapVA(permVA48, []uint64{7, 7, 7, 7}, 0x5000)
	b.mem.rom[x86.PageDown(addrs[3])] = true // the PT lives in ROM
	var w x86.Walk
	f.Walk(b.mem, b.root(true), permVA48, x86.Access{Kind: x86.Write}, &w)
	w.SetAccessedDirty(b.mem, true)
	if len(b.mem.sets) != 4 {
		t.Errorf("%d SetEntryBits calls, want 4", len(b.mem.sets))
	}
	if e := w.Steps[3].Entry; e.Accessed() || e.Dirty() || uint64(e) != b.mem.ReadEntry(addrs[3], 8) {
		t.Errorf("PTE step %#x after a ROM update, want unchanged", uint64(e))
	}
	if !w.Steps[2].Entry.Accessed() {
		t.Errorf("PDE in RAM not accessed: %#x", uint64(w.Steps[2].Entry))
	}
	// A second update still tries: the bits are still missing.
	w.SetAccessedDirty(b.mem, true)
	if len(b.mem.sets) != 5 {
		t.Errorf("%d calls after the second update, want 5", len(b.mem.sets))
	}
}
