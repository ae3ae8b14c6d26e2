// Package x86 describes x86 paging as data: address types, page-table
// entries, paging modes as tables of levels, and one walker that serves
// 32-bit, PAE, long-mode (4- and 5-level) guest page tables.
//
// The package knows nothing about shadow paging or hypervisors: it models
// what the processor does. Callers may rely on the walker being
// deterministic and allocation-free, and on every fault carrying the exact
// #PF error code the processor would push.
package x86

import "fmt"

// PageShift and PageSize describe the 4 KiB base page.
const (
	PageShift          = 12
	PageSize    uint64 = 1 << PageShift
	PageOffMask uint64 = PageSize - 1
)

// GVA is a guest virtual (linear) address.
type GVA uint64

// GPA is a guest physical address.
type GPA uint64

// HPA is a host physical address (simulated: host frames come from the
// engine's own allocator).
type HPA uint64

// Addr is the set of address types. Functions generic over Addr cannot mix
// one kind with another: a GVA never silently becomes a GPA.
type Addr interface {
	~uint64
}

// PageDown rounds a down to its page boundary.
func PageDown[A Addr](a A) A { return a &^ A(PageOffMask) }

// PageUp rounds a up to a page boundary; ok is false on overflow.
func PageUp[A Addr](a A) (up A, ok bool) {
	up = (a + A(PageOffMask)) &^ A(PageOffMask)
	return up, up >= a
}

// PageOffset is the offset of a within its page.
func PageOffset[A Addr](a A) uint64 { return uint64(a) & PageOffMask }

// IsPageAligned reports whether a is on a page boundary.
func IsPageAligned[A Addr](a A) bool { return uint64(a)&PageOffMask == 0 }

// AddLength returns a+n and whether the sum did not wrap.
func AddLength[A Addr](a A, n uint64) (end A, ok bool) {
	end = a + A(n)
	return end, uint64(end) >= uint64(a)
}

// PageNumber is the frame or page number of a (a >> 12).
func PageNumber[A Addr](a A) uint64 { return uint64(a) >> PageShift }

func (a GVA) String() string { return fmt.Sprintf("%#x", uint64(a)) }
func (a GPA) String() string { return fmt.Sprintf("%#x", uint64(a)) }
func (a HPA) String() string { return fmt.Sprintf("%#x", uint64(a)) }

// Range is the half-open interval [Start, End) of one address kind.
// End == 0 with Start > 0 is not representable: ranges never wrap.
type Range[A Addr] struct {
	Start, End A
}

// MakeRange builds [start, start+size); ok is false when it would wrap.
func MakeRange[A Addr](start A, size uint64) (r Range[A], ok bool) {
	end, ok := AddLength(start, size)
	return Range[A]{start, end}, ok
}

// Len is the number of bytes in r. An empty range, including one built
// with End < Start, has length 0: the bare difference would wrap to a
// huge count and disagree with Empty.
func (r Range[A]) Len() uint64 {
	if r.Empty() {
		return 0
	}
	return uint64(r.End - r.Start)
}

// Empty reports whether r holds no byte.
func (r Range[A]) Empty() bool { return r.End <= r.Start }

// Contains reports whether a lies in r.
func (r Range[A]) Contains(a A) bool { return a >= r.Start && a < r.End }

// ContainsRange reports whether o lies entirely in r.
func (r Range[A]) ContainsRange(o Range[A]) bool {
	return o.Start >= r.Start && o.End <= r.End && !o.Empty()
}

// Overlaps reports whether r and o share at least one byte.
func (r Range[A]) Overlaps(o Range[A]) bool {
	return r.Start < o.End && o.Start < r.End && !r.Empty() && !o.Empty()
}

// Intersect is the common part of r and o (empty when they do not overlap).
func (r Range[A]) Intersect(o Range[A]) Range[A] {
	s, e := max(r.Start, o.Start), min(r.End, o.End)
	if e < s {
		e = s
	}
	return Range[A]{s, e}
}

// Last is the last byte of a non-empty range.
func (r Range[A]) Last() A { return r.End - 1 }

func (r Range[A]) String() string {
	return fmt.Sprintf("[%#x, %#x)", uint64(r.Start), uint64(r.End))
}

// Type aliases for the three range kinds.
type (
	GVARange = Range[GVA]
	GPARange = Range[GPA]
	HPARange = Range[HPA]
)
