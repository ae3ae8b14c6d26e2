package x86_test

import (
	"fmt"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// These tests pin values that are architectural (entry and error-code bit
// positions, control-register bits) or stored and shown to users (mode
// numbers and names). A change here is a format change, not a refactor.

func TestPinEntryFlags(t *testing.T) {
	for _, c := range []struct {
		name string
		f    x86.Flag
		bit  uint
	}{
		{"P", x86.P, 0}, {"RW", x86.RW, 1}, {"US", x86.US, 2}, {"PWT", x86.PWT, 3},
		{"PCD", x86.PCD, 4}, {"A", x86.A, 5}, {"D", x86.D, 6}, {"PS", x86.PS, 7},
		{"PAT", x86.PAT, 7}, {"G", x86.G, 8}, {"AVL9", x86.AVL9, 9},
		{"AVL10", x86.AVL10, 10}, {"AVL11", x86.AVL11, 11}, {"NX", x86.NX, 63},
	} {
		t.Run(c.name, func(t *testing.T) {
			if uint64(c.f) != 1<<c.bit {
				t.Errorf("%s = %#x, want bit %d", c.name, uint64(c.f), c.bit)
			}
		})
	}
}

func TestPinErrorCode(t *testing.T) {
	for _, c := range []struct {
		name string
		c    x86.ErrorCode
		bit  uint
	}{
		{"P", x86.PFPresent, 0}, {"W", x86.PFWrite, 1}, {"U", x86.PFUser, 2},
		{"RSVD", x86.PFRsvd, 3}, {"ID", x86.PFFetch, 4},
	} {
		t.Run(c.name, func(t *testing.T) {
			if uint32(c.c) != 1<<c.bit {
				t.Errorf("%s = %#x, want bit %d", c.name, uint32(c.c), c.bit)
			}
		})
	}
	if s := (x86.PFPresent | x86.PFRsvd | x86.PFUser).String(); s != "0xd" {
		t.Errorf("ErrorCode.String = %q, want 0xd", s)
	}
}

func TestPinModes(t *testing.T) {
	for _, c := range []struct {
		m    x86.Mode
		num  uint8
		name string
	}{
		{x86.ModeInvalid, 0, "invalid"}, {x86.ModeReal, 1, "Real"},
		{x86.ModeProtected, 2, "Protected"}, {x86.Mode32Bit, 3, "32-bit"},
		{x86.ModePAE, 4, "PAE"}, {x86.ModePAENX, 5, "PAE+NX"},
		{x86.ModeAMD64, 6, "AMD64"}, {x86.ModeAMD64NX, 7, "AMD64+NX"},
		{x86.ModeNested, 8, "Nested"}, {x86.ModeEPT, 9, "EPT"},
		{x86.ModeLA57, 10, "AMD64+LA57"}, {x86.ModeLA57NX, 11, "AMD64+LA57+NX"},
		{x86.Mode(12), 12, "unknown mode value"}, {x86.Mode(255), 255, "unknown mode value"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if uint8(c.m) != c.num {
				t.Errorf("mode %q = %d, want %d", c.name, uint8(c.m), c.num)
			}
			if c.m.String() != c.name {
				t.Errorf("Mode(%d).String() = %q, want %q", c.num, c.m.String(), c.name)
			}
		})
	}
}

// TestModePredicates checks Paging, PAEFormat, Long and NX for every mode.
func TestModePredicates(t *testing.T) {
	for _, m := range []x86.Mode{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 99, 255} {
		paging := m >= 3 && m <= 11 && m != 8 && m != 9
		long := m == 6 || m == 7 || m == 10 || m == 11
		pae := paging && m != 3
		nx := m == 5 || m == 7 || m == 11
		t.Run(fmt.Sprint(uint8(m)), func(t *testing.T) {
			got := [4]bool{m.Paging(), m.PAEFormat(), m.Long(), m.NX()}
			want := [4]bool{paging, pae, long, nx}
			if got != want {
				t.Errorf("Paging/PAEFormat/Long/NX = %v, want %v", got, want)
			}
		})
	}
}

