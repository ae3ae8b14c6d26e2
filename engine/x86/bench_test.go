package x86_test

import (
	"encoding/binary"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// benchTables lays out a hierarchy for va in a flat memory: the table of
// level i at (i+1)*4 KiB, the 4 KiB page at 64 KiB. Every entry has A
// (and the leaf D) so nothing would change on a second walk.
func benchTables(m x86.Mode, va x86.GVA) (*flatMem, x86.Root) {
	g := geometryOf(m)
	mem := &flatMem{b: make([]byte, 0x20000)}
	var regs [4]uint64
	for i := range g.shifts {
		next := uint64(0x1000 * (i + 2))
		flags := uint64(x86.P | x86.RW | x86.US | x86.A)
		if i == len(g.shifts)-1 {
			next, flags = 0x10000, flags|uint64(x86.D)
		}
		v := next | flags
		if i == 0 && g.pdpteRegs {
			v = next | uint64(x86.P)
			regs[g.index(0, va)] = v
		}
		off := 0x1000*(i+1) + int(g.index(i, va))*g.size
		if g.size == 4 {
			binary.LittleEndian.PutUint32(mem.b[off:], uint32(v))
		} else {
			binary.LittleEndian.PutUint64(mem.b[off:], v)
		}
	}
	return mem, x86.Root{CR3: 0x1000, PDPTE: &regs, WP: true}
}

func BenchmarkWalk(b *testing.B) {
	for _, c := range []struct {
		name string
		mode x86.Mode
		va   x86.GVA
	}{
		{"32-bit", x86.Mode32Bit, permVA32},
		{"PAE", x86.ModePAENX, permVA32},
		{"AMD64", x86.ModeAMD64NX, permVA48},
		{"LA57", x86.ModeLA57NX, permVA57},
	} {
		b.Run(c.name, func(b *testing.B) {
			f, err := x86.NewFormat(c.mode, x86.CR4PSE, 40)
			if err != nil {
				b.Fatal(err)
			}
			mem, root := benchTables(c.mode, c.va)
			acc := x86.Access{Kind: x86.Write, User: true}
			var w x86.Walk
			f.Walk(mem, root, c.va, acc, &w)
			if !w.OK() || w.GPA != 0x10000|x86.GPA(x86.PageOffset(c.va)) {
				b.Fatalf("bench tables do not translate: %v gpa %v", w.Fault, w.GPA)
			}
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				f.Walk(mem, root, c.va, acc, &w)
				n++
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "walks/s")
		})
	}
}

// TestWalkNoAlloc holds the package's promise that Walk does not allocate.
func TestWalkNoAlloc(t *testing.T) {
	for _, m := range []x86.Mode{x86.Mode32Bit, x86.ModePAENX, x86.ModeAMD64NX, x86.ModeLA57NX} {
		f, _ := x86.NewFormat(m, x86.CR4PSE, 40)
		va := map[bool]x86.GVA{false: permVA32, true: permVA57}[m == x86.ModeLA57NX]
		if m == x86.ModeAMD64NX {
			va = permVA48
		}
		mem, root := benchTables(m, va)
		var w x86.Walk
		acc := x86.Access{Kind: x86.Write, User: true}
		if n := testing.AllocsPerRun(100, func() { f.Walk(mem, root, va, acc, &w) }); n != 0 || !w.OK() {
			t.Errorf("%v: %v allocations per walk (ok=%v)", m, n, w.OK())
		}
	}
}
