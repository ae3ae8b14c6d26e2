package x86_test

import (
	"errors"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// regsIn builds a processor state directly (LMA as the processor would
// have it) with recognisable PDPTE registers.
func regsIn(cr0, cr4, efer, cr3 uint64, maxPhys uint8) x86.Regs {
	r := x86.Regs{CR0: cr0, CR4: cr4, EFER: efer &^ lma, CR3: cr3, MaxPhys: maxPhys}
	if cr0&pg != 0 && efer&lme != 0 {
		r.EFER |= lma
	}
	r.PDPTE = [4]uint64{0xa1, 0xa2, 0xa3, 0xa4}
	return r
}

var (
	stReal      = regsIn(et, 0, 0, 0, 40)
	stProt      = regsIn(et|pe, 0, 0, 0x1000, 40)
	stProtLME   = regsIn(et|pe, 0, lme, 0x1000, 40)
	st32        = regsIn(et|pe|pg, pse, 0, 0x1000, 40)
	stPAE       = regsIn(et|pe|pg, pae, 0, 0x5000, 40)
	stLong      = regsIn(et|pe|pg|wp, pae, lme|nxe, 0x7000, 40)
	stLA57      = regsIn(et|pe|pg, pae|la57, lme, 0x7000, 40)
	stLong52    = regsIn(et|pe|pg, pae, lme, 0x7000, 52)
	stLongMP36  = regsIn(et|pe|pg, pae, lme, 0x7000, 36)
	stProtCDNW  = regsIn(et|pe|cd|nw, 0, 0, 0, 40)
	stPAELegacy = regsIn(et|pe|pg, pae|la57, nxe, 0x5000, 40)
	stLongPCID  = regsIn(et|pe|pg|wp, pae|pcide, lme|nxe, 0x7003, 40)
)

// TestWriteGP: every write the processor rejects with #GP returns a
// *GPError naming the register and leaves the whole state unchanged.
func TestWriteGP(t *testing.T) {
	for _, c := range []struct {
		name string
		st   x86.Regs
		reg  x86.Reg
		v    uint64
	}{
		{"PG-without-PE", stReal, x86.CR0, et | pg},
		{"PG-without-PE-from-protected", stProt, x86.CR0, et | pg},
		{"PG-with-LME-no-PAE", stProtLME, x86.CR0, et | pe | pg},
		{"NW-without-CD", stProt, x86.CR0, et | pe | nw},
		{"CR0-bit-32", stProt, x86.CR0, et | pe | 1<<32},
		{"CR0-bit-63", stLong, x86.CR0, stLong.CR0 | 1<<63},
		{"clear-PAE-in-long-mode", stLong, x86.CR4, 0},
		{"clear-PAE-in-LA57", stLA57, x86.CR4, la57},
		{"set-LA57-in-long-mode", stLong, x86.CR4, pae | la57},
		{"clear-LA57-in-long-mode", stLA57, x86.CR4, pae},
		{"CR4-bit-15", stProt, x86.CR4, 1 << 15},
		{"CR4-bit-19", stLong, x86.CR4, pae | 1<<19},
		{"CR4-bit-23", stPAE, x86.CR4, pae | 1<<23},
		{"PCIDE-in-legacy-PAE", stPAE, x86.CR4, pae | pcide},
		{"PCIDE-in-protected-mode-with-LME", stProtLME, x86.CR4, pae | pcide},
		{"PCIDE-in-real-mode", stReal, x86.CR4, pcide},
		{"PCIDE-with-CR3-low-bits", regsIn(et|pe|pg, pae, lme, 0x7008, 40), x86.CR4, pae | pcide},
		{"PCIDE-with-CR3-PWT", regsIn(et|pe|pg, pae, lme, 0x7000|1<<3, 40), x86.CR4, pae | pcide},
		{"clear-PG-with-PCIDE", stLongPCID, x86.CR0, et | pe},
		{"clear-PG-and-PE-with-PCIDE", stLongPCID, x86.CR0, et},
		{"CR3-bit-63-without-PCIDE", stLong, x86.CR3, 1<<63 | 0x7000},
		{"CR3-noflush-at-MAXPHYADDR", stLongPCID, x86.CR3, 1<<63 | 1<<40 | 5},
		{"CR3-bit-62-with-PCIDE", stLongPCID, x86.CR3, 1<<62 | 0x7000},
		{"CR4-bit-32", stProt, x86.CR4, 1 << 32},
		{"set-LME-while-paging", st32, x86.EFER, lme},
		{"set-LME-while-PAE-paging", stPAE, x86.EFER, lme | nxe},
		{"clear-LME-in-long-mode", stLong, x86.EFER, nxe},
		{"EFER-bit-1", stProt, x86.EFER, 1 << 1},
		{"EFER-bit-9", stProt, x86.EFER, 1 << 9},
		{"EFER-bit-16", stLong, x86.EFER, lme | nxe | 1<<16},
		{"EFER-bit-63", stProt, x86.EFER, 1 << 63},
		{"EFER-bit-1-with-LMA", stLong, x86.EFER, lme | lma | nxe | 1<<1},
		{"CR3-at-MAXPHYADDR-long", stLong, x86.CR3, 1 << 40},
		{"CR3-bit-63-long", stLong, x86.CR3, 1<<63 | 0x1000},
		{"CR3-at-MAXPHYADDR-52", stLong52, x86.CR3, 1 << 52},
		{"CR3-at-MAXPHYADDR-36", stLongMP36, x86.CR3, 1 << 36},
		{"CR3-above-4G-real", stReal, x86.CR3, 1 << 32},
		{"CR3-above-4G-32bit", st32, x86.CR3, 0x1_0000_1000},
		{"CR3-above-4G-PAE", stPAE, x86.CR3, 0x8_0000_5000},
		{"CR3-above-4G-protected-with-LME", stProtLME, x86.CR3, 1 << 33},
		{"not-a-register", stProt, x86.Reg(7), 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := c.st
			ch, err := r.Write(c.reg, c.v, newFakeMem())
			var gp *x86.GPError
			if !errors.As(err, &gp) {
				t.Fatalf("Write(%v, %#x) = %+v, %v; want a *GPError", c.reg, c.v, ch, err)
			}
			if gp.Reg != c.reg || gp.Value != c.v || gp.Reason == "" {
				t.Errorf("GPError = %+v, want reg %v value %#x and a reason", gp, c.reg, c.v)
			}
			if r != c.st {
				t.Errorf("state changed on #GP:\n got %+v\nwant %+v", r, c.st)
			}
			if ch != (x86.Change{}) {
				t.Errorf("Change on #GP = %+v, want zero", ch)
			}
		})
	}
}

