package x86_test

import (
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// TestAddressComposition: the physical address of each page size, built
// from the leaf entry's frame bits and the linear address's page offset.
func TestAddressComposition(t *testing.T) {
	ps := uint64(x86.PS)
	for _, c := range []struct {
		name  string
		mode  x86.Mode
		cr4   uint64
		M     uint8
		va    x86.GVA
		flags []uint64 // upper levels
		leaf  uint64   // leaf entry, P added
		gpa   x86.GPA
		shift uint8
	}{
		{"32bit-4K", x86.Mode32Bit, 0, 40, 0x8040_1234, []uint64{1}, 0xfedc_b000 | 0x80 /*PAT*/, 0xfedc_b234, 12},
		{"32bit-4M-low", x86.Mode32Bit, pse, 40, 0x803f_f234, nil, 0xc000_0000 | ps, 0xc03f_f234, 22},
		{"32bit-4M-PSE36-above-4G", x86.Mode32Bit, pse, 40, 0x803f_f234, nil, 0xc000_0000 | 0x12<<13 | ps, 0x12_c03f_f234, 22},
		{"32bit-4M-PSE36-top-M40", x86.Mode32Bit, pse, 40, 0xffff_ffff, nil, 0xffc0_0000 | 0xff<<13 | ps, 0xff_ffff_ffff, 22},
		{"32bit-4M-PSE36-M36", x86.Mode32Bit, pse, 36, 0x0000_0010, nil, 0x0040_0000 | 0xf<<13 | ps, 0xf_0040_0010, 22},
		{"32bit-4M-PAT-bit12", x86.Mode32Bit, pse, 40, 0x0012_3456, nil, 0x0040_0000 | 1<<12 | ps, 0x0052_3456, 22},
		{"PAE-4K-PAT", x86.ModePAE, 0, 40, 0xc0a5_3abc, []uint64{1, 1}, 0xab_cdef_1000 | 0x80, 0xab_cdef_1abc, 12},
		{"PAE-2M", x86.ModePAENX, 0, 40, 0xc0bf_f123, []uint64{1}, 0x3_4560_0000 | ps, 0x3_457f_f123, 21},
		{"PAE-2M-PAT-bit12", x86.ModePAE, 0, 40, 0x4000_0001, []uint64{1}, 0xff_ffe0_0000 | 1<<12 | ps, 0xff_ffe0_0001, 21},
		{"PAE-4K-top-M52", x86.ModePAE, 0, 52, 0xffff_fff8, []uint64{1, 1}, 0xf_ffff_ffff_f000, 0xf_ffff_ffff_fff8, 12},
		{"AMD64-4K", x86.ModeAMD64, 0, 40, 0x7f12_3456_7abc, []uint64{1, 1, 1}, 0xab_cdef_1000, 0xab_cdef_1abc, 12},
		{"AMD64-4K-ignored-62-52", x86.ModeAMD64, 0, 40, 0x7f12_3456_7abc, []uint64{1, 1, 1}, 0x7ff0_00ab_cdef_1000, 0xab_cdef_1abc, 12},
		{"AMD64-2M", x86.ModeAMD64, 0, 40, 0xffff_8000_003f_f123, []uint64{1, 1}, 0x3_4560_0000 | ps, 0x3_457f_f123, 21},
		{"AMD64-1G", x86.ModeAMD64NX, 0, 40, 0x7f12_7fff_f123, []uint64{1}, 0x45_4000_0000 | ps | 1<<12, 0x45_7fff_f123, 30},
		{"AMD64-1G-top-M52", x86.ModeAMD64, 0, 52, 0x3fff_ffff, []uint64{1}, 0xf_ffff_c000_0000 | ps, 0xf_ffff_ffff_ffff, 30},
		{"LA57-4K", x86.ModeLA57, 0, 40, 0x00ab_7f12_3456_7abc, []uint64{1, 1, 1, 1}, 0x1000, 0x1abc, 12},
		{"LA57-2M-high-half", x86.ModeLA57NX, 0, 40, 0xff00_0000_0020_0001, []uint64{1, 1, 1}, 0x20_0000 | ps, 0x20_0001, 21},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := x86.NewFormat(c.mode, c.cr4, c.M)
			if err != nil {
				t.Fatal(err)
			}
			b := newBuilder(c.mode)
			b.mapVA(c.va, append(append([]uint64{}, c.flags...), 1), c.leaf)
			var w x86.Walk
			f.Walk(b.mem, b.root(false), c.va, x86.Access{Kind: x86.Read}, &w)
			if !w.OK() || w.GPA != c.gpa || w.PageShift != c.shift {
				t.Fatalf("walk: %v gpa %v shift %d, want %v shift %d", w.Fault, w.GPA, w.PageShift, c.gpa, c.shift)
			}
			g := geometryOf(c.mode)
			table := x86.GPA(b.cr3)
			for i := 0; i < w.N; i++ {
				s := w.Steps[i]
				idx := g.index(i, c.va)
				if uint64(s.Index) != idx || s.EntryAddr != table+x86.GPA(idx*uint64(g.size)) {
					t.Errorf("step %d: index %d at %v, want %d at %v", i, s.Index, s.EntryAddr, idx, table+x86.GPA(idx*uint64(g.size)))
				}
				wantLeaf := i == w.N-1
				if s.Leaf != wantLeaf || s.Big != (wantLeaf && i < len(g.shifts)-1) {
					t.Errorf("step %d: leaf %v big %v", i, s.Leaf, s.Big)
				}
				table = x86.GPA(uint64(s.Entry) & 0x000f_ffff_ffff_f000)
			}
			if l := w.Leaf(); l == nil || l != &w.Steps[w.N-1] {
				t.Errorf("Leaf() = %p", l)
			}
		})
	}
}

