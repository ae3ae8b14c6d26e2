package phys

import (
	"testing"
	"unsafe"
)

func TestPageSize(t *testing.T) {
	if got := unsafe.Sizeof(Page(0)); got != 8 {
		t.Fatalf("sizeof(Page) = %d, want 8", got)
	}
}

// TestPageLayout pins every field's bit position: saved states and the
// tracking encoding shared with the pool depend on it.
func TestPageLayout(t *testing.T) {
	tests := []struct {
		name string
		set  func(*Page)
		want Page
	}{
		{"frame", func(p *Page) { *p = makePage(TypeRAM, StateZero, 1<<36-1) }, 0x0000_000f_ffff_ffff},
		{"type", func(p *Page) { *p = makePage(TypeReserved, StateZero, 0) }, 5 << 36},
		{"state", func(p *Page) { *p = makePage(TypeRAM, StateBallooned, 0) }, 4 << 39},
		{"phys handler", func(p *Page) { p.SetPhysHandler(HandlerAll) }, 3 << 42},
		{"virt handler", func(p *Page) { p.SetVirtHandler(HandlerWrite) }, 2 << 44},
		{"written-to", func(p *Page) { *p = p.withBacking(StateAllocated, 0) | writtenBit }, 1<<39 | 1<<46},
		{"tracking refs", func(p *Page) { p.SetTracking(MakeTracking(TrackRefsPhysExt, 0)) }, 3 << 62},
		{"tracking index", func(p *Page) { p.SetTracking(MakeTracking(1, TrackIdxOverflowed)) }, 1<<62 | 0x3fff<<48},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p Page
			tt.set(&p)
			if p != tt.want {
				t.Errorf("got %#016x, want %#016x", uint64(p), uint64(tt.want))
			}
		})
	}
}

func TestPageZeroValue(t *testing.T) {
	var p Page
	if p.Type() != TypeRAM || p.State() != StateZero || p.Frame() != 0 || p.Handler() != HandlerNone ||
		p.Tracking() != 0 || p.WrittenTo() {
		t.Errorf("zero Page = %v, want RAM zero with nothing else", p)
	}
}

func TestPageFields(t *testing.T) {
	p := makePage(TypeMMIO2, StateShared, 0x123456789)
	p.SetPhysHandler(HandlerWrite)
	p.SetVirtHandler(HandlerAll)
	p.SetTracking(0xbeef)
	checks := []struct {
		name      string
		got, want any
	}{
		{"type", p.Type(), TypeMMIO2},
		{"state", p.State(), StateShared},
		{"frame", p.Frame(), uint64(0x123456789)},
		{"phys", p.PhysHandler(), HandlerWrite},
		{"virt", p.VirtHandler(), HandlerAll},
		{"handler", p.Handler(), HandlerAll},
		{"tracking", p.Tracking(), uint16(0xbeef)},
		{"track refs", TrackRefs(p.Tracking()), uint16(2)},
		{"track index", TrackIndex(p.Tracking()), uint16(0x3eef)},
		{"string", p.String(), "MMIO2 shared frame=0x123456789 phys=write virt=all track=2/0x3eef"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	// A new backing keeps handlers and tracking and clears written-to.
	q := (p | writtenBit).withBacking(StateAllocated, 7)
	if q.Frame() != 7 || q.State() != StateAllocated || q.WrittenTo() || q.Handler() != HandlerAll ||
		q.PhysHandler() != HandlerWrite || q.Tracking() != 0xbeef || q.Type() != TypeMMIO2 {
		t.Errorf("withBacking = %v", q)
	}
	p.SetPhysHandler(HandlerNone)
	if p.PhysHandler() != HandlerNone || p.VirtHandler() != HandlerAll {
		t.Errorf("clearing the physical handler touched the virtual one: %v", p)
	}
}

func TestPageWritable(t *testing.T) {
	tests := []struct {
		p    Page
		want bool
	}{
		{makePage(TypeRAM, StateAllocated, 1), true},
		{makePage(TypeMMIO2, StateAllocated, 1), true},
		{makePage(TypeROMShadow, StateAllocated, 1), true},
		{makePage(TypeROM, StateAllocated, 1), false},
		{makePage(TypeRAM, StateZero, 0), false},
		{makePage(TypeRAM, StateShared, 1), false},
		{makePage(TypeRAM, StateWriteMonitored, 1), false},
		{makePage(TypeRAM, StateBallooned, 0), false},
		{makePage(TypeMMIO, StateZero, 0), false},
	}
	for _, tt := range tests {
		t.Run(tt.p.String(), func(t *testing.T) {
			if got := tt.p.Writable(); got != tt.want {
				t.Errorf("Writable = %v, want %v", got, tt.want)
			}
		})
	}
}