func TestPinControlBits(t *testing.T) {
	for _, c := range []struct {
		name string
		v    uint64
		bit  uint
	}{
		{"CR0.PE", x86.CR0PE, 0}, {"CR0.ET", x86.CR0ET, 4}, {"CR0.WP", x86.CR0WP, 16},
		{"CR0.PG", x86.CR0PG, 31}, {"CR4.PSE", x86.CR4PSE, 4}, {"CR4.PAE", x86.CR4PAE, 5},
		{"CR4.PGE", x86.CR4PGE, 7}, {"CR4.LA57", x86.CR4LA57, 12},
		{"EFER.LME", x86.EFERLME, 8}, {"EFER.LMA", x86.EFERLMA, 10}, {"EFER.NXE", x86.EFERNXE, 11},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.v != 1<<c.bit {
				t.Errorf("%s = %#x, want bit %d", c.name, c.v, c.bit)
			}
		})
	}
}

func TestPinNames(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{x86.CR0.String(), "cr0"}, {x86.CR3.String(), "cr3"}, {x86.CR4.String(), "cr4"},
		{x86.EFER.String(), "efer"}, {x86.Reg(9).String(), "reg?"},
		{x86.LevelPT.String(), "PT"}, {x86.LevelPD.String(), "PD"},
		{x86.LevelPDPT.String(), "PDPT"}, {x86.LevelPML4.String(), "PML4"},
		{x86.LevelPML5.String(), "PML5"}, {x86.LevelKind(0).String(), "?"},
		{x86.LevelKind(6).String(), "level?"},
		{x86.Read.String(), "read"}, {x86.Write.String(), "write"}, {x86.Fetch.String(), "fetch"},
		{x86.NoFault.String(), "none"}, {x86.NotPresent.String(), "not present"},
		{x86.ReservedBit.String(), "reserved bit"}, {x86.Protection.String(), "protection"},
		{x86.NonCanonical.String(), "non-canonical"},
		{x86.Entry(0x8000000000000167).FlagString(), "PWUAD-GX"},
		{x86.Entry(0x81).FlagString(), "P----S--"},
		{(x86.RightWrite | x86.RightExec).String(), "rwx supervisor"},
		{x86.RightUser.String(), "r-- user"},
		{x86.Fault{Kind: x86.NonCanonical}.String(), "#GP (non-canonical address)"},
		{x86.Fault{Kind: x86.ReservedBit, Code: 0xb}.String(), "#PF 0xb (reserved bit)"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	if uint8(x86.LevelPT) != 1 || uint8(x86.LevelPML5) != 5 {
		t.Errorf("LevelKind numbering: PT=%d PML5=%d, want 1 and 5", x86.LevelPT, x86.LevelPML5)
	}
}

// TestFormatGeometry pins each format's levels against the SDM's shapes.
func TestFormatGeometry(t *testing.T) {
	for _, m := range []x86.Mode{x86.Mode32Bit, x86.ModePAE, x86.ModePAENX, x86.ModeAMD64, x86.ModeAMD64NX, x86.ModeLA57, x86.ModeLA57NX} {
		t.Run(m.String(), func(t *testing.T) {
			f, err := x86.NewFormat(m, x86.CR4PSE, 40)
			if err != nil {
				t.Fatal(err)
			}
			g := geometryOf(m)
			if f.N != len(g.shifts) {
				t.Fatalf("N = %d, want %d", f.N, len(g.shifts))
			}
			for i := 0; i < f.N; i++ {
				lv := f.Levels[i]
				want := fmt.Sprint(g.shifts[i], g.idxBits[i], g.size, g.rights[i], g.pdpteRegs && i == 0)
				got := fmt.Sprint(lv.Shift, lv.IndexBits, lv.EntrySize, lv.Rights, lv.Register)
				if got != want {
					t.Errorf("level %d (%v): shift/index/size/rights/register = %s, want %s", i, lv.Kind, got, want)
				}
				if lv.Kind != x86.LevelKind(f.N-i) {
					t.Errorf("level %d kind %v, want %v", i, lv.Kind, x86.LevelKind(f.N-i))
				}
			}
		})
	}
	for _, m := range []x86.Mode{x86.ModeInvalid, x86.ModeNested, x86.ModeEPT, x86.Mode(12)} {
		if _, err := x86.NewFormat(m, 0, 40); err == nil {
			t.Errorf("NewFormat(%v) succeeded, want an error", m)
		}
	}
	for _, mp := range []uint8{0, 31, 53, 64} {
		if _, err := x86.NewFormat(x86.ModeAMD64, 0, mp); err == nil {
			t.Errorf("NewFormat(maxphys %d) succeeded, want an error", mp)
		}
	}
}
