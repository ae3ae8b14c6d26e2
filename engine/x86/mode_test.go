package x86_test

import (
	"fmt"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

const (
	pe, pg, wp       = x86.CR0PE, x86.CR0PG, x86.CR0WP
	pse, pae, pge    = x86.CR4PSE, x86.CR4PAE, x86.CR4PGE
	la57             = x86.CR4LA57
	pcide            = x86.CR4PCIDE
	smep             = x86.CR4SMEP
	smap             = x86.CR4SMAP
	pke              = x86.CR4PKE
	lme, lma, nxe    = x86.EFERLME, x86.EFERLMA, x86.EFERNXE
	et               = x86.CR0ET
	cd, nw           = uint64(1) << 30, uint64(1) << 29
	defaultMaxPhys40 = 40
)

func TestGuestModeNamed(t *testing.T) {
	for _, c := range []struct {
		name           string
		cr0, cr4, efer uint64
		want           x86.Mode
	}{
		{"reset", et, 0, 0, x86.ModeReal},
		{"real-with-PAE-and-LME", et, pae | la57, lme | nxe, x86.ModeReal},
		{"protected", pe, pae, lme, x86.ModeProtected},
		{"32-bit", pe | pg, 0, 0, x86.Mode32Bit},
		{"32-bit-PSE-NXE", pe | pg, pse | pge, nxe, x86.Mode32Bit},
		{"PAE", pe | pg, pae, 0, x86.ModePAE},
		{"PAE+NX", pe | pg, pae, nxe, x86.ModePAENX},
		{"PAE-LA57-ignored", pe | pg, pae | la57, 0, x86.ModePAE},
		{"PAE+NX-LA57-ignored", pe | pg, pae | la57, nxe, x86.ModePAENX},
		{"AMD64", pe | pg, pae, lme | lma, x86.ModeAMD64},
		{"AMD64+NX", pe | pg | wp, pae | pse, lme | lma | nxe, x86.ModeAMD64NX},
		{"LA57", pe | pg, pae | la57, lme | lma, x86.ModeLA57},
		{"LA57+NX", pe | pg, pae | la57, lme | lma | nxe, x86.ModeLA57NX},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := x86.GuestMode(c.cr0, c.cr4, c.efer); got != c.want {
				t.Errorf("GuestMode(%#x, %#x, %#x) = %v, want %v", c.cr0, c.cr4, c.efer, got, c.want)
			}
		})
	}
}

// TestGuestModeAll derives the mode of every reachable combination of the
// bits that matter and compares with the SDM's rules, written out here.
func TestGuestModeAll(t *testing.T) {
	for bitsSet := 0; bitsSet < 1<<8; bitsSet++ {
		has := func(i int) bool { return bitsSet&(1<<i) != 0 }
		var cr0, cr4, efer uint64
		for i, v := range []*uint64{&cr0, &cr0, &cr4, &cr4, &cr4, &cr4, &efer, &efer} {
			if has(i) {
				*v |= []uint64{pe, pg, pae, la57, pse, pge, lme, nxe}[i]
			}
		}
		if cr0&pg != 0 && cr0&pe == 0 {
			continue // MOV to CR0 refuses PG without PE
		}
		if cr0&pg != 0 && efer&lme != 0 {
			if cr4&pae == 0 {
				continue // paging with LME needs PAE: unreachable
			}
			efer |= lma // the processor's view of an active long mode
		}
		var want x86.Mode
		switch {
		case cr0&pe == 0:
			want = x86.ModeReal
		case cr0&pg == 0:
			want = x86.ModeProtected
		case cr4&pae == 0:
			want = x86.Mode32Bit
		case efer&lma == 0:
			want = map[bool]x86.Mode{false: x86.ModePAE, true: x86.ModePAENX}[efer&nxe != 0]
		case cr4&la57 != 0:
			want = map[bool]x86.Mode{false: x86.ModeLA57, true: x86.ModeLA57NX}[efer&nxe != 0]
		default:
			want = map[bool]x86.Mode{false: x86.ModeAMD64, true: x86.ModeAMD64NX}[efer&nxe != 0]
		}
		name := fmt.Sprintf("cr0=%#x/cr4=%#x/efer=%#x", cr0, cr4, efer)
		t.Run(name, func(t *testing.T) {
			if got := x86.GuestMode(cr0, cr4, efer); got != want {
				t.Errorf("GuestMode = %v, want %v", got, want)
			}
			f, err := x86.NewFormat(want, cr4, defaultMaxPhys40)
			if err != nil {
				t.Fatalf("NewFormat(%v): %v", want, err)
			}
			if f.Mode != want || f.NX != want.NX() || f.FetchBit != want.NX() {
				t.Errorf("format mode/NX/FetchBit = %v/%v/%v", f.Mode, f.NX, f.FetchBit)
			}
			wantVA := map[x86.Mode]uint8{x86.ModeAMD64: 48, x86.ModeAMD64NX: 48, x86.ModeLA57: 57, x86.ModeLA57NX: 57}[want]
			if wantVA == 0 {
				wantVA = 32
			}
			if f.VABits != wantVA {
				t.Errorf("VABits = %d, want %d", f.VABits, wantVA)
			}
		})
	}
}

// TestIdentityWalk: real and protected mode translate linear = physical,
// truncated to 32 bits, with all rights and never a fault.
func TestIdentityWalk(t *testing.T) {
	for _, m := range []x86.Mode{x86.ModeReal, x86.ModeProtected} {
		f, err := x86.NewFormat(m, 0, 40)
		if err != nil {
			t.Fatal(err)
		}
		for _, va := range []x86.GVA{0, 0xb8000, 0xffffffff, 0x1_2345_6789, 0xffff_8000_0000_1000} {
			for _, k := range []x86.AccessKind{x86.Read, x86.Write, x86.Fetch} {
				var w x86.Walk
				f.Walk(nil, x86.Root{}, va, x86.Access{Kind: k, User: true}, &w)
				want := x86.GPA(uint64(va) & 0xffffffff)
				if !w.OK() || w.GPA != want || w.Rights != x86.AllRights || w.N != 0 || w.Leaf() != nil {
					t.Errorf("%v %v %v: ok=%v gpa=%v rights=%v n=%d, want %v", m, va, k, w.OK(), w.GPA, w.Rights, w.N, want)
				}
			}
		}
	}
}

// WithNX and WithoutNX pair the PAE-format modes with their NX variants
// and leave every other mode alone.
func TestModeWithNX(t *testing.T) {
	pairs := map[x86.Mode]x86.Mode{x86.ModePAE: x86.ModePAENX, x86.ModeAMD64: x86.ModeAMD64NX, x86.ModeLA57: x86.ModeLA57NX}
	for plain, nx := range pairs {
		if plain.WithNX() != nx || nx.WithNX() != nx || nx.WithoutNX() != plain || plain.WithoutNX() != plain {
			t.Errorf("%v/%v: WithNX %v %v, WithoutNX %v %v", plain, nx, plain.WithNX(), nx.WithNX(), nx.WithoutNX(), plain.WithoutNX())
		}
		if !nx.NX() || plain.NX() {
			t.Errorf("%v/%v: NX() %v %v", plain, nx, plain.NX(), nx.NX())
		}
	}
	for _, m := range []x86.Mode{x86.ModeReal, x86.ModeProtected, x86.Mode32Bit} {
		if m.WithNX() != m || m.WithoutNX() != m {
			t.Errorf("%v changed: %v %v", m, m.WithNX(), m.WithoutNX())
		}
	}
}
