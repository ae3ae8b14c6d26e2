package engine_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// A virtual WRITE handler over page 1 (guest page 0x1000); the guest
// remaps page 1 to 0x7000 and invalidates: writes through the new
// mapping call the handler, writes to the old guest page through another
// address do not; page 8 is an alias of 0x7000 and calls it too.
func TestVirtualHandlerFollowsRemap(t *testing.T) {
	events := `virt-handler write 0x1000 4K idt
w4 0x1000 1
pw4 0x101004 0x00007067
invlpg 0x1000
w4 0x1000 2
pw4 0x101008 0x00001067
invlpg 0x2000
w4 0x2000 3
pw4 0x101020 0x00007067
invlpg 0x8000
w4 0x8000 4
r4 0x1000
virt-unhandler 0x1000
w4 0x1000 5
`
	for _, host := range []string{"32bit", "pae", "amd64-nx"} {
		t.Run(host, func(t *testing.T) {
			e, out := run(t, strings.ReplaceAll(setup32, "HOST", host)+events)
			n := len(out)
			want := []string{"", "idt", "", "", "idt", "", "", "", "", "", "idt", "", "", ""}
			for i, w := range want {
				o := out[n-len(want)+i]
				if o.Handler != w {
					t.Errorf("event %d (%s %#x): handler %q, want %q", i, o.Event.Op(), o.Event.Addr, o.Handler, w)
				}
			}
			if vh := e.VirtHandlers(); len(vh) != 0 {
				t.Errorf("%d virtual handlers left", len(vh))
			}
		})
	}
}

// benchVirtGuest is a long-mode guest with pages identity-mapped 4 KiB
// pages and virtual handlers covering all of them, in several address
// spaces sharing the page tables.
func benchVirtGuest(b *testing.B, pages int, cheap bool) (*engine.Shadow, []uint64) {
	s, err := engine.NewShadow(engine.Config{Ranges: []phys.RangeSpec{{Type: phys.TypeRAM, Size: 128 << 20}}})
	if err != nil {
		b.Fatal(err)
	}
	s.SetVirtUpdate(cheap)
	apply := func(ev engine.Event) {
		if _, err := s.Apply(ev); err != nil {
			b.Fatal(err)
		}
	}
	pw := func(gpa, v uint64) { apply(engine.Event{Kind: engine.EvPhysWrite, Size: 8, Addr: gpa, Value: v}) }
	const pdpt, pd, pt0 = 0x10000, 0x11000, 0x100000
	pw(pdpt, pd|7)
	nPT := (pages + 511) / 512
	for t := 0; t < nPT; t++ {
		pw(pd+8*uint64(t), uint64(pt0+t*0x1000)|7)
		for i := 0; i < 512; i++ {
			pw(uint64(pt0+t*0x1000+8*i), uint64(0x1000000+(t*512+i)<<12)|0x67)
		}
	}
	roots := []uint64{0x20000, 0x21000, 0x22000, 0x23000}
	for _, r := range roots {
		pw(r, pdpt|7)
	}
	apply(engine.Event{Kind: engine.EvCR0, Value: x86.CR0PE})
	apply(engine.Event{Kind: engine.EvCR4, Value: x86.CR4PAE})
	apply(engine.Event{Kind: engine.EvEFER, Value: x86.EFERLME})
	apply(engine.Event{Kind: engine.EvCR3, Value: roots[0]})
	apply(engine.Event{Kind: engine.EvCR0, Value: x86.CR0PE | x86.CR0PG})
	// Handlers of 16 pages each (or one page), spread over the mapping.
	per := min(16, pages)
	for i := 0; i < pages; i += per {
		apply(engine.Event{Kind: engine.EvVirtHandler, Size: uint8(engine.VirtWrite), Addr: uint64(i) << 12, Value: uint64(min(per, pages-i)) << 12, Text: fmt.Sprint("h", i)})
	}
	return s, roots
}

// BenchmarkVirtHandlerSyncCR3 is the cost of a CR3 load (a context
// switch among four address spaces) with virtual handlers covering 1,
// 100 and 10,000 pages: the original's full walk against the cheap
// update.
func BenchmarkVirtHandlerSyncCR3(b *testing.B) {
	for _, pages := range []int{1, 100, 10000} {
		for _, cheap := range []bool{false, true} {
			name := fmt.Sprintf("pages=%d/%s", pages, map[bool]string{false: "full-walk", true: "cheap"}[cheap])
			b.Run(name, func(b *testing.B) {
				s, roots := benchVirtGuest(b, pages, cheap)
				walks := s.VirtWalks()
				i := 0
				for b.Loop() {
					if _, err := s.Apply(engine.Event{Kind: engine.EvCR3, Value: roots[i%len(roots)]}); err != nil {
						b.Fatal(err)
					}
					i++
				}
				b.ReportMetric(float64(s.VirtWalks()-walks)/float64(b.N), "walks/op")
			})
		}
	}
}
