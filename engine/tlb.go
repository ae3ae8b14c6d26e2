package engine

import "github.com/pgm-explorer/pgm-explorer/engine/x86"

// tlbSize is the number of software TLB entries (direct mapped).
const tlbSize = 256

// tlbEntry caches one translation the shadow (or nested) tables gave: a
// guest virtual page to a host frame, with the rights the shadow entry
// grants (never more than the guest's). Flushes bump generation numbers
// instead of touching entries, so a full flush costs nothing.
type tlbEntry struct {
	vpn    uint64 // virtual page number + 1; 0 = empty
	genAll uint32
	genNG  uint32
	global bool
	rights x86.Rights // what the shadow (or nested) entry allows
	guest  x86.Rights // nested paging: the guest's own rights, checked with its CR0.WP
	dirty  bool       // nested paging: the guest's leaf was dirty (else a write must walk to set D)
	gpa    x86.GPA    // guest page (for outcomes)
	hpa    x86.HPA
	data   *[x86.PageSize]byte
}

// tlb is a software stand-in for the hardware TLB, flushed exactly when a
// hardware TLB would be (and whenever the engine changes a shadow entry
// it cannot attribute to one address).
type tlb struct {
	e      [tlbSize]tlbEntry
	genAll uint32 // bumped by flushes that drop global entries too
	genNG  uint32 // bumped by every flush
}

// tlbKey is the tag (page number + 1, so that 0 means empty) and slot of va.
func tlbKey(va x86.GVA) (vpn uint64, slot int) {
	vpn = uint64(va)>>x86.PageShift + 1
	return vpn, int(vpn % tlbSize)
}

// lookup returns the entry for va if it is valid; the caller checks rights.
func (t *tlb) lookup(va x86.GVA) *tlbEntry {
	vpn, slot := tlbKey(va)
	e := &t.e[slot]
	if e.vpn == vpn && e.genAll == t.genAll && (e.global || e.genNG == t.genNG) {
		return e
	}
	return nil
}

func (t *tlb) fill(va x86.GVA, gpa x86.GPA, hpa x86.HPA, rights x86.Rights, global bool, data *[x86.PageSize]byte) {
	vpn, slot := tlbKey(va)
	t.e[slot] = tlbEntry{vpn: vpn, genAll: t.genAll, genNG: t.genNG, global: global,
		rights: rights, guest: x86.AllRights, gpa: x86.PageDown(gpa), hpa: x86.PageDown(hpa), data: data}
}

// fillNested caches a translation of a 2D walk: guest rights (applied
// with the guest's CR0.WP) and nested rights both hold.
func (t *tlb) fillNested(va x86.GVA, gpa x86.GPA, hpa x86.HPA, rights, guest x86.Rights, dirty, global bool, data *[x86.PageSize]byte) {
	t.fill(va, gpa, hpa, rights, global, data)
	_, slot := tlbKey(va)
	t.e[slot].guest, t.e[slot].dirty = guest, dirty
}

// invalidate drops the translation of one page, global or not (invlpg).
func (t *tlb) invalidate(va x86.GVA) {
	vpn, slot := tlbKey(va)
	if e := &t.e[slot]; e.vpn == vpn {
		*e = tlbEntry{}
	}
}

// flush drops non-global entries (a CR3 load with CR4.PGE set).
func (t *tlb) flush() {
	t.genNG++
	if t.genNG == 0 {
		t.reset()
	}
}

// flushAll drops everything.
func (t *tlb) flushAll() {
	t.genAll++
	t.genNG++
	if t.genAll == 0 || t.genNG == 0 {
		t.reset()
	}
}

// reset clears every entry, for when a generation number wraps and an old
// entry could otherwise look current again.
func (t *tlb) reset() {
	t.e = [tlbSize]tlbEntry{}
	t.genAll, t.genNG = 1, 1
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