// TestPSIgnoredWithoutPSE: with CR4.PSE = 0 a 32-bit PDE's PS bit is
// ignored and the PDE points at a page table.
func TestPSIgnoredWithoutPSE(t *testing.T) {
	f, _ := x86.NewFormat(x86.Mode32Bit, 0, 40)
	b := newBuilder(x86.Mode32Bit)
	va := x86.GVA(0x803f_f234)
	pt := b.page()
	b.mem.write(x86.GPA(b.cr3)+0x200*4, 4, uint64(pt)|uint64(x86.P|x86.PS))
	b.mem.write(pt+0x3ff*4, 4, 0x5555_5000|uint64(x86.P))
	var w x86.Walk
	f.Walk(b.mem, b.root(false), va, x86.Access{Kind: x86.Read}, &w)
	if !w.OK() || w.GPA != 0x5555_5234 || w.N != 2 || w.Steps[0].Big || w.PageShift != 12 {
		t.Errorf("walk %v gpa %v n %d big %v, want 0x55555234 through the PT", w.Fault, w.GPA, w.N, w.Steps[0].Big)
	}
}

func TestCanonical(t *testing.T) {
	for _, c := range []struct {
		va      uint64
		c48     bool
		c57     bool
		comment string
	}{
		{0, true, true, "zero"},
		{0x0000_7fff_ffff_ffff, true, true, "top of the low half (48)"},
		{0x0000_8000_0000_0000, false, true, "first non-canonical (48)"},
		{0xffff_7fff_ffff_ffff, false, true, "last non-canonical (48)"},
		{0xffff_8000_0000_0000, true, true, "bottom of the high half (48)"},
		{0xffff_ffff_ffff_ffff, true, true, "minus one"},
		{0x00ff_ffff_ffff_ffff, false, true, "top of the low half (57)"},
		{0x0100_0000_0000_0000, false, false, "first non-canonical (57)"},
		{0xfeff_ffff_ffff_ffff, false, false, "last non-canonical (57)"},
		{0xff00_0000_0000_0000, false, true, "bottom of the high half (57)"},
		{0x8000_0000_0000_0000, false, false, "bit 63 alone"},
		{0x0000_0001_0000_0000, true, true, "above 4G"},
	} {
		t.Run(c.comment, func(t *testing.T) {
			for _, mc := range []struct {
				m    x86.Mode
				want bool
			}{{x86.ModeAMD64, c.c48}, {x86.ModeAMD64NX, c.c48}, {x86.ModeLA57, c.c57}, {x86.ModeLA57NX, c.c57}} {
				f, _ := x86.NewFormat(mc.m, 0, 40)
				if got := f.Canonical(x86.GVA(c.va)); got != mc.want {
					t.Errorf("%v: Canonical(%#x) = %v, want %v", mc.m, c.va, got, mc.want)
				}
				// Unmapped tables: a canonical address faults not-present, a
				// non-canonical one is a #GP without a #PF error code.
				b := newBuilder(mc.m)
				var w x86.Walk
				f.Walk(b.mem, b.root(true), x86.GVA(c.va), x86.Access{Kind: x86.Write, User: true}, &w)
				if mc.want {
					if w.Fault.Kind != x86.NotPresent || w.Fault.Code != x86.PFWrite|x86.PFUser || w.N != 1 {
						t.Errorf("%v %#x: %v n=%d, want not present at the top", mc.m, c.va, w.Fault, w.N)
					}
				} else if w.Fault != x86.NonCanonicalFault() || w.N != 0 || w.Fault.IsPF() || w.OK() {
					t.Errorf("%v %#x: %+v n=%d, want a bare NonCanonical", mc.m, c.va, w.Fault, w.N)
				}
				if f.Linear(x86.GVA(c.va)) != x86.GVA(c.va) {
					t.Errorf("%v: Linear changed %#x", mc.m, c.va)
				}
			}
			for _, m := range []x86.Mode{x86.ModeReal, x86.ModeProtected, x86.Mode32Bit, x86.ModePAE, x86.ModePAENX} {
				f, _ := x86.NewFormat(m, 0, 40)
				if !f.Canonical(x86.GVA(c.va)) || f.Linear(x86.GVA(c.va)) != x86.GVA(c.va&0xffff_ffff) {
					t.Errorf("%v: %#x canonical %v linear %v, want legacy truncation", m, c.va, f.Canonical(x86.GVA(c.va)), f.Linear(x86.GVA(c.va)))
				}
			}
		})
	}
}

// TestLegacyTruncation: legacy walks use the low 32 bits of the address.
func TestLegacyTruncation(t *testing.T) {
	for _, m := range []x86.Mode{x86.Mode32Bit, x86.ModePAE, x86.ModePAENX} {
		t.Run(m.String(), func(t *testing.T) {
			f, _ := x86.NewFormat(m, 0, 40)
			b := newBuilder(m)
			up := []uint64{1, 1}
			if m != x86.Mode32Bit {
				up = []uint64{1, 7, 7}
			}
			b.mapVA(permVA32, up, 0x1234_5000)
			for _, hi := range []uint64{0, 1 << 32, 0xffff_ffff << 32, 0x8000_0000 << 32} {
				var w x86.Walk
				va := x86.GVA(hi | uint64(permVA32))
				f.Walk(b.mem, b.root(true), va, x86.Access{Kind: x86.Read}, &w)
				if !w.OK() || w.VA != permVA32 || w.GPA != 0x1234_5abc {
					t.Errorf("va %v: %v VA %v gpa %v, want %v -> 0x12345abc", va, w.Fault, w.VA, w.GPA, permVA32)
				}
			}
		})
	}
}
