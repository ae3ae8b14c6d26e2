package x86_test

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

var fuzzModes = []x86.Mode{
	x86.ModeReal, x86.ModeProtected, x86.Mode32Bit, x86.ModePAE, x86.ModePAENX,
	x86.ModeAMD64, x86.ModeAMD64NX, x86.ModeLA57, x86.ModeLA57NX,
}

// foldMem is guest memory made of fuzz bytes: physical address a below
// 64 GiB reads b[a mod len(b)], everything else reads all ones. Updates
// are recorded and dropped (as for ROM), so the contents stay the input.
type foldMem struct {
	b    []byte
	sets []setCall
}

func (m *foldMem) ReadEntry(addr x86.GPA, size int) uint64 {
	if len(m.b) == 0 || addr >= 1<<36 {
		return ^uint64(0) >> (64 - 8*size)
	}
	var v uint64
	for i := size - 1; i >= 0; i-- {
		v = v<<8 | uint64(m.b[(uint64(addr)+uint64(i))%uint64(len(m.b))])
	}
	return v
}

func (m *foldMem) SetEntryBits(addr x86.GPA, size int, bits uint64) {
	m.sets = append(m.sets, setCall{addr, size, bits})
}

// seedTables lays out one identity-ish hierarchy for mode m at GPA 0 with
// one page per level: table i at i*0x1000, entry for va 0x1000 in each.
func seedTables(m x86.Mode, flags uint64) []byte {
	g := geometryOf(m)
	b := make([]byte, 0x1000*(len(g.shifts)+1))
	for i := range g.shifts {
		idx := g.index(i, 0x1000)
		v := uint64(0x1000*(i+1)) | flags
		if i == 0 && g.pdpteRegs {
			v = uint64(0x1000) | 1
		}
		off := 0x1000*i + int(idx)*g.size
		if g.size == 4 {
			binary.LittleEndian.PutUint32(b[off:], uint32(v))
		} else {
			binary.LittleEndian.PutUint64(b[off:], v)
		}
	}
	return b
}

func FuzzWalk(f *testing.F) {
	for i, m := range fuzzModes {
		if m.Paging() {
			f.Add(uint8(i), uint8(0x04), uint8(8), uint64(0), uint64(0x1abc), seedTables(m, 0x7))
			f.Add(uint8(i), uint8(0x0f), uint8(20), uint64(0), uint64(0x1abc), seedTables(m, 0x8000_0000_0000_0083))
			f.Add(uint8(i), uint8(0x13), uint8(4), uint64(0), uint64(0xffff_ffff_ffff_f123), seedTables(m, 0x25))
		}
	}
	f.Add(uint8(0), uint8(0), uint8(0), uint64(0), uint64(0x1_0000_1234), []byte{})
	f.Add(uint8(5), uint8(2), uint8(0), uint64(0x1000), uint64(0x0000_8000_0000_0000), []byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, mode, ctl, maxPhys uint8, cr3, va uint64, data []byte) {
		m := fuzzModes[int(mode)%len(fuzzModes)]
		M := 32 + uint(maxPhys)%21
		cr4 := uint64(0)
		if ctl&1 != 0 {
			cr4 |= x86.CR4PSE
		}
		wp := ctl&2 != 0
		acc := x86.Access{User: ctl&4 != 0, Kind: x86.AccessKind(ctl >> 3 % 3)}
		fm, err := x86.NewFormat(m, cr4, uint8(M))
		if err != nil {
			t.Fatal(err)
		}
		mem := &foldMem{b: data}
		var pdpte [4]uint64
		for i := range pdpte {
			pdpte[i] = mem.ReadEntry(x86.GPA(cr3&0xffffffe0)+x86.GPA(8*i), 8)
		}
		root := x86.Root{CR3: cr3, PDPTE: &pdpte, WP: wp}
		var w, w2 x86.Walk
		fm.Walk(mem, root, x86.GVA(va), acc, &w)
		fm.Walk(mem, root, x86.GVA(va), acc, &w2)
		if w != w2 {
			t.Fatalf("walk not deterministic")
		}
		checkWalkInvariants(t, fm, &w, acc, M)

		ref := refWalk(mem, m, cr4, M, cr3, &pdpte, va, acc, wp)
		got := refResult{ok: w.OK(), kind: w.Fault.Kind, n: w.N}
		if w.OK() {
			got.gpa, got.shift, got.rights = uint64(w.GPA), uint(w.PageShift), w.Rights
		} else {
			got.level, got.code = w.Fault.Level, w.Fault.Code
		}
		if got != ref {
			t.Fatalf("%v va %#x: walker %+v, reference %+v\n%s", m, va, got, ref, w.Dump())
		}

		// A/D: one update per non-register entry missing A (or, for a
		// write, D in the leaf), none at all after a fault.
		var want []setCall
		for i := 0; i < w.N && w.OK(); i++ {
			st := w.Steps[i]
			need := uint64(x86.A)
			if acc.Kind == x86.Write && i == w.N-1 {
				need |= uint64(x86.D)
			}
			if !st.Register && uint64(st.Entry)&need != need {
				want = append(want, setCall{st.EntryAddr, int(fm.Levels[i].EntrySize), need &^ uint64(st.Entry)})
			}
		}
		w.SetAccessedDirty(mem, acc.Kind == x86.Write)
		if len(mem.sets) != len(want) {
			t.Fatalf("updates %v, want %v", mem.sets, want)
		}
		for i := range want {
			if mem.sets[i] != want[i] {
				t.Fatalf("updates %v, want %v", mem.sets, want)
			}
		}
	})
}

