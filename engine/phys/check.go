package phys

import (
	"fmt"
	"slices"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// CheckRange validates spec against the ranges already declared, without
// building anything: page alignment, a non-zero size, no wrap-around, an
// end within MAXPHYADDR, no overlap, and the global limits. Trace readers
// use it to reject a bad header line before any memory exists.
func CheckRange(existing []RangeSpec, spec RangeSpec, maxPhys uint8) error {
	r, ok := x86.MakeRange(spec.Start, spec.Size)
	switch {
	case spec.Type >= typeMax:
		return fmt.Errorf("unknown page type %d", spec.Type)
	case spec.Size == 0:
		return fmt.Errorf("%s range at %#x has size 0", spec.Type, uint64(spec.Start))
	case !x86.IsPageAligned(spec.Start) || spec.Size&x86.PageOffMask != 0:
		return fmt.Errorf("%s range %v is not page aligned (start and size must be multiples of 4K)", spec.Type, r)
	case !ok:
		return fmt.Errorf("%s range at %#x of %#x bytes wraps around the address space", spec.Type, uint64(spec.Start), spec.Size)
	case maxPhys < 64 && uint64(r.End) > 1<<maxPhys:
		return fmt.Errorf("%s range %v ends beyond MAXPHYADDR (%d bits, %s)", spec.Type, r, maxPhys, FormatSize(1<<maxPhys))
	case len(existing) >= MaxRanges:
		return fmt.Errorf("more than %d ranges", MaxRanges)
	}
	total := spec.Size
	for _, e := range existing {
		er, _ := x86.MakeRange(e.Start, e.Size)
		if er.Overlaps(r) {
			name := ""
			if e.Name != "" {
				name = fmt.Sprintf(" %q", e.Name)
			}
			return fmt.Errorf("%s range %v overlaps %s range%s %v", spec.Type, r, e.Type, name, er)
		}
		total += e.Size
	}
	if spec.Size > MaxGuestBytes || total > MaxGuestBytes {
		return fmt.Errorf("%s range of %s brings guest physical memory to %s, above the limit of %s",
			spec.Type, FormatSize(spec.Size), FormatSize(total), FormatSize(MaxGuestBytes))
	}
	return nil
}

// FormatSize prints a byte count with the largest exact binary unit
// (4K, 2M, 1G, 1T, 1P), or in bytes.
func FormatSize(n uint64) string {
	units := []struct {
		shift uint
		name  string
	}{{50, "P"}, {40, "T"}, {30, "G"}, {20, "M"}, {10, "K"}}
	for _, u := range units {
		if n >= 1<<u.shift && n&(1<<u.shift-1) == 0 {
			return fmt.Sprintf("%d%s", n>>u.shift, u.name)
		}
	}
	return fmt.Sprintf("%d", n)
}

// Check recounts guest physical memory from scratch and verifies its
// invariants: ranges sorted and disjoint with one descriptor per page;
// each page's type and state agree with its range; Zero and Ballooned
// pages have no frame; every private page owns a guest frame with one
// reference; every shared frame's reference count equals the pages on
// it; no guest frame leaks; the free list and the in-use count agree; the
// zero page is still all zeros; frozen frames are guest frames and are
// counted; the page counters equal the recount; the
// TLBs and the chunk mapping cache hold no stale entry. It returns the
// first violation found (in address order) or nil.
func (m *Memory) Check() error {
	h := m.host
	// refs[id] counts the pages on frame id; the top bit marks a private page.
	const privateFlag = 1 << 31
	refs := make([]uint32, h.next)
	var recount Stats
	var prev *Range
	for _, r := range m.ranges {
		if err := checkRangeShape(r, prev); err != nil {
			return err
		}
		prev = r
		recount.AllPages += uint64(len(r.Pages))
		if err := checkInUse(r); err != nil {
			return err
		}
		for i, p := range r.Pages {
			if err := checkPage(p, r.Spec.Type); err != nil {
				return fmt.Errorf("page %v: %w", r.GPA(i), err)
			}
			recount.account(p, 1)
			f := p.Frame()
			if f == 0 {
				continue
			}
			if f >= uint64(len(refs)) || h.owner(f) != ownerGuest {
				return fmt.Errorf("page %v (%v): frame is not a guest frame", r.GPA(i), p)
			}
			if p.private() && refs[f] != 0 || refs[f]&privateFlag != 0 {
				return fmt.Errorf("page %v (%v): private frame used by another page", r.GPA(i), p)
			}
			refs[f]++
			if p.private() {
				refs[f] |= privateFlag
			}
		}
	}
	inUse, free, frozen := 0, 0, 0
	for id := uint64(PagesPerChunk); id < uint64(h.next); id++ {
		c, i := h.slot(id)
		owner, n := frameOwner(c.meta[i]>>metaOwnerShift), c.meta[i]&metaRefsMask
		want := refs[id] &^ privateFlag
		if f := c.frozen[i]; f != nil {
			frozen++
			if owner != ownerGuest || f.b != c.bytes[i] || uint64(f.id) != id {
				return fmt.Errorf("host frame %#x is frozen but is not a guest frame sharing its bytes", id)
			}
		}
		switch {
		case owner == ownerFree:
			free++
			if c.meta[i] != 0 || c.bytes[i] != nil {
				return fmt.Errorf("host frame %#x is free but has refs or bytes", id)
			}
			continue
		case c.bytes[i] == nil || n == 0:
			return fmt.Errorf("host frame %#x is in use without bytes or refs", id)
		case owner == ownerZero && id != uint64(h.zero):
			return fmt.Errorf("host frame %#x claims to be the zero page", id)
		case owner == ownerGuest && n != want:
			return fmt.Errorf("host frame %#x has %d references, %d guest pages use it", id, n, want)
		}
		inUse++
	}
	switch {
	case inUse != h.inUse || free != len(h.free):
		return fmt.Errorf("host: %d frames in use and %d free, counters say %d and %d", inUse, free, h.inUse, len(h.free))
	case frozen != h.frozen:
		return fmt.Errorf("host: %d frames frozen, the counter says %d", frozen, h.frozen)
	case h.owner(uint64(h.zero)) != ownerZero:
		return fmt.Errorf("host: the zero page %#x lost its owner", h.zero)
	case *m.zeroBytes != [x86.PageSize]byte{}:
		return fmt.Errorf("host: the zero page is not all zeros")
	}
	got := Stats{AllPages: m.st.AllPages, PrivatePages: m.st.PrivatePages, SharedPages: m.st.SharedPages,
		ZeroPages: m.st.ZeroPages, BalloonedPages: m.st.BalloonedPages}
	if got != recount {
		return fmt.Errorf("page counters %+v, recount %+v", got, recount)
	}
	return m.checkTLBs()
}

// checkInUse compares a range's set of pages in use with its pages.
func checkInUse(r *Range) error {
	n, next := 0, 0
	var bad error
	r.EachInUse(func(i int) {
		for ; next < i && bad == nil; next++ {
			if inUseNeeded(r.Pages[next]) {
				bad = fmt.Errorf("page %v (%v) is missing from the range's pages in use", r.GPA(next), r.Pages[next])
			}
		}
		if bad == nil && !inUseNeeded(r.Pages[i]) {
			bad = fmt.Errorf("page %v (%v) is among the range's pages in use", r.GPA(i), r.Pages[i])
		}
		next, n = i+1, n+1
	})
	for ; next < len(r.Pages) && bad == nil; next++ {
		if inUseNeeded(r.Pages[next]) {
			bad = fmt.Errorf("page %v (%v) is missing from the range's pages in use", r.GPA(next), r.Pages[next])
		}
	}
	if bad == nil && n != r.used.n {
		bad = fmt.Errorf("range %v: %d pages in use, the count says %d", r.Range(), n, r.used.n)
	}
	return bad
}

func checkRangeShape(r, prev *Range) error {
	s := r.Spec
	switch {
	case s.Type >= typeMax || s.Size == 0 || !x86.IsPageAligned(s.Start) || s.Size&x86.PageOffMask != 0:
		return fmt.Errorf("range %q %v: bad spec", s.Name, r.Range())
	case r.end != s.Start+x86.GPA(s.Size) || r.end <= s.Start:
		return fmt.Errorf("range %q: end %v does not match start %v size %#x", s.Name, r.end, s.Start, s.Size)
	case uint64(len(r.Pages)) != s.Size>>x86.PageShift:
		return fmt.Errorf("range %q %v: %d descriptors for %d pages", s.Name, r.Range(), len(r.Pages), s.Size>>x86.PageShift)
	case prev != nil && prev.end > s.Start:
		return fmt.Errorf("range %q %v overlaps or precedes %q %v", s.Name, r.Range(), prev.Spec.Name, prev.Range())
	}
	return nil
}

// checkPage verifies one descriptor against the type of its range.
func checkPage(p Page, t PageType) error {
	s := p.State()
	var okStates []PageState
	switch t {
	case TypeRAM:
		okStates = []PageState{StateZero, StateAllocated, StateWriteMonitored, StateShared, StateBallooned}
	case TypeMMIO2, TypeROMShadow:
		okStates = []PageState{StateZero, StateAllocated, StateWriteMonitored}
	case TypeROM:
		okStates = []PageState{StateZero, StateAllocated}
	default:
		okStates = []PageState{StateZero}
	}
	switch {
	case p&spareBit != 0:
		return fmt.Errorf("%v: spare bit set", p)
	case p.Type() != t:
		return fmt.Errorf("%v in a %v range", p, t)
	case !slices.Contains(okStates, s):
		return fmt.Errorf("%v: state not allowed for the type", p)
	case (s == StateZero || s == StateBallooned) != (p.Frame() == 0):
		return fmt.Errorf("%v: frame does not match the state", p)
	case p.WrittenTo() && s != StateAllocated:
		return fmt.Errorf("%v: written-to outside the allocated state", p)
	}
	return nil
}
