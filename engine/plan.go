package engine

import (
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// One planner serves every guest/shadow pair: for an address and the
// guest's walk of it, it says which pool table each shadow level must
// point at (kind and key) and with which flags. A shadow table at a level
// mirrors the guest table whose entries have the smallest shift not below
// its own, or a slice of it when the guest table covers more (a 32-bit
// guest's 4 MiB PDEs split in two PAE PDEs, its page tables in two
// halves); below a guest big page it mirrors a piece of that page; with
// no guest paging it mirrors guest-physical space.

// tableSpec is what the shadow table at one level must be.
type tableSpec struct {
	kind  PoolKind
	key   x86.GPA
	flags uint64 // flags of the parent entry pointing at the table
	big   bool   // a piece of a guest big page
}

// family is the shadow format family used to pick kinds.
type family uint8

const (
	fam32 family = iota
	famPAE
	fam64
	famNested
	famEPT
)

func (s *Shadow) family() family {
	switch s.shwMode {
	case x86.Mode32Bit:
		return fam32
	case x86.ModePAE, x86.ModePAENX:
		return famPAE
	case x86.ModeNested:
		return famNested
	case x86.ModeEPT:
		return famEPT
	}
	return fam64
}

// physKind is the kind of a table at level lvl mirroring guest-physical
// space.
func physKind(f family, lvl x86.LevelKind) PoolKind {
	switch f {
	case fam32:
		if lvl == x86.LevelPD {
			return Kind32PDPhys
		}
		return Kind32PTForPhys
	case famPAE:
		switch lvl {
		case x86.LevelPDPT:
			return KindPAEPDPTPhys
		case x86.LevelPD:
			return KindPAEPDPhys
		}
		return KindPAEPTForPhys
	case famEPT:
		switch lvl {
		case x86.LevelPML4:
			return KindEPTPML4
		case x86.LevelPDPT:
			return KindEPTPDPTForPhys
		case x86.LevelPD:
			return KindEPTPDForPhys
		}
		return KindEPTPTForPhys
	}
	switch lvl {
	case x86.LevelPML5:
		return Kind64PML5Phys
	case x86.LevelPML4:
		if f == famNested {
			return KindRootNested
		}
		return Kind64PML4Phys
	case x86.LevelPDPT:
		return Kind64PDPTForPhys
	case x86.LevelPD:
		return Kind64PDForPhys
	}
	return KindPAEPTForPhys
}

// tableKind is the kind of a table at level lvl mirroring a guest table
// whose entries are guestBits wide.
func tableKind(f family, lvl x86.LevelKind, guestBits int) PoolKind {
	switch {
	case f == fam32:
		if lvl == x86.LevelPD {
			return Kind32PD
		}
		return Kind32PTFor32PT
	case f == famPAE && guestBits == 32:
		switch lvl {
		case x86.LevelPDPT:
			return KindPAEPDPTFor32
		case x86.LevelPD:
			return KindPAEPDFor32PD
		}
		return KindPAEPTFor32PT
	case f == famPAE:
		switch lvl {
		case x86.LevelPDPT:
			return KindPAEPDPT
		case x86.LevelPD:
			return KindPAEPDForPAEPD
		}
		return KindPAEPTForPAEPT
	}
	switch lvl {
	case x86.LevelPML5:
		return Kind64PML5
	case x86.LevelPML4:
		return Kind64PML4
	case x86.LevelPDPT:
		return Kind64PDPTFor64PDPT
	case x86.LevelPD:
		return Kind64PDFor64PD
	}
	return KindPAEPTForPAEPT
}

// bigKind is the kind of a table at level lvl holding a piece of a guest
// big page.
func bigKind(f family, lvl x86.LevelKind, guestBits int) PoolKind {
	switch {
	case lvl == x86.LevelPD:
		return Kind64PDFor1G
	case f == fam32:
		return Kind32PTFor4M
	case guestBits == 32:
		return KindPAEPTFor4M
	}
	return KindPAEPTFor2M
}

func (s *Shadow) guestBits() int {
	if s.format.Mode == x86.Mode32Bit {
		return 32
	}
	return 64
}

// rootSpec is the kind and key of the shadow root for the current guest
// state.
func (s *Shadow) rootSpec() (PoolKind, x86.GPA) {
	f := s.family()
	top := s.shw.Levels[0].Kind
	gf := s.format
	if !gf.Mode.Paging() || f == famNested || f == famEPT {
		return physKind(f, top), 0
	}
	key := x86.GPA(s.regs.CR3 & gf.RootMask)
	if s.shw.Levels[0].Shift > gf.Levels[0].Shift {
		// A 32-bit guest on a PAE shadow: the root has no guest twin.
		return KindPAEPDPTFor32, x86.PageDown(key)
	}
	return tableKind(f, top, s.guestBits()), key
}

// dirFlags are the flags of a shadow directory entry for a guest entry
// (or for none: synthetic). A legacy PAE PDPT holds only P.
func (s *Shadow) dirFlags(parentLevel int, g *x86.Step) uint64 {
	if s.shw.Levels[parentLevel].Register {
		return uint64(x86.P)
	}
	f := uint64(x86.P | x86.A | x86.RW | x86.US)
	if g == nil || g.Register {
		return f
	}
	if !g.Entry.Writable() {
		f &^= uint64(x86.RW)
	}
	if !g.Entry.User() {
		f &^= uint64(x86.US)
	}
	if s.shw.NX && s.format.NX && g.Entry.NoExec() {
		f |= uint64(x86.NX)
	}
	return f
}

// plan fills specs[1..n-1] for address va given the guest's successful
// walk gw (ignored without guest paging). specs[0] is the root and left
// alone.
func (s *Shadow) plan(va x86.GVA, gw *x86.Walk, specs *[5]tableSpec) {
	f := s.family()
	gf := s.format
	n := s.shw.N
	paging := gf.Mode.Paging() && f != famNested && f != famEPT
	for l := 1; l < n; l++ {
		lv := &s.shw.Levels[l]
		cover := uint(lv.Shift + lv.IndexBits)
		sp := &specs[l]
		*sp = tableSpec{}
		if !paging {
			sp.kind = physKind(f, lv.Kind)
			sp.key = x86.GPA(uint64(va) &^ (1<<cover - 1))
			sp.flags = s.dirFlags(l-1, nil)
			continue
		}
		// The guest level mirrored: smallest entry shift not below ours.
		j := -1
		for g := gf.N - 1; g >= 0; g-- {
			if gf.Levels[g].Shift >= lv.Shift {
				j = g
				break
			}
		}
		leaf := gw.N - 1
		if j > leaf {
			// Below a guest big page: a piece of it.
			big := &gw.Steps[leaf]
			bigSize := uint64(1) << gf.Levels[leaf].Shift
			base := uint64(gw.GPA) &^ (bigSize - 1)
			sp.big = true
			sp.kind = bigKind(f, lv.Kind, s.guestBits())
			sp.key = x86.GPA(base+uint64(va)&(bigSize-1)&^(1<<cover-1)) | bigKeyBits(big.Entry)
			sp.flags = s.dirFlags(l-1, big)
			// Dirty tracking sits on the entry that leads into the big page
			// from this address space's own tables (the PDE of a 2 or 4 MiB
			// page, the PDPTE of a 1 GiB one): the tables below are shared
			// by every mapping of the same physical range and rights.
			top := !specs[l-1].big
			if top && big.Entry.Writable() && !big.Entry.Dirty() {
				sp.flags = sp.flags&^uint64(x86.RW) | shwTrackDirtyPDE
			}
			continue
		}
		st := &gw.Steps[j]
		glv := &gf.Levels[j]
		base := uint64(st.EntryAddr) - uint64(st.Index)*uint64(glv.EntrySize)
		gcover := uint(glv.Shift + glv.IndexBits)
		if gcover > cover {
			ratio := uint64(1) << (glv.Shift - lv.Shift)
			slice := uint64(va) >> cover & (1<<(gcover-cover) - 1)
			base += slice * (uint64(lv.Entries()) / ratio) * uint64(glv.EntrySize)
		}
		sp.kind = tableKind(f, lv.Kind, s.guestBits())
		sp.key = x86.GPA(base)
		var parent *x86.Step
		if j > 0 {
			parent = &gw.Steps[j-1]
		}
		sp.flags = s.dirFlags(l-1, parent)
	}
}

// bigKeyBits are the rights (and protection key) of a guest big-page entry folded into the key
// of the shadow tables that hold its pieces (whose low 12 bits are free):
// two big pages over the same physical range share those tables only when
// their rights agree, since the entries inside carry them.
func bigKeyBits(e x86.Entry) x86.GPA {
	k := x86.GPA(e) & x86.GPA(x86.RW|x86.US|x86.G)
	if e.NoExec() {
		k |= 1 << 9
	}
	// The protection key (IA-32e) is in the entries too: bits 3..6 here
	// (0 in legacy formats, whose bits 62:59 are reserved).
	return k | x86.GPA(e.Key())<<3
}