func checkWalkInvariants(t *testing.T, f *x86.Format, w *x86.Walk, acc x86.Access, M uint) {
	t.Helper()
	if w.N < 0 || w.N > f.N {
		t.Fatalf("N = %d, format has %d levels", w.N, f.N)
	}
	for i := 1; i < w.N; i++ {
		if !w.Steps[i-1].Rights.SupersetOf(w.Steps[i].Rights) {
			t.Fatalf("rights grow at step %d: %v -> %v", i, w.Steps[i-1].Rights, w.Steps[i].Rights)
		}
	}
	switch k := w.Fault.Kind; {
	case k == x86.NoFault:
		if f.N > 0 && (w.N == 0 || w.Leaf() == nil) {
			t.Fatalf("successful paging walk without a leaf")
		}
		for i := 0; i < w.N; i++ {
			s := w.Steps[i]
			if !s.Entry.Present() || f.Levels[i].Reserved(s.Entry) != 0 || s.Leaf != (i == w.N-1) {
				t.Fatalf("step %d of a successful walk: %+v", i, s)
			}
		}
		if uint64(w.GPA) >= 1<<M && f.N > 0 {
			t.Fatalf("GPA %v beyond MAXPHYADDR %d", w.GPA, M)
		}
		mask := uint64(1)<<w.PageShift - 1
		if uint64(w.GPA)&mask != uint64(w.VA)&mask {
			t.Fatalf("GPA %v does not keep the offset of %v in a %d-bit page", w.GPA, w.VA, w.PageShift)
		}
		if w.N > 0 && w.Rights != w.Steps[w.N-1].Rights {
			t.Fatalf("walk rights %v, leaf step %v", w.Rights, w.Steps[w.N-1].Rights)
		}
	case k == x86.NonCanonical:
		if !f.Mode.Long() || f.Canonical(w.VA) || w.N != 0 || w.Fault.Code != 0 {
			t.Fatalf("NonCanonical in %v for %v (n=%d)", f.Mode, w.VA, w.N)
		}
	case w.Fault.IsPF():
		if w.Fault.Code != x86.PageFaultCode(k, acc, f.FetchBit) {
			t.Fatalf("code %v, PageFaultCode says %v", w.Fault.Code, x86.PageFaultCode(k, acc, f.FetchBit))
		}
		if w.Fault.Level != w.N-1 || w.GPA != 0 || w.Rights != 0 {
			t.Fatalf("fault at level %d of %d steps, gpa %v rights %v", w.Fault.Level, w.N, w.GPA, w.Rights)
		}
		last := w.Steps[w.N-1]
		switch k {
		case x86.NotPresent:
			if last.Entry.Present() {
				t.Fatalf("not-present fault on a present entry")
			}
		case x86.ReservedBit:
			if !last.Entry.Present() || f.Levels[w.N-1].Reserved(last.Entry) == 0 {
				t.Fatalf("reserved-bit fault on %#x", uint64(last.Entry))
			}
		case x86.Protection:
			if !last.Leaf || w.N != f.N && !last.Big {
				t.Fatalf("protection fault before the leaf: %+v", last)
			}
		}
	default:
		t.Fatalf("fault kind %v", k)
	}
}

// FuzzRegsWrite applies sequences of control-register writes: each either
// raises #GP with the state unchanged or leaves a consistent state.
func FuzzRegsWrite(f *testing.F) {
	op := func(reg byte, v uint64) []byte {
		return binary.LittleEndian.AppendUint64([]byte{reg}, v)
	}
	var boot []byte
	for _, o := range []struct {
		reg byte
		v   uint64
	}{{0, et | pe}, {1, 0x5000}, {2, pae}, {0, et | pe | pg}, {3, nxe}, {1, 0x6020},
		{0, et | pe}, {3, lme | nxe}, {1, 0x7000}, {0, et | pe | pg | wp}, {2, pae | pge}, {1, 0x8000}} {
		boot = append(boot, op(o.reg, o.v)...)
	}
	f.Add(uint8(8), boot)
	f.Add(uint8(0), append(op(0x80, pg), op(0x82, ^uint64(0))...))
	f.Add(uint8(20), append(op(0x83, lme), op(0x80, ^uint64(0))...))
	f.Fuzz(func(t *testing.T, maxPhys uint8, ops []byte) {
		M := 32 + maxPhys%21
		mem := pdptMem()
		var r x86.Regs
		r.Reset(M)
		for len(ops) >= 9 {
			reg := x86.Reg(ops[0] & 0x7f % 5)
			v := binary.LittleEndian.Uint64(ops[1:9])
			if ops[0]&0x80 != 0 { // steer towards writes that can succeed
				v &= map[x86.Reg]uint64{
					x86.CR0:  pe | pg | wp | et | cd | nw | 1<<5,
					x86.CR3:  0x1_ffff_f0f8 | x86.CR3NoFlush,
					x86.CR4:  pse | pae | pge | la57 | 1<<9 | pcide | smep | smap | pke,
					x86.EFER: lme | lma | nxe | 1,
				}[reg]
			}
			ops = ops[9:]
			prev := r
			ch, err := r.Write(reg, v, mem)
			if err != nil {
				var gp *x86.GPError
				if !errors.As(err, &gp) || r != prev {
					t.Fatalf("Write(%v, %#x) failed with %v and state %+v (was %+v)", reg, v, err, r, prev)
				}
				continue
			}
			checkRegs(t, &prev, &r, ch, reg, v, mem)
		}
	})
}

