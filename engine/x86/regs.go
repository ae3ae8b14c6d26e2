package x86

import (
	"fmt"
	"strings"
)

// Reg names a control register a guest can write.
type Reg uint8

const (
	CR0 Reg = iota
	CR3
	CR4
	EFER
)

func (r Reg) String() string {
	switch r {
	case CR0:
		return "cr0"
	case CR3:
		return "cr3"
	case CR4:
		return "cr4"
	case EFER:
		return "efer"
	}
	return "reg?"
}

// GPError is a control-register write the processor rejects with #GP.
// Traces cannot express the guest's #GP handler, so callers report it as
// a trace error.
type GPError struct {
	Reg    Reg
	Value  uint64
	Reason string
}

func (e *GPError) Error() string {
	return fmt.Sprintf("%v %#x: #GP: %s", e.Reg, e.Value, e.Reason)
}

// Bits a write may set; anything else is reserved (or a feature the
// modelled CPU lacks) and raises #GP.
const (
	cr0Known  uint64 = 0xffffffff
	cr4Known  uint64 = 1<<15 - 1 | 1<<16 | 1<<18 | CR4PCIDE | CR4SMEP | CR4SMAP | CR4PKE
	eferKnown uint64 = 1<<0 | EFERLME | EFERLMA | EFERNXE | 1<<12 | 1<<13 | 1<<14 | 1<<15
	cr0NW     uint64 = 1 << 29
	cr0CD     uint64 = 1 << 30
)

// Regs is the paging-relevant processor state. The zero value is not
// usable; start from Reset.
type Regs struct {
	CR0, CR3, CR4, EFER uint64 // CR3 never holds bit 63 (CR3NoFlush)
	CPL                 uint8
	PDPTE               [4]uint64 // legacy PAE PDPTE registers
	MaxPhys             uint8
	AC                  bool   // RFLAGS.AC (SMAP's override)
	PKRU                uint32 // protection-key rights (CR4.PKE)
}

// Reset puts r in the power-on state: real mode, CR0 = ET, AC and PKRU 0.
func (r *Regs) Reset(maxPhys uint8) {
	*r = Regs{CR0: CR0ET, MaxPhys: maxPhys}
}

// PCID is the current process-context identifier: CR3[11:0] with
// CR4.PCIDE=1, else 0.
func (r *Regs) PCID() uint16 {
	if r.CR4&CR4PCIDE == 0 {
		return 0
	}
	return uint16(r.CR3 & CR3PCID)
}

// Protect is the state of SMEP, SMAP and protection keys.
func (r *Regs) Protect() Protect {
	return Protect{SMEP: r.CR4&CR4SMEP != 0, SMAP: r.CR4&CR4SMAP != 0, AC: r.AC,
		PKE: r.CR4&CR4PKE != 0, PKRU: r.PKRU}
}

// Mode is the current guest paging mode.
func (r *Regs) Mode() Mode { return GuestMode(r.CR0, r.CR4, r.EFER) }

// Root is where a walk of the current tables starts.
func (r *Regs) Root() Root {
	return Root{CR3: r.CR3, PDPTE: &r.PDPTE, WP: r.CR0&CR0WP != 0, Protect: r.Protect()}
}

// TableRoot is Root without SMEP, SMAP and keys: for walks that read the
// tables' structure (where a page is, which entries lead there) rather
// than check an access, which these rules could otherwise refuse.
func (r *Regs) TableRoot() Root {
	return Root{CR3: r.CR3, PDPTE: &r.PDPTE, WP: r.CR0&CR0WP != 0}
}

// Access is the paging view of an access of kind k at the current CPL.
func (r *Regs) Access(k AccessKind) Access { return Access{Kind: k, User: r.CPL == 3} }

