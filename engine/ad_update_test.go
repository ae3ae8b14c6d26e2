package engine_test

import (
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// TestOwnDirtyBitKeepsTLB: the #PF handler sets the guest's accessed and
// dirty bits past its own write monitoring. A first write to a clean page
// must neither empty the TLB (the next access to another page is still a
// TLB hit) nor count as a guest rewrite of the page table, and every
// outcome matches the reference CPU's.
func TestOwnDirtyBitKeepsTLB(t *testing.T) {
	e := evList(evPW8(0x1000, 0x2007), evPW8(0x2000, 0x3007), evPW8(0x3000, 0x4007))
	for i := uint64(0); i < 16; i++ {
		e = append(e, evPW8(0x4000+8*i, (0x100000+i<<12)|uint64(x86.P|x86.RW|x86.US|x86.A))) // clean
		// Backed already: a page's first write would otherwise also
		// replace the shared zero page, which rightly flushes.
		e = append(e, evPW8(0x100000+i<<12+0xff8, i))
	}
	e = append(e, evCR(engine.EvCR4, 0x20), evCR(engine.EvEFER, 0x900), evCR(engine.EvCR3, 0x1000),
		evCR(engine.EvCR0, 0x80010011))
	setup := len(e)
	e = append(e, evR(8, 0x1000), evW(4, 0x0, 7), evR(8, 0x1000), evW(4, 0x2008, 9), evR(4, 0x0), evR(4, 0x2008))
	cfg := refRAMConfig(phys.RangeSpec{Type: phys.TypeRAM, Start: 0, Size: 4 << 20, Name: "ram"})
	s, err := engine.NewShadow(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r, err := engine.NewReference(cfg)
	if err != nil {
		t.Fatal(err)
	}
	counter := func(name string) uint64 {
		v, ok := s.Stats().Lookup(name)
		if !ok {
			t.Fatalf("no statistic %s", name)
		}
		return v.Value
	}
	var flushes, mods uint64
	for i, ev := range e {
		if i == setup {
			flushes, mods = counter("/PGM/TLB/FlushesAll"), counter("/PGM/Pool/Monitor/R3/Handled")
		}
		so, err := s.Apply(ev)
		if err != nil {
			t.Fatal(err)
		}
		ro, err := r.Apply(ev)
		if err != nil {
			t.Fatal(err)
		}
		if so.OK != ro.OK || so.GPA != ro.GPA || so.Value != ro.Value {
			t.Fatalf("event %d %s: shadow %+v, reference %+v", i, ev.Op(), so, ro)
		}
		if i == setup+2 && so.Path != engine.PathTLBHit {
			t.Errorf("read after the first write to a clean page: path %v, want %v (the TLB was emptied)", so.Path, engine.PathTLBHit)
		}
	}
	if got := counter("/PGM/TLB/FlushesAll"); got != flushes {
		t.Errorf("%d full TLB flushes during the accesses, want none", got-flushes)
	}
	if got := counter("/PGM/Pool/Monitor/R3/Handled"); got != mods {
		t.Errorf("%d accessed/dirty updates counted as writes to the page table, want none", got-mods)
	}
	if err := s.Check(); err != nil {
		t.Error(err)
	}
}
