package x86_test

import (
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

const maxU64 = ^uint64(0)

func gr(s, e x86.GPA) x86.GPARange { return x86.GPARange{Start: s, End: e} }

func TestPageHelpers(t *testing.T) {
	for _, c := range []struct {
		name    string
		a       x86.GVA
		down    x86.GVA
		up      x86.GVA
		upOK    bool
		off     uint64
		aligned bool
		pn      uint64
	}{
		{"zero", 0, 0, 0, true, 0, true, 0},
		{"one", 1, 0, 0x1000, true, 1, false, 0},
		{"page", 0x1000, 0x1000, 0x1000, true, 0, true, 1},
		{"last-byte-of-page", 0x1fff, 0x1000, 0x2000, true, 0xfff, false, 1},
		{"top-page", x86.GVA(maxU64 &^ 0xfff), x86.GVA(maxU64 &^ 0xfff), x86.GVA(maxU64 &^ 0xfff), true, 0, true, maxU64 >> 12},
		{"top-page+1-overflows", x86.GVA(maxU64&^0xfff + 1), x86.GVA(maxU64 &^ 0xfff), 0, false, 1, false, maxU64 >> 12},
		{"max-overflows", x86.GVA(maxU64), x86.GVA(maxU64 &^ 0xfff), 0, false, 0xfff, false, maxU64 >> 12},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := x86.PageDown(c.a); got != c.down {
				t.Errorf("PageDown = %v, want %v", got, c.down)
			}
			up, ok := x86.PageUp(c.a)
			if ok != c.upOK || (ok && up != c.up) {
				t.Errorf("PageUp = %v, %v; want %v, %v", up, ok, c.up, c.upOK)
			}
			if got := x86.PageOffset(c.a); got != c.off {
				t.Errorf("PageOffset = %#x, want %#x", got, c.off)
			}
			if got := x86.IsPageAligned(c.a); got != c.aligned {
				t.Errorf("IsPageAligned = %v, want %v", got, c.aligned)
			}
			if got := x86.PageNumber(c.a); got != c.pn {
				t.Errorf("PageNumber = %#x, want %#x", got, c.pn)
			}
		})
	}
}

func TestAddLength(t *testing.T) {
	for _, c := range []struct {
		name string
		a    x86.GPA
		n    uint64
		end  x86.GPA
		ok   bool
	}{
		{"zero", 0, 0, 0, true},
		{"simple", 0x1000, 0x1000, 0x2000, true},
		{"to-max", 0, maxU64, x86.GPA(maxU64), true},
		{"max+0", x86.GPA(maxU64), 0, x86.GPA(maxU64), true},
		{"max+1-wraps", x86.GPA(maxU64), 1, 0, false},
		{"end-at-2^64-wraps", x86.GPA(maxU64 &^ 0xfff), 0x1000, 0, false},
		{"huge-wraps", 2, maxU64, 1, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			end, ok := x86.AddLength(c.a, c.n)
			if ok != c.ok || end != c.end {
				t.Errorf("AddLength(%v, %#x) = %v, %v; want %v, %v", c.a, c.n, end, ok, c.end, c.ok)
			}
			r, ok := x86.MakeRange(c.a, c.n)
			if ok != c.ok || (ok && (r.Start != c.a || r.End != c.end)) {
				t.Errorf("MakeRange = %v, %v; want ok=%v", r, ok, c.ok)
			}
		})
	}
}

func TestAddrString(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{x86.GVA(0xdead000).String(), "0xdead000"},
		{x86.GPA(0).String(), "0x0"},
		{x86.HPA(0xfee00000).String(), "0xfee00000"},
		{gr(0x1000, 0x2000).String(), "[0x1000, 0x2000)"},
		{x86.GVARange{}.String(), "[0x0, 0x0)"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func TestRange(t *testing.T) {
	r := gr(0x1000, 0x3000)
	for _, c := range []struct {
		name      string
		o         x86.GPARange
		overlaps  bool
		contains  bool         // r.ContainsRange(o)
		intersect x86.GPARange // compared only when non-empty
		interLen  uint64
	}{
		{"same", gr(0x1000, 0x3000), true, true, gr(0x1000, 0x3000), 0x2000},
		{"inside", gr(0x1800, 0x2000), true, true, gr(0x1800, 0x2000), 0x800},
		{"left-touch", gr(0, 0x1000), false, false, gr(0, 0), 0},
		{"right-touch", gr(0x3000, 0x4000), false, false, gr(0, 0), 0},
		{"left-overlap-1", gr(0, 0x1001), true, false, gr(0x1000, 0x1001), 1},
		{"right-overlap-1", gr(0x2fff, 0x4000), true, false, gr(0x2fff, 0x3000), 1},
		{"covering", gr(0, 0x10000), true, false, gr(0x1000, 0x3000), 0x2000},
		{"disjoint-far", gr(0x8000, 0x9000), false, false, gr(0, 0), 0},
		{"empty-inside", gr(0x2000, 0x2000), false, false, gr(0, 0), 0},
		{"inverted", gr(0x2800, 0x1800), false, false, gr(0, 0), 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := r.Overlaps(c.o); got != c.overlaps {
				t.Errorf("Overlaps = %v, want %v", got, c.overlaps)
			}
			if got := c.o.Overlaps(r); got != c.overlaps {
				t.Errorf("reverse Overlaps = %v, want %v", got, c.overlaps)
			}
			if got := r.ContainsRange(c.o); got != c.contains {
				t.Errorf("ContainsRange = %v, want %v", got, c.contains)
			}
			in := r.Intersect(c.o)
			if in.Len() != c.interLen || in.Empty() != (c.interLen == 0) {
				t.Errorf("Intersect = %v (len %#x, empty %v), want len %#x", in, in.Len(), in.Empty(), c.interLen)
			}
			if c.interLen != 0 && in != c.intersect {
				t.Errorf("Intersect = %v, want %v", in, c.intersect)
			}
			if c.overlaps != !in.Empty() {
				t.Errorf("Overlaps %v disagrees with Intersect %v", c.overlaps, in)
			}
		})
	}
	for _, c := range []struct {
		a    x86.GPA
		want bool
	}{{0xfff, false}, {0x1000, true}, {0x2fff, true}, {0x3000, false}} {
		if got := r.Contains(c.a); got != c.want {
			t.Errorf("Contains(%v) = %v, want %v", c.a, got, c.want)
		}
	}
	if r.Last() != 0x2fff || r.Len() != 0x2000 || r.Empty() {
		t.Errorf("Last/Len/Empty = %v/%#x/%v", r.Last(), r.Len(), r.Empty())
	}
	empty := gr(0x5000, 0x5000)
	if empty.Contains(0x5000) || !empty.Empty() || empty.Len() != 0 {
		t.Errorf("empty range: Contains=%v Empty=%v Len=%#x", empty.Contains(0x5000), empty.Empty(), empty.Len())
	}
	// An inverted range holds nothing: its length must be 0, not a wrapped
	// difference.
	inv := gr(0x3000, 0x1000)
	if !inv.Empty() || inv.Len() != 0 || inv.Contains(0x2000) {
		t.Errorf("inverted range: Empty=%v Len=%#x Contains=%v", inv.Empty(), inv.Len(), inv.Contains(0x2000))
	}
	top, ok := x86.MakeRange(x86.GPA(maxU64&^0xfff), 0xfff)
	if !ok || !top.Contains(x86.GPA(maxU64-1)) || top.Contains(x86.GPA(maxU64)) {
		t.Errorf("top range %v ok=%v", top, ok)
	}
}
