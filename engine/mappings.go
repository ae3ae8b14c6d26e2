package engine

import (
	"errors"
	"fmt"
	"sort"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// Guest-context (hypervisor) mappings: the hypervisor's own area, mapped
// into the guest's linear space in 4 MiB units so that the world switch
// and the hypervisor run in the guest's address space. They live below
// 4 GiB in every guest mode. Floating mappings move when the guest puts a
// page table where they are (a conflict), so the guest never notices
// them; fixed ones (a range the guest promised to leave alone) stay, and
// a guest access there is reflected as a page fault.

const mapUnit = 4 << 20 // a mapping grows in 4 MiB steps (one 32-bit PDE)

// MappingSpec declares a hypervisor mapping.
type MappingSpec struct {
	Name string
	Size uint64 // 2 MiB to 64 MiB; rounded up to 4 MiB
}

// Errors of mapping operations.
var (
	ErrMappingSize      = errors.New("a mapping is 2 MiB to 64 MiB")
	ErrNoMappingSpace   = errors.New("no free place for the hypervisor mappings")
	ErrMappingsFixRange = errors.New("the fixed range is not 4 MiB aligned, too small, or used by the guest")
)

// hostTable is a page table of the hypervisor's own (mappings and the
// intermediate context): a host page and its entries.
type hostTable struct {
	hpa  x86.HPA
	ents []x86.Entry
}

// Mapping is one hypervisor mapping.
type Mapping struct {
	Name string
	Size uint64  // multiple of 4 MiB
	Base x86.GVA // 4 MiB aligned, below 4 GiB
	pt32 []*hostTable
	pae  []*hostTable // two per 4 MiB
}

// Range is the linear range the mapping occupies.
func (m *Mapping) Range() x86.GVARange {
	return x86.GVARange{Start: m.Base, End: m.Base + x86.GVA(m.Size)}
}

// hyperHPA is where the hypervisor area's own pages sit in the simulated
// host: below 4 GiB, as the intermediate context requires, and apart from
// the frames the host allocator hands out.
const hyperHPA = 0xe0000000

type mappings struct {
	list    []*Mapping // sorted by Base
	fixed   bool
	fixBase x86.GVA
	fixSize uint64
	hyper   uint64 // next hypervisor page address
}

func (s *Shadow) newHostTable(n int) *hostTable {
	hpa, err := s.mem.Host().Alloc()
	if err != nil {
		hpa = 0
	}
	return &hostTable{hpa: hpa, ents: make([]x86.Entry, n)}
}

// initMappings creates the configured mappings and places them from the
// top of the 32-bit space down, as the original's finalisation did.
func (s *Shadow) initMappings() error {
	for _, spec := range s.cfg.Mappings {
		if spec.Size < 2<<20 || spec.Size > 64<<20 {
			return fmt.Errorf("mapping %q of %d bytes: %w", spec.Name, spec.Size, ErrMappingSize)
		}
		m := &Mapping{Name: spec.Name, Size: (spec.Size + mapUnit - 1) &^ (mapUnit - 1)}
		for i := uint64(0); i < m.Size/mapUnit; i++ {
			pt := s.newHostTable(1024)
			pa, pb := s.newHostTable(512), s.newHostTable(512)
			for k := range pt.ents {
				page := s.maps.hyper + hyperHPA
				s.maps.hyper += x86.PageSize
				pt.ents[k] = x86.Entry(page) | x86.Entry(x86.P|x86.RW|x86.A|x86.D)
				half := pa
				if k >= 512 {
					half = pb
				}
				half.ents[k%512] = pt.ents[k]
			}
			m.pt32 = append(m.pt32, pt)
			m.pae = append(m.pae, pa, pb)
		}
		top := x86.GVA(0xffc00000) // the last 4 MiB stay free, as in the original
		for _, o := range s.maps.list {
			top = min(top, o.Base)
		}
		if uint64(top) < m.Size+mapUnit {
			return fmt.Errorf("mapping %q: %w", m.Name, ErrNoMappingSpace)
		}
		m.Base = top - x86.GVA(m.Size)
		s.maps.list = append(s.maps.list, m)
	}
	s.sortMappings()
	return nil
}

func (s *Shadow) sortMappings() {
	sort.Slice(s.maps.list, func(i, j int) bool { return s.maps.list[i].Base < s.maps.list[j].Base })
}

// Mappings lists the hypervisor mappings in address order.
func (s *Shadow) Mappings() []*Mapping { return s.maps.list }

// MappingsFixed reports whether the mappings are fixed, and where.
func (s *Shadow) MappingsFixed() (bool, x86.GVARange) {
	return s.maps.fixed, x86.GVARange{Start: s.maps.fixBase, End: s.maps.fixBase + x86.GVA(s.maps.fixSize)}
}

// mappingsActive reports whether mappings take part in this guest's
// address space: shadow paging with a paging guest.
func (s *Shadow) mappingsActive() bool {
	return len(s.maps.list) > 0 && s.paging == PagingShadow && s.format.Mode.Paging()
}

// mappingAt is the mapping containing va, or nil.
func (s *Shadow) mappingAt(va x86.GVA) *Mapping {
	if !s.mappingsActive() || va >= 1<<32 {
		return nil
	}
	for _, m := range s.maps.list {
		if m.Range().Contains(va) {
			return m
		}
	}
	return nil
}

// guestUses reports whether the guest has a present page-directory entry
// anywhere in [va, va+size): its own page tables there conflict.
func (s *Shadow) guestUses(va x86.GVA, size uint64) bool { return s.guestUsesIn(s.mem, va, size) }

// guestUsesIn is guestUses reading the guest tables through mem: the
// engine's memory (its reads are counted, like the original's) or, for
// the checker, its peeker.
func (s *Shadow) guestUsesIn(mem x86.Memory, va x86.GVA, size uint64) bool {
	pd := s.format.N - 2 // the page-directory step
	var w x86.Walk
	for a := va; a < va+x86.GVA(size); a += x86.GVA(2 << 20) {
		s.format.Walk(mem, s.regs.Root(), a, x86.Access{Kind: x86.Read}, &w)
		if w.N > pd && w.Steps[pd].Entry.Present() {
			return true
		}
	}
	return false
}

// resolveConflicts relocates floating mappings the guest now uses
// (SyncCR3's check, and the #PF handler's for conflicts it finds later).
// It reports whether anything moved.
func (s *Shadow) resolveConflicts() bool {
	if !s.mappingsActive() || s.maps.fixed {
		return false
	}
	moved := false
	for _, m := range append([]*Mapping(nil), s.maps.list...) {
		if !s.guestUses(m.Base, m.Size) {
			continue
		}
		s.st.DetectedConflicts.Inc()
		if s.relocate(m) {
			moved = true
		}
	}
	if moved && s.touch != nil {
		s.touch.full = true // mapping entries move in every address space
	}
	return moved
}

// relocate moves m to the highest free place below 4 GiB: guest page
// directory entries not present, no other mapping, not the intermediate
// context's identity mapping.
func (s *Shadow) relocate(m *Mapping) bool {
	p := s.st.ResolveConflict.Begin()
	defer s.st.ResolveConflict.End(p)
	for base := x86.GVA(0xffc00000) - x86.GVA(m.Size); base >= mapUnit; base -= mapUnit {
		r := x86.GVARange{Start: base, End: base + x86.GVA(m.Size)}
		free := !s.inter.overlaps(r)
		for _, o := range s.maps.list {
			if o != m && o.Range().Overlaps(r) {
				free = false
			}
		}
		if !free || s.guestUses(base, m.Size) {
			continue
		}
		s.unmapHyper(m)
		m.Base = base
		s.sortMappings()
		s.mapHyper(m)
		s.inter.update(s)
		s.tlb.flushAll()
		return true
	}
	return false
}

// MappingsFix fixes the mappings at [base, base+size), packed in list
// order (PGMR3MappingsFix): the range must be 4 MiB aligned, big enough,
// and free of guest page tables.
func (s *Shadow) MappingsFix(base x86.GVA, size uint64) error {
	total := uint64(0)
	for _, m := range s.maps.list {
		total += m.Size
	}
	r := x86.GVARange{Start: base, End: base + x86.GVA(size)}
	if size == 0 || uint64(base)%mapUnit != 0 || size%mapUnit != 0 || size < total || uint64(r.End) > 1<<32 ||
		(s.format.Mode.Paging() && s.guestUses(base, size)) {
		return fmt.Errorf("fix mappings at %v: %w", r, ErrMappingsFixRange)
	}
	at := base
	for _, m := range s.maps.list {
		s.unmapHyper(m)
		m.Base = at
		at += x86.GVA(m.Size)
		s.mapHyper(m)
	}
	s.maps.fixed, s.maps.fixBase, s.maps.fixSize = true, base, size
	s.inter.update(s)
	s.tlb.flushAll()
	return nil
}

// MappingsUnfix lets the mappings float again; the pool is flushed, as
// the original did for guests that use their page directory as a table.
func (s *Shadow) MappingsUnfix() {
	s.maps.fixed, s.maps.fixBase, s.maps.fixSize = false, 0, 0
	s.flushAll()
	s.resolveConflicts()
}

// mapHyper writes m's page-directory entries into the shadow tables,
// where a shadow page directory covers them: the root PD of a 32-bit
// shadow, the PAE page directories of a PAE shadow (created for a 32-bit
// guest, whose PD slices always exist; for a PAE guest only under a
// present PDPTE). Long-mode shadows carry the mappings only in the
// intermediate context: their guest-visible part is just the conflict
// handling.
func (s *Shadow) mapHyper(m *Mapping) {
	s.eachMappingPDE(m, true)
}

// unmapHyper removes m's entries from every shadow page directory in the
// pool, the cached roots of other address spaces included: they would
// otherwise keep the mapping at its old place.
func (s *Shadow) unmapHyper(m *Mapping) {
	pts := map[x86.HPA]bool{}
	for _, t := range m.pt32 {
		pts[t.hpa] = true
	}
	for _, t := range m.pae {
		pts[t.hpa] = true
	}
	for i := 1; i < len(s.pool.pages); i++ {
		pg := &s.pool.pages[i]
		if !pg.inUse || pg.kind.Level() != x86.LevelPD {
			continue
		}
		for j, e := range pg.ents {
			if e&shwMapping != 0 && pts[x86.HPA(s.frameOf(e))] {
				s.setEntry(pg, j, 0)
			}
		}
	}
	s.tlb.flushAll()
}

func (s *Shadow) eachMappingPDE(m *Mapping, install bool) {
	if s.root == nilIdx || !s.mappingsActive() {
		return
	}
	root := &s.pool.pages[s.root]
	flags := x86.Entry(x86.P|x86.RW|x86.A) | shwMapping
	put := func(pd *poolPage, i int, pt *hostTable) {
		switch {
		case install:
			s.setEntry(pd, i, x86.Entry(pt.hpa)|flags)
		case pd.ents[i]&shwMapping != 0:
			s.setEntry(pd, i, 0)
		}
	}
	switch s.family() {
	case fam32:
		for i, pt := range m.pt32 {
			put(root, int(m.Base>>22)+i, pt)
		}
	case famPAE:
		for i := range m.pt32 {
			va := m.Base + x86.GVA(i*mapUnit)
			j := int(va >> 30 & 3)
			e := root.ents[j]
			pd := s.pool.page(x86.HPA(s.frameOf(e)))
			if e&x86.Entry(x86.P) == 0 || pd == nil {
				if !install || root.kind != KindPAEPDPTFor32 {
					continue
				}
				var err error
				pd, _, err = s.poolAlloc(root.key+x86.GPA(j*1024), KindPAEPDFor32PD, root.idx, uint16(j))
				if err != nil {
					continue
				}
				s.setEntry(root, j, x86.Entry(pd.hpa)|x86.Entry(x86.P))
			}
			k := int(va >> 21 & 511)
			put(pd, k, m.pae[2*i])
			put(pd, k+1, m.pae[2*i+1])
		}
	}
	s.tlb.flushAll()
}

// installMappings writes every mapping into a fresh shadow root.
func (s *Shadow) installMappings() {
	for _, m := range s.maps.list {
		s.mapHyper(m)
	}
}

// savedMappings is the mapping layout for a saved state.
func (s *Shadow) savedMappings() ([]StateMapping, []uint64) {
	var out []StateMapping
	for _, m := range s.maps.list {
		out = append(out, StateMapping{Name: m.Name, Size: m.Size, Base: uint64(m.Base)})
	}
	var fixed []uint64
	if s.maps.fixed {
		fixed = []uint64{uint64(s.maps.fixBase), s.maps.fixSize}
	}
	return out, fixed
}

// loadMappings puts the mappings where a saved state had them.
func (s *Shadow) loadMappings(saved []StateMapping, fixed []uint64) {
	for _, sm := range saved {
		for _, m := range s.maps.list {
			if m.Name == sm.Name && m.Size == sm.Size {
				m.Base = x86.GVA(sm.Base)
			}
		}
	}
	s.sortMappings()
	s.maps.fixed = len(fixed) == 2
	if s.maps.fixed {
		s.maps.fixBase, s.maps.fixSize = x86.GVA(fixed[0]), fixed[1]
	} else {
		s.maps.fixBase, s.maps.fixSize = 0, 0
	}
	s.inter.update(s)
}