func checkRegs(t *testing.T, prev, r *x86.Regs, ch x86.Change, reg x86.Reg, v uint64, mem x86.Memory) {
	t.Helper()
	mode := x86.GuestMode(r.CR0, r.CR4, r.EFER)
	if r.Mode() != mode || ch.NewMode != mode || ch.OldMode != prev.Mode() || ch.Reg != reg {
		t.Fatalf("write %v %#x: mode %v, change %+v, GuestMode %v", reg, v, r.Mode(), ch, mode)
	}
	if (r.EFER&lma != 0) != (r.CR0&pg != 0 && r.EFER&lme != 0) {
		t.Fatalf("LMA inconsistent: cr0 %#x efer %#x", r.CR0, r.EFER)
	}
	if r.CR0&pg != 0 && r.CR0&pe == 0 || r.EFER&lma != 0 && r.CR4&pae == 0 || r.CR0>>32 != 0 {
		t.Fatalf("illegal state cr0 %#x cr4 %#x efer %#x", r.CR0, r.CR4, r.EFER)
	}
	if r.CR4&(1<<15|1<<19|^uint64(1<<23-1)) != 0 || r.EFER&^(1|lme|lma|nxe|0xf000) != 0 {
		t.Fatalf("reserved bits accepted: cr4 %#x efer %#x", r.CR4, r.EFER)
	}
	if r.CR4&pcide != 0 && (r.EFER&lma == 0 || prev.CR4&pcide == 0 && prev.CR3&0xfff != 0) {
		t.Fatalf("PCIDE set outside IA-32e mode or over a CR3 with low bits: cr4 %#x efer %#x cr3 %#x", r.CR4, r.EFER, prev.CR3)
	}
	written := map[x86.Reg]uint64{x86.CR0: r.CR0, x86.CR3: r.CR3, x86.CR4: r.CR4, x86.EFER: r.EFER &^ lma}[reg]
	if reg == x86.EFER {
		v &^= lma
	}
	if reg == x86.CR3 && prev.CR4&pcide != 0 {
		// Bit 63 asks to keep the TLB and is never stored.
		if ch.NoFlush != (v>>63 != 0) || r.CR3>>63 != 0 {
			t.Fatalf("CR3 %#x with PCIDE: change %+v, CR3 holds %#x", v, ch, r.CR3)
		}
		v &^= x86.CR3NoFlush
	} else if ch.NoFlush {
		t.Fatalf("NoFlush without PCIDE: %+v", ch)
	}
	if written != v {
		t.Fatalf("wrote %v %#x, register holds %#x", reg, v, written)
	}
	if reg == x86.CR3 && (prev.EFER&lma == 0 && v>>32 != 0 || v>>r.MaxPhys != 0) {
		t.Fatalf("CR3 %#x accepted (lma %v, maxphys %d)", v, prev.EFER&lma != 0, r.MaxPhys)
	}
	if ch.CR3Loaded != (reg == x86.CR3) || ch.ModeChanged() && !ch.FlushAll {
		t.Fatalf("change %+v", ch)
	}
	if ch.PDPTEsLoaded {
		if mode != x86.ModePAE && mode != x86.ModePAENX {
			t.Fatalf("PDPTEs loaded in %v", mode)
		}
		for i, p := range r.PDPTE {
			if want := mem.ReadEntry(x86.GPA(r.CR3&0xffffffe0)+x86.GPA(8*i), 8); p != want {
				t.Fatalf("PDPTE[%d] = %#x, memory %#x", i, p, want)
			}
		}
	} else if r.PDPTE != prev.PDPTE {
		t.Fatalf("PDPTEs changed without a load")
	}
	if _, err := x86.NewFormat(mode, r.CR4, r.MaxPhys); err != nil {
		t.Fatalf("reachable mode %v has no format: %v", mode, err)
	}
}
