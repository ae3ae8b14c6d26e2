package x86_test

import (
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// TestModernWritesAccepted: the writes the contract's "Modern paging
// features" allow, with the state and the change they leave.
func TestModernWritesAccepted(t *testing.T) {
	long := regsIn(et|pe|pg|wp, pae, lme|nxe, 0x7000, 40)
	for _, c := range []struct {
		name     string
		st       x86.Regs
		reg      x86.Reg
		v        uint64
		cr3, cr4 uint64 // expected afterwards
		pcid     uint16
		noFlush  bool
		flushAll bool
	}{
		{"PCIDE-on-in-long-mode", long, x86.CR4, pae | pcide, 0x7000, pae | pcide, 0, false, false},
		{"PCIDE-on-in-LA57", regsIn(et|pe|pg, pae|la57, lme, 0x7000, 40), x86.CR4, pae | la57 | pcide, 0x7000, pae | la57 | pcide, 0, false, false},
		{"PCIDE-off-flushes-all", stLongPCID, x86.CR4, pae, 0x7003, pae, 0, false, true},
		{"PCIDE-kept-with-PCID-in-CR3", stLongPCID, x86.CR4, pae | pcide | pge, 0x7003, pae | pcide | pge, 3, false, true},
		{"CR3-PCID-flush", stLongPCID, x86.CR3, 0x9005, 0x9005, pae | pcide, 5, false, false},
		{"CR3-PCID-noflush", stLongPCID, x86.CR3, 1<<63 | 0x9fff, 0x9fff, pae | pcide, 0xfff, true, false},
		{"CR3-noflush-below-MAXPHYADDR", stLongPCID, x86.CR3, 1<<63 | (1<<40 - 0x1000) | 7, 1<<40 - 0x1000 | 7, pae | pcide, 7, true, false},
		{"CR3-low-bits-without-PCIDE-are-not-a-PCID", long, x86.CR3, 0x7018, 0x7018, pae, 0, false, false},
		{"SMEP-on-in-32-bit", st32, x86.CR4, pse | smep, 0x1000, pse | smep, 0, false, true},
		{"SMEP-off", regsIn(et|pe|pg, pse|smep, 0, 0x1000, 40), x86.CR4, pse, 0x1000, pse, 0, false, false},
		{"SMAP-on-in-PAE", stPAE, x86.CR4, pae | smap, 0x5000, pae | smap, 0, false, false},
		{"SMEP-SMAP-in-real-mode", stReal, x86.CR4, smep | smap | pke, 0, smep | smap | pke, 0, false, true},
		{"PKE-on-in-long-mode", long, x86.CR4, pae | pke, 0x7000, pae | pke, 0, false, false},
		{"PKE-on-in-legacy-PAE", stPAE, x86.CR4, pae | pke, 0x5000, pae | pke, 0, false, false},
		{"LA57-on-outside-long-mode", stProtLME, x86.CR4, pae | la57, 0x1000, pae | la57, 0, false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := c.st
			ch, err := r.Write(c.reg, c.v, newFakeMem())
			if err != nil {
				t.Fatalf("Write(%v, %#x): %v", c.reg, c.v, err)
			}
			if r.CR3 != c.cr3 || r.CR4 != c.cr4 || r.PCID() != c.pcid {
				t.Errorf("cr3 %#x cr4 %#x pcid %#x, want %#x %#x %#x", r.CR3, r.CR4, r.PCID(), c.cr3, c.cr4, c.pcid)
			}
			if r.CR3&x86.CR3NoFlush != 0 {
				t.Errorf("bit 63 stored in CR3 %#x", r.CR3)
			}
			if ch.NoFlush != c.noFlush || ch.FlushAll != c.flushAll || ch.CR3Loaded != (c.reg == x86.CR3) {
				t.Errorf("change %+v, want NoFlush %v FlushAll %v", ch, c.noFlush, c.flushAll)
			}
		})
	}
}

// TestPCIDRootIgnoresPCID: with PCIDE=1, CR3[11:0] is the PCID and never
// part of the table address (nor PWT/PCD).
func TestPCIDRootIgnoresPCID(t *testing.T) {
	b := newBuilder(x86.ModeAMD64NX)
	va := x86.GVA(0x40_0000_1000)
	b.mapVA(va, []uint64{7, 7, 7, 7}, 0x5_5000)
	r := regsIn(et|pe|pg, pae|pcide, lme|nxe, b.cr3|0xabc, 40)
	f, _ := x86.NewFormat(r.Mode(), r.CR4, 40)
	var w x86.Walk
	f.Walk(b.mem, r.Root(), va, r.Access(x86.Read), &w)
	if !w.OK() || w.GPA != 0x5_5000 || r.PCID() != 0xabc {
		t.Fatalf("walk %v gpa %v pcid %#x", w.Fault, w.GPA, r.PCID())
	}
}

