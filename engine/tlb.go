package engine

import "github.com/pgm-explorer/pgm-explorer/engine/x86"

// tlbSize is the number of software TLB entries (direct mapped).
const tlbSize = 256

// numPCIDs is the number of process-context identifiers (CR3[11:0]).
const numPCIDs = 4096

// pkSupervisor is the tlbEntry.pk of a supervisor page: no key, and
// neither SMEP nor SMAP concerns it (Shadow.deny never has this bit).
const pkSupervisor = 16

// tlbEntry caches one translation the shadow (or nested) tables gave: a
// guest virtual page to a host frame, with the rights the shadow entry
// grants (never more than the guest's). Flushes bump generation numbers
// instead of touching entries, so a full flush costs nothing.
//
// An entry belongs to the PCID current when it was filled, or to every
// PCID when it is global, as on hardware.
type tlbEntry struct {
	vpn    uint64 // virtual page number + 1; 0 = empty
	genAll uint32
	genP   uint32 // the generation of its PCID when filled
	pcid   uint16
	global bool
	// pk is the protection key of a user page (0..15), or pkSupervisor:
	// what SMEP, SMAP and keys look at, checked against Shadow.deny on
	// every hit so that ac, pkru and cpl changes need no flush.
	pk     uint8
	rights x86.Rights // what the shadow (or nested) entry allows
	guest  x86.Rights // nested paging: the guest's own rights, checked with its CR0.WP
	dirty  bool       // nested paging: the guest's leaf was dirty (else a write must walk to set D)
	gpa    x86.GPA    // guest page (for outcomes)
	hpa    x86.HPA
	data   *[x86.PageSize]byte
}

// tlb is a software stand-in for the hardware TLB, flushed exactly when a
// hardware TLB would be (and whenever the engine changes a shadow entry
// it cannot attribute to one address). Its entries are tagged by PCID:
// a CR3 switch with bit 63 keeps the entries of every PCID, and the slot
// of a page depends on the PCID too, so that address spaces using the
// same addresses do not evict each other.
type tlb struct {
	e      [tlbSize]tlbEntry
	genAll uint32 // bumped by flushes that drop global entries too
	// genP[p] is bumped by every flush of PCID p's non-global entries;
	// cur is the current PCID and curGen its genP, kept at hand for the
	// inline hit check.
	genP   [numPCIDs]uint32
	cur    uint16
	curGen uint32
	// tagged: an entry was filled under a PCID other than 0, so entries
	// for one address may sit in several slots.
	tagged bool
}

// tlbKey is the tag (page number + 1, so that 0 means empty) and slot of
// va under PCID pcid.
func tlbKey(va x86.GVA, pcid uint16) (vpn uint64, slot int) {
	vpn = uint64(va)>>x86.PageShift + 1
	return vpn, int((vpn + uint64(pcid)*97) % tlbSize)
}

// valid reports whether e is a current entry for the current PCID.
func (t *tlb) valid(e *tlbEntry) bool {
	return e.genAll == t.genAll && (e.global || e.pcid == t.cur && e.genP == t.curGen)
}

// lookup returns the entry for va if it is valid; the caller checks rights.
// A global entry lives in the slot of PCID 0, whatever PCID filled it, so
// that every PCID finds it: a second probe when the current PCID's slot
// misses (the inline hit check of translate probes only the first).
func (t *tlb) lookup(va x86.GVA) *tlbEntry {
	vpn, slot := tlbKey(va, t.cur)
	e := &t.e[slot]
	if e.vpn == vpn && t.valid(e) {
		return e
	}
	if t.cur != 0 {
		_, slot = tlbKey(va, 0)
		if e = &t.e[slot]; e.vpn == vpn && e.global && e.genAll == t.genAll {
			return e
		}
	}
	return nil
}

// slotFor is where an entry for va goes: the current PCID's slot, or
// PCID 0's for a global entry (see lookup).
func (t *tlb) slotFor(va x86.GVA, global bool) (vpn uint64, slot int) {
	if global {
		return tlbKey(va, 0)
	}
	return tlbKey(va, t.cur)
}

// setPCID makes p the current PCID (a CR3 load or a PCIDE change).
func (t *tlb) setPCID(p uint16) {
	t.cur, t.curGen = p, t.genP[p]
	t.tagged = t.tagged || p != 0
}