// Change reports what a control-register write did, so that the paging
// engine can flush and resynchronise exactly as much as needed.
type Change struct {
	Reg          Reg
	OldMode      Mode
	NewMode      Mode
	CR3Loaded    bool // a CR3 load (the TLB drops the new PCID's non-global entries unless NoFlush)
	NoFlush      bool // CR3 written with bit 63 under CR4.PCIDE: the new PCID's entries stay
	FlushAll     bool // global entries go too (PG, WP, PSE, PAE, PGE, LA57, NXE, LME, PCIDE, SMEP changes)
	PDPTEsLoaded bool // the PDPTE registers were reloaded from memory
}

// ModeChanged reports whether the guest paging mode changed.
func (c Change) ModeChanged() bool { return c.OldMode != c.NewMode }

// Write performs a guest write of v to reg, with the processor's checks.
// On #GP (a *GPError) the state is unchanged. mem is read when the PDPTE
// registers must be loaded.
func (r *Regs) Write(reg Reg, v uint64, mem Memory) (Change, error) {
	next := *r
	ch := Change{Reg: reg, OldMode: r.Mode()}
	gp := func(why string) (Change, error) { return Change{}, &GPError{reg, v, why} }
	lma := r.EFER&EFERLMA != 0
	switch reg {
	case CR0:
		switch {
		case v&^cr0Known != 0:
			return gp("reserved bits 63:32 set")
		case v&CR0PG != 0 && v&CR0PE == 0:
			return gp("PG set without PE")
		case v&cr0NW != 0 && v&cr0CD == 0:
			return gp("NW set without CD")
		case v&CR0PG != 0 && r.CR0&CR0PG == 0 && r.EFER&EFERLME != 0 && r.CR4&CR4PAE == 0:
			return gp("enabling paging with EFER.LME set requires CR4.PAE")
		case v&CR0PG == 0 && r.CR0&CR0PG != 0 && r.CR4&CR4PCIDE != 0:
			return gp("clearing PG while CR4.PCIDE is set")
		}
		next.CR0 = v
		ch.FlushAll = (v^r.CR0)&(CR0PG|CR0WP|CR0PE) != 0
	case CR4:
		switch {
		case v&^cr4Known != 0:
			return gp("reserved or unsupported bits set")
		case lma && v&CR4PAE == 0:
			return gp("clearing PAE in long mode")
		case lma && (v^r.CR4)&CR4LA57 != 0:
			return gp("changing LA57 in long mode")
		case v&^r.CR4&CR4PCIDE != 0 && !lma:
			return gp("setting PCIDE outside IA-32e mode")
		case v&^r.CR4&CR4PCIDE != 0 && r.CR3&CR3PCID != 0:
			return gp("setting PCIDE while CR3[11:0] is not 0")
		}
		next.CR4 = v
		// Clearing PCIDE drops every PCID's entries; setting SMEP drops
		// the current PCID's (the SDM's rules, taken as a full flush).
		ch.FlushAll = (v^r.CR4)&(CR4PSE|CR4PAE|CR4PGE|CR4LA57) != 0 ||
			r.CR4&^v&CR4PCIDE != 0 || v&^r.CR4&CR4SMEP != 0
	case EFER:
		// LMA is the processor's to set: the written bit is ignored. Work
		// on a copy so that a #GP reports the value the guest wrote (gp
		// captures v).
		w := v &^ EFERLMA
		switch {
		case w&^eferKnown != 0:
			return gp("reserved bits set")
		case r.CR0&CR0PG != 0 && (w^r.EFER)&EFERLME != 0:
			return gp("changing LME while paging is on")
		}
		next.EFER = w | r.EFER&EFERLMA
		ch.FlushAll = (w^r.EFER)&(EFERNXE|EFERLME) != 0
	case CR3:
		w := v
		if r.CR4&CR4PCIDE != 0 {
			// PCIDE implies IA-32e mode. Bit 63 asks to keep the new
			// PCID's translations; it is not part of CR3.
			ch.NoFlush = v&CR3NoFlush != 0
			w = v &^ CR3NoFlush
		}
		if lma {
			if w&^bits(uint(r.MaxPhys)-1, 0) != 0 {
				return gp("bits above MAXPHYADDR set")
			}
		} else if w>>32 != 0 {
			return gp("bits above 31 set outside long mode")
		}
		next.CR3 = w
		ch.CR3Loaded = true
	default:
		return gp("not a control register")
	}
	// The processor sets LMA when paging turns on with LME, clears it when
	// paging turns off.
	if next.CR0&CR0PG != 0 && next.EFER&EFERLME != 0 {
		next.EFER |= EFERLMA
	} else {
		next.EFER &^= EFERLMA
	}
	ch.NewMode = next.Mode()
	if ch.NewMode == ModePAE || ch.NewMode == ModePAENX {
		pagingBits := (next.CR0^r.CR0)&CR0PG != 0 || (next.CR4^r.CR4)&(CR4PAE|CR4PSE|CR4PGE) != 0
		if reg == CR3 || pagingBits {
			next.loadPDPTEs(mem)
			ch.PDPTEsLoaded = true
		}
	}
	if ch.ModeChanged() {
		ch.FlushAll = true
	}
	*r = next
	return ch, nil
}

