package x86_test

import (
	"fmt"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// rsvdShape is a path used by the reserved-bit tables: the walk of va ends
// at level leaf (from the top) with the encoded entry leafEntry.
type rsvdShape struct {
	name      string
	leaf      int // negative: counted from the bottom (-1 = PT)
	shift     uint
	leafEntry uint64
}

var (
	rsvd4K = rsvdShape{"4K", -1, 12, 0x1234_5000}
	rsvd2M = rsvdShape{"2M", -2, 21, 0x3460_0000 | uint64(x86.PS)}
	rsvd1G = rsvdShape{"1G", -3, 30, 0x4000_0000 | uint64(x86.PS)}
	rsvd4M = rsvdShape{"4M", 0, 22, 0x8c40_0000 | uint64(x86.PS)}
)

// bitRange is the mask of bits hi..lo, written independently of the
// package's helper.
func bitRange(hi, lo uint) uint64 {
	var m uint64
	for b := lo; b <= hi && b < 64; b++ {
		m |= 1 << b
	}
	return m
}

// mustBeZero is the SDM's reserved-bit mask of an entry at level i of mode
// m (maxPhys M, cr4 for 32-bit PSE), big telling whether it maps a page.
func mustBeZero(m x86.Mode, cr4 uint64, M uint, i int, big bool) uint64 {
	xd := uint64(0)
	if !m.NX() {
		xd = 1 << 63
	}
	g := geometryOf(m)
	n := len(g.shifts)
	switch {
	case m == x86.Mode32Bit:
		if big && cr4&x86.CR4PSE != 0 {
			// Bits (M'-20):13 hold physical bits (M'-1):32, M' = min(M, 40);
			// bits 21:(M'-19) are reserved.
			return bitRange(21, min(M, 40)-19)
		}
		return 0
	case g.pdpteRegs && i == 0: // legacy PAE PDPTE
		return bitRange(2, 1) | bitRange(8, 5) | bitRange(63, M)
	case !m.Long(): // PAE PD and PT
		r := bitRange(62, M) | xd
		if big {
			r |= bitRange(20, 13)
		}
		return r
	}
	r := bitRange(51, M) | xd
	switch {
	case i < n-3: // PML5E, PML4E
		r |= uint64(x86.PS)
	case big && i == n-3: // 1 GiB PDPTE
		r |= bitRange(29, 13)
	case big && i == n-2: // 2 MiB PDE
		r |= bitRange(20, 13)
	}
	return r
}

// addressBits are the bits of an entry that hold a physical address: a
// change there moves the walk rather than breaking it.
func addressBits(m x86.Mode, M uint, size int, big bool, shift uint) uint64 {
	switch {
	case size == 4 && big:
		return bitRange(31, 22) | bitRange(13+min(M, 40)-33, 13)
	case size == 4:
		return bitRange(31, 12)
	case big:
		return bitRange(M-1, shift)
	}
	return bitRange(M-1, 12)
}

func TestReservedBits(t *testing.T) {
	type rsvdMode struct {
		mode   x86.Mode
		cr4    uint64
		va     x86.GVA
		shapes []rsvdShape
	}
	for _, rm := range []rsvdMode{
		{x86.Mode32Bit, 0, permVA32, []rsvdShape{rsvd4K}},
		{x86.Mode32Bit, x86.CR4PSE, permVA32, []rsvdShape{rsvd4K, rsvd4M}},
		{x86.ModePAE, 0, permVA32, []rsvdShape{rsvd4K, rsvd2M}},
		{x86.ModePAENX, 0, permVA32, []rsvdShape{rsvd4K, rsvd2M}},
		{x86.ModeAMD64, 0, permVA48, []rsvdShape{rsvd4K, rsvd2M, rsvd1G}},
		{x86.ModeAMD64NX, 0, permVA48, []rsvdShape{rsvd4K, rsvd2M, rsvd1G}},
		{x86.ModeLA57, 0, permVA57, []rsvdShape{rsvd4K, rsvd2M, rsvd1G}},
		{x86.ModeLA57NX, 0, permVA57, []rsvdShape{rsvd4K, rsvd2M, rsvd1G}},
	} {
		for _, M := range []uint{32, 36, 40, 46, 52} {
			for _, sh := range rm.shapes {
				name := fmt.Sprintf("%v/cr4=%#x/M=%d/%s", rm.mode, rm.cr4, M, sh.name)
				t.Run(name, func(t *testing.T) { runReserved(t, rm.mode, rm.cr4, M, rm.va, sh) })
			}
		}
	}
}

func runReserved(t *testing.T, m x86.Mode, cr4 uint64, M uint, va x86.GVA, sh rsvdShape) {
	f, err := x86.NewFormat(m, cr4, uint8(M))
	if err != nil {
		t.Fatal(err)
	}
	g := geometryOf(m)
	leaf := sh.leaf
	if leaf < 0 {
		leaf += len(g.shifts)
	}
	b := newBuilder(m)
	flags := make([]uint64, leaf+1)
	for i := range flags {
		flags[i] = uint64(x86.P | x86.RW | x86.US)
		if g.pdpteRegs && i == 0 {
			flags[i] = uint64(x86.P)
		}
	}
	addrs := b.mapVA(va, flags, sh.leafEntry)
	wantGPA := x86.GPA(sh.leafEntry&^0xfff&^uint64(x86.PS)) | x86.GPA(uint64(va)&(1<<sh.shift-1))
	acc := x86.Access{Kind: x86.Read}
	var w x86.Walk
	f.Walk(b.mem, b.root(false), va, acc, &w)
	if !w.OK() || w.GPA != wantGPA {
		t.Fatalf("clean walk: %v gpa %v, want %v", w.Fault, w.GPA, wantGPA)
	}
	nrsvd := 0
	for i := 0; i <= leaf; i++ {
		orig := b.mem.ReadEntry(addrs[i], g.size)
		big := i == leaf && i < len(g.shifts)-1
		mbz := mustBeZero(m, cr4, M, i, big)
		addr := addressBits(m, M, g.size, big, sh.shift)
		for bit := uint(1); bit < uint(8*g.size); bit++ {
			if bit == 7 && i < len(g.shifts)-1 && (m != x86.Mode32Bit || cr4&x86.CR4PSE != 0) && mbz&(1<<7) == 0 {
				continue // PS turns a table into a page and back: not a reserved-bit question
			}
			if orig&(1<<bit) != 0 {
				continue
			}
			setLevel(b, i, addrs[i], orig|1<<bit)
			f.Walk(b.mem, b.root(false), va, acc, &w)
			setLevel(b, i, addrs[i], orig)
			where := fmt.Sprintf("level %d (%v) bit %d", i, f.Levels[i].Kind, bit)
			switch {
			case mbz&(1<<bit) != 0:
				nrsvd++
				want := x86.Fault{Kind: x86.ReservedBit, Level: i, Code: x86.PFPresent | x86.PFRsvd,
					Rule: x86.RuleReserved, Rules: 1 << x86.RuleReserved}
				if w.Fault != want || w.N != i+1 {
					t.Errorf("%s is reserved: got %v at level %d (n=%d), want RSVD at %d", where, w.Fault, w.Fault.Level, w.N, i)
				}
			case addr&(1<<bit) != 0:
				if w.Fault.Kind == x86.ReservedBit && w.Fault.Level == i {
					t.Errorf("%s is an address bit: got %v at this level", where, w.Fault)
				}
			default:
				if !w.OK() || w.GPA != wantGPA {
					t.Errorf("%s is not reserved: got %v gpa %v, want %v", where, w.Fault, w.GPA, wantGPA)
				}
			}
		}
	}
	if nrsvd == 0 && !(m == x86.Mode32Bit && sh.name == "4K") {
		t.Errorf("no reserved bit exercised")
	}
}

// setLevel stores v as the entry at level i, in the PDPTE registers too
// when that level is the legacy PAE PDPT.
func setLevel(b *builder, i int, addr x86.GPA, v uint64) {
	b.mem.write(addr, b.g.size, v)
	if i == 0 && b.g.pdpteRegs {
		b.regs[(addr&0x1f)/8] = v
	}
}

// TestReservedNamed spells out the cases most worth a name.
func TestReservedNamed(t *testing.T) {
	for _, c := range []struct {
		name  string
		mode  x86.Mode
		cr4   uint64
		M     uint
		level int
		big   bool
		bit   uint
		want  bool
	}{
		{"PML4E.PS", x86.ModeAMD64, 0, 40, 0, false, 7, true},
		{"PML5E.PS", x86.ModeLA57, 0, 40, 0, false, 7, true},
		{"PML4E-bit-40", x86.ModeAMD64NX, 0, 40, 0, false, 40, true},
		{"PML4E-bit-39", x86.ModeAMD64NX, 0, 40, 0, false, 39, false},
		{"PTE-bit-52-long-ignored", x86.ModeAMD64, 0, 40, 3, false, 52, false},
		{"PTE-bit-62-long-ignored", x86.ModeAMD64, 0, 40, 3, false, 62, false},
		{"PTE-XD-long-no-NXE", x86.ModeAMD64, 0, 40, 3, false, 63, true},
		{"PTE-XD-long-NXE", x86.ModeAMD64NX, 0, 40, 3, false, 63, false},
		{"PTE-bit-52-PAE", x86.ModePAE, 0, 40, 2, false, 52, true},
		{"PTE-bit-62-PAE", x86.ModePAENX, 0, 40, 2, false, 62, true},
		{"2M-PDE-bit-13", x86.ModeAMD64, 0, 40, 2, true, 13, true},
		{"2M-PDE-bit-20", x86.ModePAE, 0, 40, 1, true, 20, true},
		{"2M-PDE-bit-12-PAT", x86.ModeAMD64, 0, 40, 2, true, 12, false},
		{"1G-PDPTE-bit-29", x86.ModeAMD64, 0, 40, 1, true, 29, true},
		{"1G-PDPTE-bit-13", x86.ModeAMD64NX, 0, 40, 1, true, 13, true},
		{"1G-PDPTE-bit-30", x86.ModeAMD64NX, 0, 40, 1, true, 30, false},
		{"4M-PDE-bit-21", x86.Mode32Bit, x86.CR4PSE, 40, 0, true, 21, true},
		{"4M-PDE-bit-20-M40", x86.Mode32Bit, x86.CR4PSE, 40, 0, true, 20, false},
		{"4M-PDE-bit-17-M36", x86.Mode32Bit, x86.CR4PSE, 36, 0, true, 17, true},
		{"4M-PDE-bit-16-M36", x86.Mode32Bit, x86.CR4PSE, 36, 0, true, 16, false},
		{"4M-PDE-bit-13-M32", x86.Mode32Bit, x86.CR4PSE, 32, 0, true, 13, true},
		{"4M-PDE-bit-20-M52-capped-at-40", x86.Mode32Bit, x86.CR4PSE, 52, 0, true, 20, false},
		{"PAE-PDPTE-bit-1", x86.ModePAE, 0, 40, 0, false, 1, true},
		{"PAE-PDPTE-bit-2", x86.ModePAENX, 0, 40, 0, false, 2, true},
		{"PAE-PDPTE-bit-5", x86.ModePAE, 0, 40, 0, false, 5, true},
		{"PAE-PDPTE-bit-8", x86.ModePAE, 0, 40, 0, false, 8, true},
		{"PAE-PDPTE-bit-9-AVL", x86.ModePAE, 0, 40, 0, false, 9, false},
		{"PAE-PDPTE-bit-63-NXE", x86.ModePAENX, 0, 40, 0, false, 63, true},
		{"PTE-AVL-bit-11", x86.ModeAMD64, 0, 40, 3, false, 11, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := mustBeZero(c.mode, c.cr4, c.M, c.level, c.big)&(1<<c.bit) != 0
			if got != c.want {
				t.Fatalf("the test's own table says %v, want %v", got, c.want)
			}
			f, _ := x86.NewFormat(c.mode, c.cr4, uint8(c.M))
			e := x86.Entry(1 << c.bit).Set(x86.P)
			if c.big {
				e = e.Set(x86.PS)
			}
			lv := &f.Levels[c.level]
			if (lv.Reserved(e)&(1<<c.bit) != 0) != c.want {
				t.Errorf("Level.Reserved(%#x) = %#x, want bit %d reserved=%v", uint64(e), lv.Reserved(e), c.bit, c.want)
			}
		})
	}
}
