package x86_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// A leaf shape for the permission tables: the walk ends at level leaf
// (index from the top) with a page of 1<<shift bytes at frame.
type leafShape struct {
	name  string
	leaf  int
	shift uint
	frame uint64 // physical base of the page
	entry uint64 // how the leaf entry encodes it (frame bits, PS)
}

var (
	leaf4K32 = leafShape{"4K", 1, 12, 0x1234_5000, 0x1234_5000}
	// PSE-36: physical bits 39:32 (0x12) sit in PDE bits 20:13.
	leaf4M   = leafShape{"4M", 0, 22, 0x12_8c40_0000, 0x8c40_0000 | 0x12<<13 | uint64(x86.PS)}
	leaf4K   = leafShape{"4K", -1, 12, 0xab_cdef_1000, 0xab_cdef_1000}
	leaf2M   = leafShape{"2M", -2, 21, 0x3_4560_0000, 0x3_4560_0000 | uint64(x86.PS)}
	leaf1G   = leafShape{"1G", -3, 30, 0x45_4000_0000, 0x45_4000_0000 | uint64(x86.PS)}
	permVA32 = x86.GVA(0xc0a5_3abc)
	permVA48 = x86.GVA(0x0000_7f12_3456_7abc)
	permVA57 = x86.GVA(0x00ab_7f12_3456_7abc)
)

// permBits are the rights bits of one level in one combination.
type permBits struct{ rw, us, nx bool }

func (b permBits) flags() uint64 {
	v := uint64(x86.P)
	if b.rw {
		v |= uint64(x86.RW)
	}
	if b.us {
		v |= uint64(x86.US)
	}
	if b.nx {
		v |= uint64(x86.NX)
	}
	return v
}

// expected is the SDM's verdict, computed without the package's Rights:
// a set XD bit where NXE=0 is a reserved bit (the walk stops at the first
// one); otherwise RW and US are ANDed and XD ORed over the levels, a user
// access needs US, a user write needs RW, a supervisor write needs RW
// only when CR0.WP=1, and a fetch needs XD clear.
type expected struct {
	kind  x86.FaultKind
	level int // step index of the fault
	code  x86.ErrorCode
}

func expect(lv []permBits, rightsAt []int, leaf int, nxArch bool, acc x86.Access, wp bool) expected {
	code := x86.ErrorCode(0)
	if acc.Kind == x86.Write {
		code |= x86.PFWrite
	}
	if acc.User {
		code |= x86.PFUser
	}
	if acc.Kind == x86.Fetch && nxArch {
		code |= x86.PFFetch
	}
	rw, us, xd := true, true, false
	for i, b := range lv {
		if b.nx && !nxArch {
			return expected{x86.ReservedBit, rightsAt[i], code | x86.PFPresent | x86.PFRsvd}
		}
		rw, us, xd = rw && b.rw, us && b.us, xd || b.nx
	}
	deny := acc.User && !us ||
		acc.Kind == x86.Write && !rw && (acc.User || wp) ||
		acc.Kind == x86.Fetch && xd
	if deny {
		return expected{x86.Protection, leaf, code | x86.PFPresent}
	}
	return expected{kind: x86.NoFault}
}

func TestPermissions(t *testing.T) {
	type permMode struct {
		mode   x86.Mode
		va     x86.GVA
		leaves []leafShape
		sample int // 0: every combination; else this many random ones
	}
	pae := []leafShape{leaf4K, leaf2M}
	long := []leafShape{leaf4K, leaf2M, leaf1G}
	for _, pm := range []permMode{
		{x86.Mode32Bit, permVA32, []leafShape{leaf4K32, leaf4M}, 0},
		{x86.ModePAE, permVA32, pae, 0},
		{x86.ModePAENX, permVA32, pae, 0},
		{x86.ModeAMD64, permVA48, long, 0},
		{x86.ModeAMD64NX, permVA48, long, 0},
		{x86.ModeLA57, permVA57, long, 3000},
		{x86.ModeLA57NX, permVA57, long, 3000},
	} {
		for _, ls := range pm.leaves {
			t.Run(pm.mode.String()+"/"+ls.name, func(t *testing.T) {
				runPermTable(t, pm.mode, pm.va, ls, pm.sample)
			})
		}
	}
}