// loadPDPTEs reads the four PDPTEs of legacy PAE paging into registers.
// Reserved bits are not checked here: the walker reports them as RSVD
// faults on each access (a trace cannot express the #GP some processors
// raise at the load).
func (r *Regs) loadPDPTEs(mem Memory) {
	base := GPA(r.CR3 & 0xffffffe0)
	for i := range r.PDPTE {
		r.PDPTE[i] = mem.ReadEntry(base+GPA(8*i), 8)
	}
}

// InvpcidError is an INVPCID the processor rejects with #GP; like a
// control-register #GP it is a trace error.
type InvpcidError struct {
	Type   uint8
	PCID   uint64
	Addr   uint64
	Reason string
}

// Error spells the instruction as a trace line does (`invpcid 0 5 0x1000`,
// `invpcid 1 5`), so that a message that names the line says it once.
func (e *InvpcidError) Error() string {
	addr := ""
	if e.Type == 0 || e.Addr != 0 {
		addr = fmt.Sprintf(" %#x", e.Addr)
	}
	return fmt.Sprintf("invpcid %d %d%s: #GP: %s", e.Type, e.PCID, addr, e.Reason)
}

// CheckINVPCID applies INVPCID's #GP rules to type typ, PCID pcid and
// (for type 0) linear address va in the state r with format f.
func (r *Regs) CheckINVPCID(typ uint8, pcid uint64, va GVA, f *Format) error {
	gp := func(why string) error { return &InvpcidError{typ, pcid, uint64(va), why} }
	switch {
	case typ > 3:
		return gp("type above 3")
	case pcid > 0xfff:
		return gp("PCID above 4095")
	case typ == 0 && f.Mode.Long() && !f.Canonical(va):
		return gp("non-canonical address")
	case typ <= 1 && pcid != 0 && r.CR4&CR4PCIDE == 0:
		return gp("PCID other than 0 while CR4.PCIDE is 0")
	}
	return nil
}

// Features names the modern paging features in force, for a status line:
// e.g. "PCID 5, SMEP, SMAP (AC=0), PKE (PKRU 0xc0)"; "" when none is on
// (AC and PKRU are shown only with the feature that reads them, LA57 is
// the mode's).
func (r *Regs) Features() string {
	var parts []string
	if r.CR4&CR4PCIDE != 0 {
		parts = append(parts, fmt.Sprintf("PCID %d", r.PCID()))
	}
	if r.CR4&CR4SMEP != 0 {
		parts = append(parts, "SMEP")
	}
	if r.CR4&CR4SMAP != 0 {
		ac := 0
		if r.AC {
			ac = 1
		}
		parts = append(parts, fmt.Sprintf("SMAP (AC=%d)", ac))
	}
	if r.CR4&CR4PKE != 0 {
		parts = append(parts, fmt.Sprintf("PKE (PKRU %#x)", r.PKRU))
	}
	return strings.Join(parts, ", ")
}