// TestWriteAccepted: legal writes next to the #GP cases, with the state
// the processor ends in (LMA is the processor's: ignored when written).
func TestWriteAccepted(t *testing.T) {
	for _, c := range []struct {
		name           string
		st             x86.Regs
		reg            x86.Reg
		v              uint64
		cr0, cr4, efer uint64 // expected afterwards
		cr3            uint64
		mode           x86.Mode
	}{
		{"PE", stReal, x86.CR0, et | pe, et | pe, 0, 0, 0, x86.ModeProtected},
		{"CD-and-NW", stProt, x86.CR0, et | pe | cd | nw, et | pe | cd | nw, 0, 0, 0x1000, x86.ModeProtected},
		{"clear-NW-keep-CD", stProtCDNW, x86.CR0, et | pe | cd, et | pe | cd, 0, 0, 0, x86.ModeProtected},
		{"PG-with-LME-and-PAE", regsIn(et|pe, pae, lme, 0x7000, 40), x86.CR0, et | pe | pg, et | pe | pg, pae, lme | lma, 0x7000, x86.ModeAMD64},
		{"PG-off-leaves-long-mode", stLong, x86.CR0, et | pe, et | pe, pae, lme | nxe, 0x7000, x86.ModeProtected},
		{"PG-and-PE-off-in-long-mode", stLong, x86.CR0, et, et, pae, lme | nxe, 0x7000, x86.ModeReal},
		{"LMA-written-ignored-real", stReal, x86.EFER, lma | nxe, et, 0, nxe, 0, x86.ModeReal},
		{"LMA-written-ignored-LME", stProt, x86.EFER, lma | lme, et | pe, 0, lme, 0x1000, x86.ModeProtected},
		{"LMA-clear-written-in-long", stLong, x86.EFER, lme, stLong.CR0, pae, lme | lma, 0x7000, x86.ModeAMD64},
		{"NXE-on-in-long", regsIn(et|pe|pg, pae, lme, 0x7000, 40), x86.EFER, lme | nxe, et | pe | pg, pae, lme | lma | nxe, 0x7000, x86.ModeAMD64NX},
		{"NXE-on-in-32bit", st32, x86.EFER, nxe, st32.CR0, pse, nxe, 0x1000, x86.Mode32Bit},
		{"LME-while-PG-off", stProt, x86.EFER, lme, et | pe, 0, lme, 0x1000, x86.ModeProtected},
		{"CR4-same-PAE-in-long", stLong, x86.CR4, pae | pge, stLong.CR0, pae | pge, lme | lma | nxe, 0x7000, x86.ModeAMD64NX},
		{"LA57-clear-in-legacy-PAE", stPAELegacy, x86.CR4, pae, stPAELegacy.CR0, pae, nxe, 0x5000, x86.ModePAENX},
		{"PAE-off-in-legacy-paging", stPAE, x86.CR4, 0, stPAE.CR0, 0, 0, 0x5000, x86.Mode32Bit},
		{"CR3-below-MAXPHYADDR", stLong, x86.CR3, 1<<40 - 0x1000, stLong.CR0, pae, lme | lma | nxe, 1<<40 - 0x1000, x86.ModeAMD64NX},
		{"CR3-below-MAXPHYADDR-52", stLong52, x86.CR3, 1<<52 - 0x1000, stLong52.CR0, pae, lme | lma, 1<<52 - 0x1000, x86.ModeAMD64},
		{"CR3-4G-minus-page-legacy", st32, x86.CR3, 0xfffff000, st32.CR0, pse, 0, 0xfffff000, x86.Mode32Bit},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := c.st
			ch, err := r.Write(c.reg, c.v, newFakeMem())
			if err != nil {
				t.Fatalf("Write(%v, %#x): %v", c.reg, c.v, err)
			}
			if r.CR0 != c.cr0 || r.CR4 != c.cr4 || r.EFER != c.efer || r.CR3 != c.cr3 {
				t.Errorf("cr0/cr4/efer/cr3 = %#x/%#x/%#x/%#x, want %#x/%#x/%#x/%#x",
					r.CR0, r.CR4, r.EFER, r.CR3, c.cr0, c.cr4, c.efer, c.cr3)
			}
			if r.Mode() != c.mode || ch.NewMode != c.mode || ch.OldMode != c.st.Mode() || ch.Reg != c.reg {
				t.Errorf("mode %v, change %+v; want mode %v from %v", r.Mode(), ch, c.mode, c.st.Mode())
			}
			if ch.ModeChanged() != (c.mode != c.st.Mode()) || (ch.ModeChanged() && !ch.FlushAll) {
				t.Errorf("change %+v: mode change must flush all", ch)
			}
		})
	}
}

func TestResetAndAccessors(t *testing.T) {
	var r x86.Regs
	r.CR3, r.CPL = 0x1234, 3
	r.Reset(36)
	if r != (x86.Regs{CR0: et, MaxPhys: 36}) || r.Mode() != x86.ModeReal {
		t.Errorf("Reset = %+v (mode %v)", r, r.Mode())
	}
	r = stLong
	root := r.Root()
	if root.CR3 != 0x7000 || !root.WP || root.PDPTE != &r.PDPTE {
		t.Errorf("Root = %+v", root)
	}
	if r.Access(x86.Write) != (x86.Access{Kind: x86.Write}) {
		t.Errorf("CPL 0 access = %+v", r.Access(x86.Write))
	}
	r.CPL = 3
	if r.Access(x86.Fetch) != (x86.Access{Kind: x86.Fetch, User: true}) {
		t.Errorf("CPL 3 access = %+v", r.Access(x86.Fetch))
	}
	r.CPL = 1
	if r.Access(x86.Read).User {
		t.Errorf("CPL 1 is supervisor")
	}
}
