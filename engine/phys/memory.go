package phys

import (
	"slices"
	"sort"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// Range is one declared guest physical range and the descriptors of its
// pages. Callers may read Spec and Pages but must change pages only
// through Memory and the Page setters for handler and tracking bits.
type Range struct {
	Spec  RangeSpec
	Pages []Page
	end   x86.GPA
	used  inUse // the pages not on the zero page (inuse.go)
}

// Range is the address interval the range covers.
func (r *Range) Range() x86.GPARange { return x86.GPARange{Start: r.Spec.Start, End: r.end} }

// Contains reports whether gpa lies in the range.
func (r *Range) Contains(gpa x86.GPA) bool { return gpa >= r.Spec.Start && gpa < r.end }

// Page is the descriptor of the i-th page, nil when i is out of range.
func (r *Range) Page(i int) *Page {
	if i < 0 || i >= len(r.Pages) {
		return nil
	}
	return &r.Pages[i]
}

// GPA is the address of the i-th page.
func (r *Range) GPA(i int) x86.GPA { return r.Spec.Start + x86.GPA(uint64(i)<<x86.PageShift) }

// Index is the page index of gpa within the range.
func (r *Range) Index(gpa x86.GPA) (int, bool) {
	if !r.Contains(gpa) {
		return 0, false
	}
	return int((gpa - r.Spec.Start) >> x86.PageShift), true
}

// MMIO is a device behind MMIO pages. A false result means no device
// answered: reads then see all ones and writes are dropped.
type MMIO interface {
	ReadMMIO(gpa x86.GPA, size int) (uint64, bool)
	WriteMMIO(gpa x86.GPA, size int, v uint64) bool
}

// Observer is told about every change of a page's host frame or state,
// after the change. gpa is the page's (aligned) address. Precondition: an
// observer may read memory but must not change it.
type Observer func(gpa x86.GPA, old, new Page)

// Memory is the guest physical address space. It is not safe for
// concurrent use; the engine drives it from one goroutine.
type Memory struct {
	maxPhys   uint8
	ranges    []*Range // sorted by start, non-overlapping
	last      *Range   // last range Lookup found
	host      *Host
	zeroBytes *[x86.PageSize]byte
	mmio      MMIO
	handler   AccessHandler
	bypass    bool       // set while the paging unit updates A/D bits: no handler sees them
	scratch   [4][8]byte // slow-path access buffers, one per handler nesting level
	depth     int
	observer  Observer
	ptlb      [pageTLBSize]pageTLBEntry
	chunks    chunkMap
	st        Stats // page counts and event counters; the rest is filled by Stats
}

// Stats are the counters of guest physical memory (the seed's
// /PGM/Page/*, /PGM/ChunkR3Map/* and Map TLB counters). Page counts cover
// pages with bytes behind them: MMIO and reserved pages are only in
// AllPages.
type Stats struct {
	AllPages       uint64 // pages in all ranges
	PrivatePages   uint64 // allocated or write-monitored: a frame of their own
	SharedPages    uint64 // copy-on-write on a frame shared with identical pages
	ZeroPages      uint64 // backed by the zero page
	BalloonedPages uint64 // given back to the host
	HostFrames     uint64 // host frames in use, the zero page and other users' frames included
	Chunks         uint64 // allocation chunks created
	ChunksMapped   uint64 // chunks in the mapping cache
	ChunkMapMax    uint64 // cMax
	ChunkUnmaps    uint64 // chunks evicted from the mapping cache
	ChunkTLBHits   uint64
	ChunkTLBMisses uint64
	PageTLBHits    uint64
	PageTLBMisses  uint64
	ReplacedZero   uint64 // a zero page replaced by a private one (first write, ROM load)
	ReplacedShared uint64 // a shared page copied on write
	BalloonWrites  uint64 // a write re-allocated a ballooned page
	AllocFailures  uint64 // writes dropped because the host had no frame left
}

// New returns an empty guest physical address space limited to maxPhys
// address bits (0 means x86.DefaultMaxPhys), with its own Host.
func New(maxPhys uint8) *Memory {
	if maxPhys == 0 {
		maxPhys = x86.DefaultMaxPhys
	}
	m := &Memory{maxPhys: maxPhys, host: NewHost()}
	m.zeroBytes = m.host.Bytes(m.host.ZeroPage())
	m.chunks.init()
	return m
}

// AddRange declares a range (validated by CheckRange). All pages start on
// the zero page (ROM reads zeros until LoadROM); MMIO and reserved pages
// have no backing. It does not touch the descriptors of a RAM range: the
// zero descriptor already says "RAM, zero page", so even 4 GiB of RAM
// costs one zeroed allocation and no loop.
func (m *Memory) AddRange(spec RangeSpec) error {
	specs := make([]RangeSpec, len(m.ranges))
	for i, r := range m.ranges {
		specs[i] = r.Spec
	}
	if err := CheckRange(specs, spec, m.maxPhys); err != nil {
		return err
	}
	n := spec.Size >> x86.PageShift
	r := &Range{Spec: spec, Pages: make([]Page, n), end: spec.Start + x86.GPA(spec.Size)}
	if spec.Type != TypeRAM {
		init := makePage(spec.Type, StateZero, 0)
		for i := range r.Pages {
			r.Pages[i] = init
		}
	}
	at := sort.Search(len(m.ranges), func(i int) bool { return m.ranges[i].Spec.Start > spec.Start })
	m.ranges = slices.Insert(m.ranges, at, r)
	m.st.AllPages += n
	if spec.Type.Backed() {
		m.st.ZeroPages += n
	}
	return nil
}

// Ranges lists the ranges in address order. The slice is a copy; the
// ranges are shared.
func (m *Memory) Ranges() []*Range { return slices.Clone(m.ranges) }

// MaxPhys is the MAXPHYADDR the ranges are checked against.
func (m *Memory) MaxPhys() uint8 { return m.maxPhys }

// Host is the simulated host memory behind the guest; other parts of the
// engine allocate their frames from it too.
func (m *Memory) Host() *Host { return m.host }

// SetMMIO installs the device that answers MMIO accesses (nil: none).
func (m *Memory) SetMMIO(h MMIO) { m.mmio = h }

// SetObserver installs the backing observer (nil: none).
func (m *Memory) SetObserver(fn Observer) { m.observer = fn }

// Lookup finds the descriptor and range of the page holding gpa. The last
// range found is tried first: accesses cluster, and this is the path of
// every page TLB miss.
func (m *Memory) Lookup(gpa x86.GPA) (*Page, *Range, bool) {
	r := m.last
	if r == nil || !r.Contains(gpa) {
		i := sort.Search(len(m.ranges), func(i int) bool { return m.ranges[i].end > gpa })
		if i == len(m.ranges) || !m.ranges[i].Contains(gpa) {
			return nil, nil, false
		}
		r = m.ranges[i]
		m.last = r
	}
	return &r.Pages[(gpa-r.Spec.Start)>>x86.PageShift], r, true
}

// HostAddr is the host address that backs p: the zero page for a page in
// state Zero, its frame when it has one; false for MMIO, reserved and
// ballooned pages.
func (m *Memory) HostAddr(p Page) (x86.HPA, bool) {
	switch {
	case !p.Type().Backed() || p.State() == StateBallooned:
		return 0, false
	case p.Frame() == 0:
		return m.host.ZeroPage(), true
	}
	return x86.HPA(p.Frame() << x86.PageShift), true
}

// Stats returns the counters.
func (m *Memory) Stats() Stats {
	s := m.st
	s.HostFrames = uint64(m.host.InUse())
	s.Chunks = uint64(m.host.Chunks())
	s.ChunksMapped = uint64(len(m.chunks.mapped))
	s.ChunkMapMax = uint64(m.chunks.max)
	s.ChunkUnmaps = m.chunks.unmaps
	s.ChunkTLBHits, s.ChunkTLBMisses = m.chunks.hits, m.chunks.misses
	return s
}

// account adds delta to the page count p belongs to.
func (st *Stats) account(p Page, delta uint64) {
	if !p.Type().Backed() {
		return
	}
	switch p.State() {
	case StateZero:
		st.ZeroPages += delta
	case StateAllocated, StateWriteMonitored:
		st.PrivatePages += delta
	case StateShared:
		st.SharedPages += delta
	case StateBallooned:
		st.BalloonedPages += delta
	}
}

// transition is the one place a page's backing changes: counters, the
// page TLB and the observer all follow it.
func (m *Memory) transition(p *Page, gpa x86.GPA, new Page) {
	old := *p
	m.st.account(old, ^uint64(0))
	*p = new
	m.st.account(new, 1)
	if inUseNeeded(old) != inUseNeeded(new) {
		m.markInUse(gpa, new)
	}
	m.invalidate(gpa)
	if m.observer != nil {
		m.observer(gpa, old, new)
	}
}
