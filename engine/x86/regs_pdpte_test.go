package x86_test

import (
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// pdptMem holds a recognisable PDPT at 0x5000 and another at 0x6020.
func pdptMem() *fakeMem {
	m := newFakeMem()
	m.zeroPage(0x5000)
	m.zeroPage(0x6000)
	for i := range 4 {
		m.write(x86.GPA(0x5000+8*i), 8, uint64(0x10001+0x1000*i))
		m.write(x86.GPA(0x6020+8*i), 8, uint64(0x20001+0x1000*i))
	}
	return m
}

var (
	fromPDPT5000 = [4]uint64{0x10001, 0x11001, 0x12001, 0x13001}
	fromPDPT6020 = [4]uint64{0x20001, 0x21001, 0x22001, 0x23001}
	untouched    = [4]uint64{0xa1, 0xa2, 0xa3, 0xa4} // see regsIn
)

// TestPDPTELoad: the PDPTE registers are loaded on a CR3 write in PAE
// mode and on a CR0/CR4 write after which PAE paging is in use and that
// changes PG, PAE, PSE or PGE; on no other write.
func TestPDPTELoad(t *testing.T) {
	for _, c := range []struct {
		name string
		st   x86.Regs
		reg  x86.Reg
		v    uint64
		load bool
		want [4]uint64
	}{
		{"CR3-in-PAE", stPAE, x86.CR3, 0x5000, true, fromPDPT5000},
		{"CR3-in-PAE-32-byte-aligned", stPAE, x86.CR3, 0x6020, true, fromPDPT6020},
		{"CR3-in-PAE-PWT-PCD-ignored", stPAE, x86.CR3, 0x6020 | 0x18, true, fromPDPT6020},
		{"CR3-in-PAE+NX", regsIn(et|pe|pg, pae, nxe, 0x5000, 40), x86.CR3, 0x6020, true, fromPDPT6020},
		{"CR4-PGE-in-PAE", stPAE, x86.CR4, pae | pge, true, fromPDPT5000},
		{"CR4-PSE-in-PAE", stPAE, x86.CR4, pae | pse, true, fromPDPT5000},
		{"CR4-PAE-on-from-32bit", regsIn(et|pe|pg, 0, 0, 0x5000, 40), x86.CR4, pae, true, fromPDPT5000},
		{"CR0-PG-on-with-PAE", regsIn(et|pe, pae, 0, 0x5000, 40), x86.CR0, et | pe | pg, true, fromPDPT5000},
		{"CR0-PG-on-with-PAE-NXE", regsIn(et|pe, pae|pge, nxe, 0x6020, 40), x86.CR0, et | pe | pg | wp, true, fromPDPT6020},
		{"CR4-unrelated-bit-in-PAE", stPAE, x86.CR4, pae | 1<<9, false, untouched},
		{"CR4-same-in-PAE", stPAE, x86.CR4, pae, false, untouched},
		{"CR4-LA57-in-legacy-PAE", stPAE, x86.CR4, pae | la57, false, untouched},
		{"CR0-WP-in-PAE", stPAE, x86.CR0, et | pe | pg | wp, false, untouched},
		{"CR0-same-in-PAE", stPAE, x86.CR0, et | pe | pg, false, untouched},
		{"EFER-NXE-in-PAE", stPAE, x86.EFER, nxe, false, untouched},
		{"CR0-PG-off-from-PAE", stPAE, x86.CR0, et | pe, false, untouched},
		{"CR4-PAE-off-from-PAE", stPAE, x86.CR4, 0, false, untouched},
		{"CR3-in-32bit", st32, x86.CR3, 0x5000, false, untouched},
		{"CR3-in-protected-with-PAE", regsIn(et|pe, pae, 0, 0, 40), x86.CR3, 0x5000, false, untouched},
		{"CR4-PAE-with-paging-off", stProt, x86.CR4, pae, false, untouched},
		{"CR3-in-long-mode", stLong, x86.CR3, 0x5000, false, untouched},
		{"CR0-PG-on-into-long-mode", regsIn(et|pe, pae, lme, 0x5000, 40), x86.CR0, et | pe | pg, false, untouched},
		{"CR4-PGE-in-long-mode", stLong, x86.CR4, pae | pge, false, untouched},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := c.st
			ch, err := r.Write(c.reg, c.v, pdptMem())
			if err != nil {
				t.Fatalf("Write: %v", err)
			}
			if ch.PDPTEsLoaded != c.load {
				t.Errorf("PDPTEsLoaded = %v, want %v", ch.PDPTEsLoaded, c.load)
			}
			if r.PDPTE != c.want {
				t.Errorf("PDPTE = %#x, want %#x", r.PDPTE, c.want)
			}
			if ch.CR3Loaded != (c.reg == x86.CR3) {
				t.Errorf("CR3Loaded = %v", ch.CR3Loaded)
			}
		})
	}
}

