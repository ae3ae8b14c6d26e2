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
	flags x86.Entry // flags of the parent entry pointing at the table
	big   bool      // a piece of a guest big page
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

// famSet is a set of families.
type famSet uint8

const (
	f32     famSet = 1 << fam32
	fPAE    famSet = 1 << famPAE
	f64     famSet = 1 << fam64
	fNested famSet = 1 << famNested
	fEPT    famSet = 1 << famEPT
	fAll           = f32 | fPAE | f64 | fNested | fEPT
	famMax         = famEPT + 1
)

// mirror is what a shadow table mirrors, as the planner asks for it.
type mirror uint8

const (
	mirrorPhys  mirror = iota // guest-physical space
	mirrorTable               // a guest table (or the PDPTE registers, or nothing for a 32-bit guest's PDPT)
	mirrorBig                 // a piece of a guest big page
	mirrorMax
)

// kindIndex[f][m][level][wide] is the kind the planner picks for family
// f, mirror m, shadow level level, and a guest with 64-bit entries (wide)
// or 32-bit ones: built from the kinds table's rows, so that a kind is
// described in one place.
var kindIndex = buildKindIndex()

func buildKindIndex() (ix [famMax][mirrorMax][x86.LevelPML5 + 1][2]PoolKind) {
	for k := range kinds {
		info := &kinds[k]
		m, ok := info.mirror()
		if !ok {
			continue
		}
		for f := family(0); f < famMax; f++ {
			if info.fams&(1<<f) == 0 {
				continue
			}
			for wide := 0; wide < 2; wide++ {
				if info.guest != 0 && (info.guest == 64) != (wide == 1) {
					continue
				}
				cell := &ix[f][m][info.level][wide]
				if *cell != KindInvalid {
					panic("engine: kinds " + cell.String() + " and " + PoolKind(k).String() + " claim the same planner cell")
				}
				*cell = PoolKind(k)
			}
		}
	}
	// A family that has kinds for one guest width only uses them for
	// the other too (a 64-bit shadow's tables whatever the guest).
	for f := range ix {
		for m := range ix[f] {
			for l := range ix[f][m] {
				c := &ix[f][m][l]
				if c[0] == KindInvalid {
					c[0] = c[1]
				}
				if c[1] == KindInvalid {
					c[1] = c[0]
				}
			}
		}
	}
	return ix
}

// mirror is what the planner asks for to get a kind of this row; ok is
// false for the free and invalid kinds.
func (info *kindInfo) mirror() (m mirror, ok bool) {
	switch info.src {
	case srcNone:
		return 0, false
	case srcPhys:
		return mirrorPhys, true
	case srcBig:
		return mirrorBig, true
	}
	return mirrorTable, true
}

// kindFor is the kind of a table at level lvl of a family f shadow that
// mirrors m for a guest with guestBits-wide entries.
func kindFor(f family, m mirror, lvl x86.LevelKind, guestBits int) PoolKind {
	wide := 0
	if guestBits == 64 {
		wide = 1
	}
	return kindIndex[f][m][lvl][wide]
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
		return kindFor(f, mirrorPhys, top, 64), 0
	}
	key := x86.GPA(s.regs.CR3 & gf.RootMask)
	if s.shw.Levels[0].Shift > gf.Levels[0].Shift {
		// A 32-bit guest on a PAE shadow: the root has no guest twin.
		return KindPAEPDPTFor32, x86.PageDown(key)
	}
	return kindFor(f, mirrorTable, top, s.guestBits()), key
}

// dirFlags are the flags of a shadow directory entry for a guest entry
// (or for none: synthetic). A legacy PAE PDPT holds only P.
func (s *Shadow) dirFlags(parentLevel int, g *x86.Step) x86.Entry {
	if s.shw.Levels[parentLevel].Register {
		return x86.Entry(x86.P)
	}
	f := x86.Entry(x86.P | x86.A | x86.RW | x86.US)
	if g == nil || g.Register {
		return f
	}
	if !g.Entry.Writable() {
		f &^= x86.Entry(x86.RW)
	}
	if !g.Entry.User() {
		f &^= x86.Entry(x86.US)
	}
	if s.shw.NX && s.format.NX && g.Entry.NoExec() {
		f |= x86.Entry(x86.NX)
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
			sp.kind = kindFor(f, mirrorPhys, lv.Kind, 64)
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
			sp.kind = kindFor(f, mirrorBig, lv.Kind, s.guestBits())
			sp.key = x86.GPA(base+uint64(va)&(bigSize-1)&^(1<<cover-1)) | bigKeyBits(big.Entry)
			sp.flags = s.dirFlags(l-1, big)
			// Dirty tracking sits on the entry that leads into the big page
			// from this address space's own tables (the PDE of a 2 or 4 MiB
			// page, the PDPTE of a 1 GiB one): the tables below are shared
			// by every mapping of the same physical range and rights.
			top := !specs[l-1].big
			if top && big.Entry.Writable() && !big.Entry.Dirty() {
				sp.flags = sp.flags&^x86.Entry(x86.RW) | shwTrackDirtyPDE
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
		sp.kind = kindFor(f, mirrorTable, lv.Kind, s.guestBits())
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