func TestModernRegsResetAndProtect(t *testing.T) {
	r := regsIn(et|pe|pg|wp, pae|smep|smap|pke|pcide, lme, 0x7001, 40)
	r.AC, r.PKRU = true, 0xdeadbeef
	p := r.Protect()
	if p != (x86.Protect{SMEP: true, SMAP: true, AC: true, PKE: true, PKRU: 0xdeadbeef}) {
		t.Errorf("Protect = %+v", p)
	}
	if root := r.Root(); root.Protect != p || !root.WP {
		t.Errorf("Root = %+v", root)
	}
	r.Reset(40)
	if r.AC || r.PKRU != 0 || r.PCID() != 0 || r.Protect() != (x86.Protect{}) {
		t.Errorf("after Reset: %+v", r)
	}
}

func TestFeatures(t *testing.T) {
	r := regsIn(et|pe|pg, pae|pcide|smep|smap|pke, lme, 0x7005, 40)
	r.PKRU = 0xc0
	if got, want := r.Features(), "PCID 5, SMEP, SMAP (AC=0), PKE (PKRU 0xc0)"; got != want {
		t.Errorf("Features() = %q, want %q", got, want)
	}
	r.AC = true
	r.CR4 = pae | smap
	if got, want := r.Features(), "SMAP (AC=1)"; got != want {
		t.Errorf("Features() = %q, want %q", got, want)
	}
	if got := stLong.Features(); got != "" {
		t.Errorf("no features: %q", got)
	}
}

// TestCheckINVPCID: every #GP rule of INVPCID, and its message spelled
// like the trace line.
func TestCheckINVPCID(t *testing.T) {
	long := regsIn(et|pe|pg, pae, lme, 0x7000, 40)
	longPCID := regsIn(et|pe|pg, pae|pcide, lme, 0x7000, 40)
	la57 := regsIn(et|pe|pg, pae|la57|pcide, lme, 0x7000, 40)
	for _, c := range []struct {
		name string
		r    x86.Regs
		typ  uint8
		pcid uint64
		va   x86.GVA
		msg  string // "" when legal
	}{
		{"type-4", longPCID, 4, 0, 0, "invpcid 4 0: #GP: type above 3"},
		{"PCID-4096", longPCID, 2, 4096, 0, "invpcid 2 4096: #GP: PCID above 4095"},
		{"non-canonical-48", longPCID, 0, 1, 0x8000_0000_0000, "invpcid 0 1 0x800000000000: #GP: non-canonical address"},
		{"canonical-57", la57, 0, 1, 0x8000_0000_0000, ""},
		{"non-canonical-57", la57, 0, 1, 0x0100_0000_0000_0000, "invpcid 0 1 0x100000000000000: #GP: non-canonical address"},
		{"legacy-ignores-canonical", stPAE, 0, 0, 0x8000_0000_0000, ""},
		{"type-0-PCID-without-PCIDE", long, 0, 3, 0x1000, "invpcid 0 3 0x1000: #GP: PCID other than 0 while CR4.PCIDE is 0"},
		{"type-1-PCID-without-PCIDE", stReal, 1, 3, 0, "invpcid 1 3: #GP: PCID other than 0 while CR4.PCIDE is 0"},
		{"type-2-PCID-without-PCIDE", stReal, 2, 3, 0, ""},
		{"type-3-ignores-address", long, 3, 4095, 0x8000_0000_0000, ""},
		{"type-1-PCID-0-in-real-mode", stReal, 1, 0, 0, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := x86.NewFormat(c.r.Mode(), c.r.CR4, 40)
			if err != nil {
				t.Fatal(err)
			}
			err = c.r.CheckINVPCID(c.typ, c.pcid, c.va, f)
			switch {
			case c.msg == "" && err != nil:
				t.Errorf("legal INVPCID refused: %v", err)
			case c.msg != "" && (err == nil || err.Error() != c.msg):
				t.Errorf("got %v, want %q", err, c.msg)
			}
		})
	}
}
