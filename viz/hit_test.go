package viz

import (
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// TestHitTest points at places of golden frames (the pictures in
// testdata/golden show them) and checks what is there: entries of each
// hierarchy, guest pages, pool pages, linear slots, walk levels,
// counters, log lines and the timeline.
func TestHitTest(t *testing.T) {
	type probe struct {
		x, y int
		want HitID // Kind HitNone: nothing there
	}
	entry := func(h Hier, lv x86.LevelKind, table uint64, index int, addr uint64) HitID {
		return HitID{Kind: HitEntry, Hier: h, Level: lv, Table: table, Index: index, Addr: addr}
	}
	tests := []struct {
		golden string
		probes []probe
	}{
		{"32bit-hierarchy", []probe{
			{452, 156, entry(HierGuest, x86.LevelPD, 0x180000, 0, 0)},
			{452, 192, entry(HierGuest, x86.LevelPD, 0x180000, 768, 0xc0000000)},
			// The gap after a cell belongs to it.
			{447 + 23, 192, entry(HierGuest, x86.LevelPD, 0x180000, 768, 0xc0000000)},
			{447 + 24, 192, entry(HierGuest, x86.LevelPD, 0x180000, 769, 0xc0400000)},
			// A 32-bit page table of 1024 entries, its rows folded:
			// the second block starts at entry 224.
			{869 + 12*5 + 3, 217 + 12*2 + 3, entry(HierGuest, x86.LevelPT, 0x181000, 293, 0xc0125000)},
			{25 + 26*3 + 5, 459, entry(HierShadow, x86.LevelPDPT, 0x14d000, 3, 0xc0000000)},
			{447 + 24 + 5, 459, entry(HierShadow, x86.LevelPD, 0x14a000, 1, 0xc0200000)},
			{16 + 624, 770, HitID{Kind: HitTimeline, Event: 286}},
			{20, 80, HitID{}},   // the panel's title
			{300, 300, HitID{}}, // between tables
		}},
		{"long-overview", []probe{
			// Long mode: addresses are sign-extended.
			{26, 326, entry(HierShadow, x86.LevelPML4, 0x14d000, 256, 0xffff800000000000)},
			{202 + 9*2 + 1, 152, entry(HierGuest, x86.LevelPDPT, 0x301000, 2, 0x80000000)},
			{800, 170, HitID{Kind: HitWalkLevel, Hier: HierGuest, Level: x86.LevelPML4, Index: 256}},
			{16 + 3*10 + 1, 568 + 3*2 + 1, HitID{Kind: HitGuestPage, Addr: 0x20a000, Count: 1}},
			{478 + 6*2 + 1, 557 + 6 + 1, HitID{Kind: HitPoolPage, Index: 60}},
			{900, 524, HitID{Kind: HitCounter, Name: "/PGM/R3/Page/MapTlbHits"}}, // the busiest first,
			{900, 660, HitID{Kind: HitOutcome, Event: 68, Addr: 0x200010}},
			{900, 680, HitID{}}, // a label line answers nothing
		}},
		{"nested-hierarchy", []probe{
			{781 + 14*3 + 2, 394, entry(HierNested, x86.LevelPT, 0x149000, 419, 0x5a3000)},
			{22 + 14*15 + 2, 205, entry(HierGuest, x86.LevelPML4, 0x188000, 511, 0xffffff8000000000)},
			{530, 373, entry(HierNested, x86.LevelPD, 0x14b000, 0, 0)},
		}},
		{"mappings-intermediate", []probe{
			{92, 183, HitID{Kind: HitLinear, Index: 0, Addr: 0}},
			{390, 525, HitID{Kind: HitLinear, Index: 1019, Addr: 0xfec00000, Name: "hma"}},
			{401, 525, HitID{Kind: HitLinear, Index: 1020, Addr: 0xff000000, Name: "hma"}},
			{412, 525, HitID{Kind: HitLinear, Index: 1021, Addr: 0xff400000}},
			{889 + 10*6 + 2, 452, entry(HierIntermediate, x86.LevelPD, 0x10f000, 502, 0xfec00000)},
			{1092, 447, entry(HierIntermediate, x86.LevelPT, 0x102000, 0, 0xfec00000)},
		}},
		{"long-memory-devices", []probe{
			{19, 751, HitID{Kind: HitGuestPage, Addr: 0xfe000000, Count: 1}}, // the UART's MMIO page
			{17, 188 + 18 + 1, HitID{Kind: HitGuestPage, Addr: 0x180000, Count: 1}},
			{758, 151, HitID{Kind: HitPoolPage, Index: 1}},
			{757 + 8*33 + 1, 150 + 8*30 + 1, HitID{}}, // past the pool's last page
		}},
	}
	for _, tc := range tests {
		t.Run(tc.golden, func(t *testing.T) {
			var sc scenario
			for _, g := range goldens {
				if g.name == tc.golden {
					sc = g
				}
			}
			if sc.name == "" {
				t.Fatalf("no golden %q", tc.golden)
			}
			m := replay(t, sc)
			var l List
			Layout(m, &l)
			for _, p := range tc.probes {
				got, ok := l.HitTest(p.x, p.y)
				if ok != (p.want.Kind != HitNone) || got != p.want {
					t.Errorf("HitTest(%d, %d) = %v, %v; want %v", p.x, p.y, got, ok, p.want)
				}
			}
		})
	}
}

// TestHitTestRegions checks the region arithmetic alone.
func TestHitTestRegions(t *testing.T) {
	var l List
	l.Reset(1024, 640)
	l.Hit(R(0, 0, 100, 100), HitID{Kind: HitCounter, Name: "/PGM/a"})
	l.HitGrid(10, 10, 4, 10, 5, 1, 0x1000, HitID{Kind: HitEntry, Index: 100, Addr: 0x10000})
	l.HitGridVA(200, 0, 2, 4, 10, 1<<39, 48, HitID{Kind: HitEntry, Index: 254, Addr: 254 << 39})
	l.HitSpan(R(0, 600, 1000, 20), 50, 1, HitID{Kind: HitTimeline})
	l.Hit(R(500, 0, 0, 10), HitID{Kind: HitCounter, Name: "empty"}) // adds nothing
	for _, tc := range []struct {
		x, y int
		want HitID
		ok   bool
	}{
		{10, 10, HitID{Kind: HitEntry, Index: 100, Addr: 0x10000}, true},
		{29, 14, HitID{Kind: HitEntry, Index: 103, Addr: 0x13000}, true},
		{11, 16, HitID{Kind: HitEntry, Index: 104, Addr: 0x14000}, true},
		{16, 21, HitID{Kind: HitEntry, Index: 109, Addr: 0x19000}, true},
		// Row 2 holds 2 of 4 cells: the third falls through to the
		// region underneath.
		{21, 21, HitID{Kind: HitCounter, Name: "/PGM/a"}, true},
		{99, 99, HitID{Kind: HitCounter, Name: "/PGM/a"}, true},
		{100, 99, HitID{}, false},
		// Entry 256 of a PML4 covers the first non-canonical half.
		{201, 11, HitID{Kind: HitEntry, Index: 256, Addr: 0xffff800000000000}, true},
		{0, 600, HitID{Kind: HitTimeline, Event: 0}, true},
		{999, 619, HitID{Kind: HitTimeline, Event: 49}, true},
		{500, 5, HitID{}, false},
	} {
		got, ok := l.HitTest(tc.x, tc.y)
		if ok != tc.ok || got != tc.want {
			t.Errorf("HitTest(%d, %d) = %v, %v; want %v, %v", tc.x, tc.y, got, ok, tc.want, tc.ok)
		}
	}
}

// TestPageKindTables checks the memory map's shortcuts against the
// descriptors' own accessors.
func TestPageKindTables(t *testing.T) {
	for _, st := range []phys.HandlerState{phys.HandlerNone, phys.HandlerDisabled, phys.HandlerWrite, phys.HandlerAll} {
		var p, v phys.Page
		p.SetPhysHandler(st)
		v.SetVirtHandler(st)
		if got, want := p&physWriteBit != 0, p.PhysHandler() >= phys.HandlerWrite; got != want {
			t.Errorf("physical handler %v: bit %v, want %v", st, got, want)
		}
		if got, want := v&virtWriteBit != 0, v.VirtHandler() >= phys.HandlerWrite; got != want {
			t.Errorf("virtual handler %v: bit %v, want %v", st, got, want)
		}
	}
	// The tables index by bits 36-41: type, then state.
	for k := 0; k < 64; k++ {
		p := phys.Page(k) << 36
		if p.Type() != phys.PageType(k&7) || p.State() != phys.PageState(k>>3) {
			t.Fatalf("bits 36-41 = %d read as type %v, state %v", k, p.Type(), p.State())
		}
	}
}