func (t *tlb) fill(va x86.GVA, gpa x86.GPA, hpa x86.HPA, rights x86.Rights, pk uint8, global bool, data *[x86.PageSize]byte) {
	vpn, slot := t.slotFor(va, global)
	t.e[slot] = tlbEntry{vpn: vpn, genAll: t.genAll, genP: t.curGen, pcid: t.cur, global: global, pk: pk,
		rights: rights, guest: x86.AllRights, gpa: x86.PageDown(gpa), hpa: x86.PageDown(hpa), data: data}
}

// fillNested caches a translation of a 2D walk: guest rights (applied
// with the guest's CR0.WP) and nested rights both hold.
func (t *tlb) fillNested(va x86.GVA, gpa x86.GPA, hpa x86.HPA, rights, guest x86.Rights, pk uint8, dirty, global bool, data *[x86.PageSize]byte) {
	t.fill(va, gpa, hpa, rights, pk, global, data)
	_, slot := t.slotFor(va, global)
	t.e[slot].guest, t.e[slot].dirty = guest, dirty
}

// invalidate drops every translation of one page, global or not, of
// every PCID: invlpg (which must drop the current PCID's and the global
// ones: the others go too, harmlessly) and the engine's own changes of a
// shadow PTE, which every PCID's entries may have come from.
func (t *tlb) invalidate(va x86.GVA) {
	vpn, slot := tlbKey(va, 0)
	if !t.tagged {
		if e := &t.e[slot]; e.vpn == vpn {
			*e = tlbEntry{}
		}
		return
	}
	for i := range t.e {
		if t.e[i].vpn == vpn {
			t.e[i] = tlbEntry{}
		}
	}
}

// invalidateGPA drops every translation to guest page gpa, of every
// PCID, global or not: the shadow entries that mapped it went, or its
// backing frame changed. A scan of the whole TLB costs less than the
// misses a flush would cost every other page.
func (t *tlb) invalidateGPA(gpa x86.GPA) {
	for i := range t.e {
		if e := &t.e[i]; e.vpn != 0 && x86.PageDown(e.gpa) == gpa {
			*e = tlbEntry{}
		}
	}
}

// invalidatePCID drops PCID p's non-global translation of one page
// (INVPCID type 0).
func (t *tlb) invalidatePCID(va x86.GVA, p uint16) {
	vpn, slot := tlbKey(va, p)
	if e := &t.e[slot]; e.vpn == vpn && e.pcid == p && !e.global {
		*e = tlbEntry{}
	}
}

// flushPCID drops PCID p's non-global entries (a CR3 load without bit
// 63, INVPCID type 1).
func (t *tlb) flushPCID(p uint16) {
	t.genP[p]++
	if t.genP[p] == 0 {
		t.reset()
	}
	t.curGen = t.genP[t.cur]
}

// flush drops every PCID's non-global entries (INVPCID type 3). With
// CR4.PCIDE=0 every entry has PCID 0, and flushPCID(0) is the same.
func (t *tlb) flush() {
	wrapped := false
	for p := range t.genP {
		t.genP[p]++
		wrapped = wrapped || t.genP[p] == 0
	}
	if wrapped {
		t.reset()
	}
	t.curGen = t.genP[t.cur]
}

// flushAll drops everything.
func (t *tlb) flushAll() {
	t.genAll++
	if t.genAll == 0 {
		t.reset()
	}
}

// reset clears every entry, for when a generation number wraps and an old
// entry could otherwise look current again.
func (t *tlb) reset() {
	t.e = [tlbSize]tlbEntry{}
	t.genAll = 1
	for p := range t.genP {
		t.genP[p] = 1
	}
	t.curGen = 1
	t.tagged = t.cur != 0
}

// permits reports whether rights r allow acc. The shadow context runs
// with CR0.WP set, so supervisor writes need the write right too.
func permits(r x86.Rights, acc x86.Access) bool {
	if acc.User && r&x86.RightUser == 0 {
		return false
	}
	switch acc.Kind {
	case x86.Write:
		return r&x86.RightWrite != 0
	case x86.Fetch:
		return r&x86.RightExec != 0
	}
	return true
}
