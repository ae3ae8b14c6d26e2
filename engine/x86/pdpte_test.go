package x86_test

import (
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// paeGuest builds a PAE guest mapping permVA32 to a 4 KiB page and brings
// the registers into PAE paging through Regs.Write, so that the PDPTE
// registers come from a real CR3 load.
func paeGuest(t *testing.T, efer uint64, pdpteFlags uint64) (*x86.Regs, *builder, []x86.GPA) {
	t.Helper()
	b := newBuilder(x86.ModePAE)
	addrs := b.mapVA(permVA32, []uint64{pdpteFlags, 0x7, 0x7}, 0x1234_5000)
	var r x86.Regs
	r.Reset(40)
	for _, w := range []struct {
		reg x86.Reg
		v   uint64
	}{{x86.EFER, efer}, {x86.CR4, pae}, {x86.CR3, b.cr3}, {x86.CR0, et | pe | pg | wp}} {
		if _, err := r.Write(w.reg, w.v, b.mem); err != nil {
			t.Fatal(err)
		}
	}
	if !r.Mode().PAEFormat() || r.Mode().Long() {
		t.Fatalf("mode %v", r.Mode())
	}
	return &r, b, addrs
}

func walkRegs(r *x86.Regs, mem x86.Memory, va x86.GVA, k x86.AccessKind) x86.Walk {
	f, err := x86.NewFormat(r.Mode(), r.CR4, r.MaxPhys)
	if err != nil {
		panic(err)
	}
	var w x86.Walk
	f.Walk(mem, r.Root(), va, r.Access(k), &w)
	return w
}

// TestLegacyPDPTERightsReserved: RW, US (bits 1, 2) and A, D, PS (5..7)
// of a legacy PAE PDPTE are reserved, even with NXE, and so is XD.
func TestLegacyPDPTERightsReserved(t *testing.T) {
	for _, c := range []struct {
		name  string
		efer  uint64
		flags uint64
		cpl   uint8
		k     x86.AccessKind
		code  x86.ErrorCode
	}{
		{"RW", 0, 0x3, 0, x86.Read, x86.PFPresent | x86.PFRsvd},
		{"US-user-write", 0, 0x5, 3, x86.Write, x86.PFPresent | x86.PFRsvd | x86.PFWrite | x86.PFUser},
		{"RW-US-NXE-fetch", nxe, 0x7, 0, x86.Fetch, x86.PFPresent | x86.PFRsvd | x86.PFFetch},
		{"A", nxe, 0x21, 3, x86.Read, x86.PFPresent | x86.PFRsvd | x86.PFUser},
		{"XD-with-NXE", nxe, 0x1 | uint64(x86.NX), 0, x86.Read, x86.PFPresent | x86.PFRsvd},
		{"not-present-fetch-NXE", nxe, 0x0, 0, x86.Fetch, x86.PFFetch},
		{"not-present-fetch-no-NXE", 0, 0x0, 3, x86.Fetch, x86.PFUser},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, b, _ := paeGuest(t, c.efer, c.flags)
			r.CPL = c.cpl
			w := walkRegs(r, b.mem, permVA32, c.k)
			if w.OK() || w.Fault.Level != 0 || w.Fault.Code != c.code || w.N != 1 || !w.Steps[0].Register {
				t.Errorf("fault %v level %d n %d register %v, want code %v at level 0",
					w.Fault, w.Fault.Level, w.N, w.Steps[0].Register, c.code)
			}
		})
	}
}