func runPermTable(t *testing.T, m x86.Mode, va x86.GVA, ls leafShape, sample int) {
	f, err := x86.NewFormat(m, x86.CR4PSE, 40)
	if err != nil {
		t.Fatal(err)
	}
	g := geometryOf(m)
	leaf := ls.leaf
	if leaf < 0 {
		leaf += len(g.shifts)
	}
	b := newBuilder(m)
	base := make([]uint64, leaf+1)
	for i := range base {
		base[i] = uint64(x86.P)
	}
	addrs := b.mapVA(va, base, ls.entry)
	var rightsAt []int // levels whose RW/US/NX we vary
	for i := 0; i <= leaf; i++ {
		if g.rights[i] {
			rightsAt = append(rightsAt, i)
		}
	}
	nbits := 2
	if g.size == 8 {
		nbits = 3 // 32-bit entries have no XD bit
	}
	total := 1 << (nbits * len(rightsAt))
	rng := rand.New(rand.NewPCG(uint64(m), uint64(leaf)))
	wantGPA := x86.GPA(ls.frame | uint64(va)&(1<<ls.shift-1))
	failures := 0
	n := total
	if sample > 0 {
		n = sample
	}
	lv := make([]permBits, len(rightsAt))
	var kinds [5]int // outcomes seen, by fault kind
	for it := 0; it < n && failures < 10; it++ {
		combo := it
		if sample > 0 {
			combo = rng.IntN(total)
		}
		for j, i := range rightsAt {
			c := combo >> (nbits * j)
			lv[j] = permBits{rw: c&1 != 0, us: c&2 != 0, nx: nbits == 3 && c&4 != 0}
			v := lv[j].flags()
			if i == leaf {
				v |= ls.entry
			} else {
				v |= b.mem.ReadEntry(addrs[i], g.size) &^ 0x8000_0000_0000_0fff
			}
			b.mem.write(addrs[i], g.size, v)
		}
		for _, wp := range []bool{false, true} {
			for _, user := range []bool{false, true} {
				for _, k := range []x86.AccessKind{x86.Read, x86.Write, x86.Fetch} {
					acc := x86.Access{Kind: k, User: user}
					var w x86.Walk
					f.Walk(b.mem, b.root(wp), va, acc, &w)
					want := expect(lv, rightsAt, leaf, f.NX, acc, wp)
					kinds[want.kind]++
					if msg := checkPerm(&w, want, wantGPA, leaf); msg != "" {
						failures++
						t.Errorf("%s %+v wp=%v levels=%+v: %s", k, acc, wp, lv, msg)
					}
				}
			}
		}
	}
	// Guard against a vacuous table: every outcome must occur.
	if kinds[x86.NoFault] == 0 || kinds[x86.Protection] == 0 || (kinds[x86.ReservedBit] == 0) != (f.NX || g.size == 4) {
		t.Errorf("outcomes by kind %v over %d combinations", kinds, n)
	}
	if len(b.mem.sets) != 0 {
		t.Errorf("Walk wrote to memory: %d SetEntryBits calls", len(b.mem.sets))
	}
}

func checkPerm(w *x86.Walk, want expected, gpa x86.GPA, leaf int) string {
	if w.Fault.Kind != want.kind {
		return fmt.Sprintf("fault %v, want %v", w.Fault, want.kind)
	}
	if want.kind != x86.NoFault {
		if w.Fault.Code != want.code || w.Fault.Level != want.level {
			return fmt.Sprintf("fault %v at level %d, want code %v at level %d", w.Fault, w.Fault.Level, want.code, want.level)
		}
		if w.GPA != 0 || w.Rights != 0 || w.OK() || !w.Fault.IsPF() {
			return fmt.Sprintf("faulting walk reports gpa %v rights %v", w.GPA, w.Rights)
		}
		return ""
	}
	if w.GPA != gpa || w.N != leaf+1 || w.Leaf() == nil {
		return fmt.Sprintf("gpa %v n %d, want %v n %d", w.GPA, w.N, gpa, leaf+1)
	}
	return ""
}

// TestRightsAccumulate checks the rights reported by a successful walk and
// at each step against the AND/OR rule, for every AMD64+NX combination.
func TestRightsAccumulate(t *testing.T) {
	f, _ := x86.NewFormat(x86.ModeAMD64NX, 0, 40)
	b := newBuilder(x86.ModeAMD64NX)
	addrs := b.mapVA(permVA48, []uint64{1, 1, 1, 1}, leaf4K.entry)
	for combo := 0; combo < 1<<12; combo++ {
		want := x86.AllRights
		wantSteps := make([]x86.Rights, 4)
		for i := range 4 {
			c := combo >> (3 * i)
			pb := permBits{rw: c&1 != 0, us: c&2 != 0, nx: c&4 != 0}
			v := b.mem.ReadEntry(addrs[i], 8)&0x000f_ffff_ffff_f000 | pb.flags()
			b.mem.write(addrs[i], 8, v)
			r := x86.Rights(0)
			if pb.rw {
				r |= x86.RightWrite
			}
			if pb.us {
				r |= x86.RightUser
			}
			if !pb.nx {
				r |= x86.RightExec
			}
			want = want.Intersect(r)
			wantSteps[i] = want
		}
		var w x86.Walk
		f.Walk(b.mem, b.root(false), permVA48, x86.Access{Kind: x86.Read}, &w)
		if !w.OK() || w.Rights != want {
			t.Fatalf("combo %#x: ok=%v rights %v, want %v", combo, w.OK(), w.Rights, want)
		}
		for i := range 4 {
			if w.Steps[i].Rights != wantSteps[i] {
				t.Fatalf("combo %#x step %d: rights %v, want %v", combo, i, w.Steps[i].Rights, wantSteps[i])
			}
		}
	}
}