// TestBootSequence drives a guest from reset to long mode through every
// paging mode, each step in an order the processor accepts, and checks
// the Change of every write.
func TestBootSequence(t *testing.T) {
	mem := pdptMem()
	var r x86.Regs
	r.Reset(40)
	type want struct {
		old, new  x86.Mode
		cr3, all  bool
		pdpte     bool
		efer, cr4 uint64
	}
	P, R, M32 := x86.ModeProtected, x86.ModeReal, x86.Mode32Bit
	for i, s := range []struct {
		name string
		reg  x86.Reg
		v    uint64
		w    want
	}{
		{"enable-protection", x86.CR0, et | pe, want{R, P, false, true, false, 0, 0}},
		{"load-32bit-PD", x86.CR3, 0x1000, want{P, P, true, false, false, 0, 0}},
		{"enable-PSE", x86.CR4, pse, want{P, P, false, true, false, 0, pse}},
		{"enable-paging-32bit", x86.CR0, et | pe | pg, want{P, M32, false, true, false, 0, pse}},
		{"enable-WP", x86.CR0, et | pe | pg | wp, want{M32, M32, false, true, false, 0, pse}},
		{"reload-CR3-32bit", x86.CR3, 0x2000, want{M32, M32, true, false, false, 0, pse}},
		{"disable-paging", x86.CR0, et | pe | wp, want{M32, P, false, true, false, 0, pse}},
		{"load-PAE-PDPT", x86.CR3, 0x5000, want{P, P, true, false, false, 0, pse}},
		{"enable-PAE", x86.CR4, pse | pae, want{P, P, false, true, false, 0, pse | pae}},
		{"enable-paging-PAE", x86.CR0, et | pe | pg | wp, want{P, x86.ModePAE, false, true, true, 0, pse | pae}},
		{"enable-NXE", x86.EFER, nxe, want{x86.ModePAE, x86.ModePAENX, false, true, false, nxe, pse | pae}},
		{"reload-CR3-PAE", x86.CR3, 0x6020, want{x86.ModePAENX, x86.ModePAENX, true, false, true, nxe, pse | pae}},
		{"enable-PGE-PAE", x86.CR4, pse | pae | pge, want{x86.ModePAENX, x86.ModePAENX, false, true, true, nxe, pse | pae | pge}},
		{"disable-paging-again", x86.CR0, et | pe | wp, want{x86.ModePAENX, P, false, true, false, nxe, pse | pae | pge}},
		{"enable-LME", x86.EFER, nxe | lme, want{P, P, false, true, false, nxe | lme, pse | pae | pge}},
		{"load-PML4", x86.CR3, 0x7000, want{P, P, true, false, false, nxe | lme, pse | pae | pge}},
		{"enable-paging-long", x86.CR0, et | pe | pg | wp, want{P, x86.ModeAMD64NX, false, true, false, nxe | lme | lma, pse | pae | pge}},
		{"reload-CR3-long", x86.CR3, 0x8000, want{x86.ModeAMD64NX, x86.ModeAMD64NX, true, false, false, nxe | lme | lma, pse | pae | pge}},
	} {
		ch, err := r.Write(s.reg, s.v, mem)
		if err != nil {
			t.Fatalf("step %d %s: %v", i, s.name, err)
		}
		got := want{ch.OldMode, ch.NewMode, ch.CR3Loaded, ch.FlushAll, ch.PDPTEsLoaded, r.EFER, r.CR4}
		if got != s.w || ch.Reg != s.reg {
			t.Errorf("step %d %s:\n got %+v\nwant %+v", i, s.name, got, s.w)
		}
		if r.Mode() != s.w.new {
			t.Errorf("step %d %s: mode %v, want %v", i, s.name, r.Mode(), s.w.new)
		}
		if s.w.pdpte {
			wantRegs := fromPDPT5000
			if r.CR3 == 0x6020 {
				wantRegs = fromPDPT6020
			}
			if r.PDPTE != wantRegs {
				t.Errorf("step %d %s: PDPTE = %#x, want %#x", i, s.name, r.PDPTE, wantRegs)
			}
		}
	}
}