// TestPDPTERegisters: a legacy PAE walk uses the PDPTE registers loaded at
// the last CR3 load; guest writes to the PDPT in memory take effect only
// at the next load, and the PDPTE never gets A.
func TestPDPTERegisters(t *testing.T) {
	r, b, addrs := paeGuest(t, nxe, 0x1)
	w := walkRegs(r, b.mem, permVA32, x86.Write)
	if !w.OK() || w.GPA != 0x1234_5abc {
		t.Fatalf("initial walk: %v gpa %v", w.Fault, w.GPA)
	}
	wantAddr := x86.GPA(b.cr3 + 8*3)
	if s := w.Steps[0]; !s.Register || s.EntryAddr != wantAddr || s.Index != 3 || s.Level != x86.LevelPDPT || s.Rights != x86.AllRights {
		t.Errorf("PDPT step %+v, want register at %v index 3 granting all", s, wantAddr)
	}
	w.SetAccessedDirty(b.mem, true)
	for _, c := range b.mem.sets {
		if c.addr == addrs[0] {
			t.Errorf("SetEntryBits on the PDPTE at %v", c.addr)
		}
	}
	if got := b.mem.ReadEntry(addrs[0], 8); got != r.PDPTE[3] || got&uint64(x86.A) != 0 {
		t.Errorf("PDPTE in memory %#x, register %#x: A must stay clear", got, r.PDPTE[3])
	}

	// The guest marks the PDPTE not present in memory: not seen yet.
	b.mem.write(addrs[0], 8, 0)
	if w := walkRegs(r, b.mem, permVA32, x86.Read); !w.OK() {
		t.Errorf("after a PDPT write without CR3 load: %v, want the old translation", w.Fault)
	}
	// Other register writes do not reload either.
	if _, err := r.Write(x86.CR0, et|pe|pg, b.mem); err != nil {
		t.Fatal(err)
	}
	if w := walkRegs(r, b.mem, permVA32, x86.Read); !w.OK() {
		t.Errorf("after a WP change: %v, want the old translation", w.Fault)
	}
	// Reloading CR3 with the same value picks the change up.
	if _, err := r.Write(x86.CR3, b.cr3, b.mem); err != nil {
		t.Fatal(err)
	}
	if w := walkRegs(r, b.mem, permVA32, x86.Read); w.Fault.Kind != x86.NotPresent || w.Fault.Level != 0 {
		t.Errorf("after CR3 reload: %v at level %d, want not present at the PDPTE", w.Fault, w.Fault.Level)
	}
	// And a present PDPTE written later appears only at the next load.
	b.mem.write(addrs[0], 8, uint64(addrs[1]&^0xfff)|uint64(x86.P))
	if w := walkRegs(r, b.mem, permVA32, x86.Read); w.OK() {
		t.Errorf("PDPTE made present in memory is used before the CR3 load")
	}
	if _, err := r.Write(x86.CR4, pae|pge, b.mem); err != nil { // PGE change reloads
		t.Fatal(err)
	}
	if w := walkRegs(r, b.mem, permVA32, x86.Read); !w.OK() || w.GPA != 0x1234_5abc {
		t.Errorf("after a PGE change: %v gpa %v, want the translation back", w.Fault, w.GPA)
	}
}

// TestLongModePDPTE: in long mode the PDPTE is an ordinary entry: it
// contributes RW, US and XD and gets A.
func TestLongModePDPTE(t *testing.T) {
	for _, c := range []struct {
		name  string
		flags uint64 // PDPTE flags (others: P|RW|US)
		user  bool
		wp    bool
		k     x86.AccessKind
		code  x86.ErrorCode // 0: allowed
	}{
		{"RW-clear-supervisor-write-WP", 0x5, false, true, x86.Write, x86.PFPresent | x86.PFWrite},
		{"RW-clear-supervisor-write-noWP", 0x5, false, false, x86.Write, 0},
		{"RW-clear-user-write", 0x5, true, false, x86.Write, x86.PFPresent | x86.PFWrite | x86.PFUser},
		{"US-clear-user-read", 0x3, true, false, x86.Read, x86.PFPresent | x86.PFUser},
		{"US-clear-supervisor-fetch", 0x3, false, true, x86.Fetch, 0},
		{"XD-user-fetch", 0x7 | uint64(x86.NX), true, false, x86.Fetch, x86.PFPresent | x86.PFUser | x86.PFFetch},
		{"XD-read", 0x7 | uint64(x86.NX), true, true, x86.Read, 0},
		{"all-set", 0x7, true, true, x86.Write, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, _ := x86.NewFormat(x86.ModeAMD64NX, 0, 40)
			b := newBuilder(x86.ModeAMD64NX)
			addrs := b.mapVA(permVA48, []uint64{0x7, c.flags, 0x7, 0x7}, 0xab_cdef_1000)
			var w x86.Walk
			f.Walk(b.mem, b.root(c.wp), permVA48, x86.Access{Kind: c.k, User: c.user}, &w)
			if c.code != 0 {
				if w.Fault.Kind != x86.Protection || w.Fault.Code != c.code || w.Fault.Level != 3 {
					t.Errorf("fault %v at level %d, want protection %v at the PTE", w.Fault, w.Fault.Level, c.code)
				}
				return
			}
			if !w.OK() || w.Steps[1].Register {
				t.Fatalf("fault %v", w.Fault)
			}
			w.SetAccessedDirty(b.mem, c.k == x86.Write)
			if got := b.mem.ReadEntry(addrs[1], 8); got&uint64(x86.A) == 0 || got&uint64(x86.D) != 0 {
				t.Errorf("PDPTE after the walk %#x: want A set, D clear", got)
			}
		})
	}
}
