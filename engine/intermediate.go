package engine

import (
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// The intermediate context is the address space the world switcher runs
// in while it moves between host and guest: the switcher code mapped both
// at its host physical address (identity, for the moment paging is off)
// and at its hypervisor address, plus every hypervisor mapping. It is kept
// in all three formats at once (the original kept only 32-bit: we keep
// all, as its todo asked), all tables below 4 GiB.

// permanentBit marks upper-level entries that are never freed.
const permanentBit = x86.Entry(x86.AVL10)

// defaultHyperArea is where the switcher goes when there is no mapping.
const defaultHyperArea = 0xa0000000

type intermediate struct {
	pd32     *hostTable    // 32-bit PD
	pts32    [2]*hostTable // [0] hypervisor address, [1] identity
	paePTs   [2]*hostTable
	paePDs   [4]*hostTable
	pdpt     *hostTable // legacy PAE PDPT
	pdpt64   *hostTable // long-mode PDPT: entry i points at paePDs[i%4]
	pml4     *hostTable // every entry points at pdpt64
	switcher x86.HPA    // the switcher code page
	hyperVA  x86.GVA    // where it runs in the hypervisor area
}

func (s *Shadow) initIntermediate() {
	in := &s.inter
	in.pd32 = s.newHostTable(1024)
	for i := range in.pts32 {
		in.pts32[i] = s.newHostTable(1024)
		in.paePTs[i] = s.newHostTable(512)
	}
	for i := range in.paePDs {
		in.paePDs[i] = s.newHostTable(512)
	}
	in.pdpt = s.newHostTable(4)
	in.pdpt64 = s.newHostTable(512)
	in.pml4 = s.newHostTable(512)
	in.switcher, _ = s.mem.Host().Alloc()
	for i := range in.pdpt.ents {
		in.pdpt.ents[i] = x86.Entry(in.paePDs[i].hpa) | x86.Entry(x86.P) | permanentBit
	}
	for i := range in.pdpt64.ents {
		in.pdpt64.ents[i] = x86.Entry(in.paePDs[i%4].hpa) | x86.Entry(x86.P|x86.RW|x86.US|x86.A) | permanentBit
	}
	for i := range in.pml4.ents {
		in.pml4.ents[i] = x86.Entry(in.pdpt64.hpa) | x86.Entry(x86.P|x86.RW|x86.US|x86.A) | permanentBit
	}
	if len(s.maps.list) > 0 {
		// The switcher runs at the start of the first mapping.
		m := s.maps.list[0]
		m.pt32[0].ents[0] = x86.Entry(in.switcher) | x86.Entry(x86.P|x86.RW|x86.A|x86.D)
		m.pae[0].ents[0] = m.pt32[0].ents[0]
	}
	in.update(s)
}

// update rewrites the page directories from the mappings' places.
func (in *intermediate) update(s *Shadow) {
	clear(in.pd32.ents)
	for _, pd := range in.paePDs {
		clear(pd.ents)
	}
	pde := x86.Entry(x86.P | x86.RW | x86.A)
	set := func(va x86.GVA, pt32, paeLo, paeHi *hostTable) {
		in.pd32.ents[va>>22] = x86.Entry(pt32.hpa) | pde
		pd := in.paePDs[va>>30&3]
		i := va >> 21 & 511
		pd.ents[i] = x86.Entry(paeLo.hpa) | pde
		pd.ents[i+1] = x86.Entry(paeHi.hpa) | pde
	}
	// Identity: the 4 MiB around the switcher's physical address.
	id := x86.GVA(in.switcher) &^ (mapUnit - 1)
	clear(in.pts32[1].ents)
	clear(in.paePTs[1].ents)
	k := (uint64(in.switcher) >> x86.PageShift) & 1023
	in.pts32[1].ents[k] = x86.Entry(in.switcher) | x86.Entry(x86.P|x86.RW|x86.A|x86.D)
	set(id, in.pts32[1], in.paePTs[1], in.paePTs[1])
	in.paePTs[1].ents[k%512] = in.pts32[1].ents[k]
	if k < 512 {
		in.paePDs[id>>30&3].ents[id>>21&511+1] = 0
	} else {
		in.paePDs[id>>30&3].ents[id>>21&511] = 0
	}
	if len(s.maps.list) == 0 {
		in.hyperVA = defaultHyperArea
		in.pts32[0].ents[0] = x86.Entry(in.switcher) | x86.Entry(x86.P|x86.RW|x86.A|x86.D)
		in.paePTs[0].ents[0] = in.pts32[0].ents[0]
		set(in.hyperVA, in.pts32[0], in.paePTs[0], in.paePTs[0])
		in.paePDs[in.hyperVA>>30&3].ents[in.hyperVA>>21&511+1] = 0
	}
	for mi, m := range s.maps.list {
		if mi == 0 {
			in.hyperVA = m.Base
		}
		for i := range m.pt32 {
			set(m.Base+x86.GVA(i*mapUnit), m.pt32[i], m.pae[2*i], m.pae[2*i+1])
		}
	}
}

// overlaps reports whether r touches the identity mapping of the switcher.
func (in *intermediate) overlaps(r x86.GVARange) bool {
	id := x86.GVA(in.switcher) &^ (mapUnit - 1)
	return r.Overlaps(x86.GVARange{Start: id, End: id + mapUnit})
}

// IntermediateCR3 is the root of the intermediate context in one format:
// x86.Mode32Bit, ModePAE or ModeAMD64.
func (s *Shadow) IntermediateCR3(m x86.Mode) x86.HPA {
	switch {
	case m == x86.Mode32Bit:
		return s.inter.pd32.hpa
	case m.Long():
		return s.inter.pml4.hpa
	}
	return s.inter.pdpt.hpa
}

// SwitcherAddr is where the switcher code is: its host page and its
// hypervisor address.
func (s *Shadow) SwitcherAddr() (x86.HPA, x86.GVA) { return s.inter.switcher, s.inter.hyperVA }

// hostTable finds the hypervisor's own table at hpa. It allocates
// nothing: the visitors call it for every directory entry, every frame.
func (s *Shadow) hostTable(hpa x86.HPA) *hostTable {
	in := &s.inter
	for _, t := range [...]*hostTable{in.pd32, in.pts32[0], in.pts32[1], in.paePTs[0], in.paePTs[1], in.pdpt, in.pdpt64, in.pml4} {
		if t != nil && t.hpa == hpa {
			return t
		}
	}
	for _, t := range in.paePDs {
		if t != nil && t.hpa == hpa {
			return t
		}
	}
	for _, m := range s.maps.list {
		for _, t := range m.pt32 {
			if t.hpa == hpa {
				return t
			}
		}
		for _, t := range m.pae {
			if t.hpa == hpa {
				return t
			}
		}
	}
	return nil
}

// IntermediateWalk translates va through the intermediate context in one
// format (32-bit, PAE or AMD64), as the switcher's MMU would.
func (s *Shadow) IntermediateWalk(m x86.Mode, va x86.GVA) (x86.HPA, bool) {
	h, ok := s.intermediateTree(m)
	if !ok {
		return 0, false
	}
	e, lv, ok := h.walk(va)
	if !ok {
		return 0, false
	}
	return x86.HPA(uint64(e)&lv.FrameMask) | x86.HPA(x86.PageOffset(va)), true
}

// intermediateTree is the intermediate context of mode m as a tree.
func (s *Shadow) intermediateTree(m x86.Mode) (tree[hostTable], bool) {
	f, err := x86.NewFormat(m, 0, x86.MaxMaxPhys)
	if err != nil {
		return tree[hostTable]{}, false
	}
	return hostTree(f, s.hostTable(s.IntermediateCR3(m)), func(t *hostTable) []x86.Entry { return t.ents }, s.hostTable), true
}

// VisitIntermediate calls fn for the present entries of the intermediate
// context in one format, like VisitShadow.
func (s *Shadow) VisitIntermediate(m x86.Mode, fn func(EntryView) bool) {
	h, ok := s.intermediateTree(m)
	if !ok {
		return
	}
	f := h.f
	visitTree(h, func(t *hostTable, depth, i int, base uint64) (*hostTable, bool) {
		e := t.ents[i]
		if !e.Present() {
			return nil, true
		}
		lv := &f.Levels[depth]
		leaf := depth == f.N-1
		if !fn(EntryView{Depth: depth, Level: lv.Kind, Index: i, VA: x86.GVA(canonical(f, base|uint64(i)<<lv.Shift)),
			Covers: lv.Covers(), Entry: e, Table: uint64(t.hpa), Leaf: leaf}) {
			return nil, false
		}
		// Long mode repeats the first 4 GiB in every slot: descend only
		// into the first, or the visit would list it 262,144 times.
		if leaf || depth == 0 && m.Long() && i > 0 || depth == 1 && m.Long() && i > 3 {
			return nil, true
		}
		return s.hostTable(x86.HPA(uint64(e) & lv.FrameMask)), true
	})
}
