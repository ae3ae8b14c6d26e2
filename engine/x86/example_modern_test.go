package x86_test

import (
	"fmt"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// A kernel with SMAP on reads a user page with RFLAGS.AC clear, then a
// user process writes a page whose protection key PKRU write-disables:
// the walks say which rule refused each access.
func ExampleFault_Reason() {
	mem := newFakeMem()
	// A 4-level hierarchy for va 0: every level user and writable, the
	// leaf with protection key 3.
	mem.write(0x1000, 8, 0x2007)
	mem.write(0x2000, 8, 0x3007)
	mem.write(0x3000, 8, 0x4007)
	mem.write(0x4000, 8, 0x9007|3<<x86.KeyShift)
	var r x86.Regs
	r.Reset(x86.DefaultMaxPhys)
	for _, w := range []struct {
		reg x86.Reg
		v   uint64
	}{{x86.CR4, x86.CR4PAE}, {x86.EFER, x86.EFERLME}, {x86.CR3, 0x1000},
		{x86.CR0, x86.CR0PE | x86.CR0PG | x86.CR0WP}, {x86.CR4, x86.CR4PAE | x86.CR4SMAP | x86.CR4PKE}} {
		if _, err := r.Write(w.reg, w.v, mem); err != nil {
			panic(err)
		}
	}
	f, _ := x86.NewFormat(r.Mode(), r.CR4, r.MaxPhys)
	var w x86.Walk
	f.Walk(mem, r.Root(), 0x10, r.Access(x86.Read), &w)
	fmt.Println(w.Fault, "-", w.Fault.Reason())

	r.CPL, r.PKRU = 3, 2<<(2*3) // key 3: write disabled
	f.Walk(mem, r.Root(), 0x10, r.Access(x86.Write), &w)
	fmt.Println(w.Fault, "-", w.Fault.Reason())
	fmt.Println(r.Features())
	// Output:
	// #PF 0x1 (protection) - SMAP: supervisor read of a user page with AC=0
	// #PF 0x27 (protection) - key 3: write disabled
	// SMAP (AC=0), PKE (PKRU 0x80)
}
