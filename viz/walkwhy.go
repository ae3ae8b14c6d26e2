package viz

import (
	"image/color"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// The walk inspector's words: the title's note on the access, the notes
// beside entries, the outcome's lines and the spelling of a #PF error
// code (walkreasons.go says why a shadow entry differs). Nothing here
// draws or reads the engine: the functions take the walk and what was
// read from the engine, and return words (the append forms write into a
// caller's buffer, so that a steady frame allocates nothing), which the
// drawing code places and, where room is short, cuts.

// appendAccessNote says what the walk is for: "write, user", with
// " (no access yet)" when no address is selected, and when the mode
// translates only 32 bits of the address asked for (asked), the address
// it walks (va) instead.
func appendAccessNote(b []byte, acc x86.Access, hasVA bool, asked, va x86.GVA) []byte {
	b = append(b, acc.Kind.String()...)
	if acc.User {
		b = append(b, ", user"...)
	} else {
		b = append(b, ", supervisor"...)
	}
	if !hasVA {
		b = append(b, " (no access yet)"...)
	}
	if asked != va {
		// Outside long mode only 32 bits are translated: say so rather
		// than show another address as if it were the one asked for.
		b = append(b, " · "...)
		b = appendHex(b, uint64(asked))
		b = append(b, " cut to the 32 bits this mode translates"...)
	}
	return b
}

// appendNoPaging is the walk of a guest without paging: none.
func appendNoPaging(b []byte, va uint64) []byte {
	b = append(b, "No paging: linear address "...)
	b = appendHex(b, va)
	b = append(b, " is guest-physical address "...)
	b = appendHex(b, va)
	return append(b, '.')
}

// appendEntryTarget writes a present entry after its flag chips: where
// it points ("→ 0x200000 2M" for a big page), the protection key of an
// IA-32e leaf when keys says the format has them and it is not 0
// (" K1"), and when raw, the entry's value in its own width.
func appendEntryTarget(b []byte, e x86.Entry, lv *x86.Level, leaf, keys, raw bool) []byte {
	b = append(b, "→ "...)
	switch {
	case leaf && lv.Big(e):
		b = appendHex(b, uint64(lv.PageBase(e)))
		b = append(b, ' ')
		b = appendSize(b, lv.Covers())
	default:
		b = appendHex(b, uint64(e)&lv.FrameMask)
	}
	if leaf && keys && e.Key() != 0 {
		b = append(b, " K"...)
		b = appendUint(b, uint64(e.Key()))
	}
	if raw {
		b = append(b, "  "...)
		digits := 16
		if lv.EntrySize == 4 {
			digits = 8
		}
		b = appendHexW(b, uint64(e), digits)
	}
	return b
}

// appendNotPresent writes an entry that is not present, and its note.
func appendNotPresent(b []byte, note string) []byte {
	b = append(b, "not present"...)
	if note != "" {
		b = append(b, " · "...)
		b = append(b, note...)
	}
	return b
}

// appendBigPageNote stands in the guest column for a level the walk
// does not reach because the entry above maps a big page: "— the PD
// entry maps a 2M page".
func appendBigPageNote(b []byte, leaf x86.LevelKind, pageShift uint) []byte {
	b = append(b, "— the "...)
	b = append(b, leaf.String()...)
	b = append(b, " entry maps a "...)
	b = appendSize(b, 1<<pageShift)
	return append(b, " page"...)
}

// guestNote is the note beside the guest entry of step gi, and its
// colour: the fault where the walk faulted, the PDPTE registers of PAE.
func guestNote(w *x86.Walk, gi int) (string, color.RGBA) {
	note, col := "", ColDim
	if w.Fault.Kind != x86.NoFault && gi == w.N-1 && w.Fault.IsPF() {
		note, col = faultNote(&w.Fault), Vermilion
	}
	if w.Steps[gi].Register {
		note = "PDPTE register"
	}
	return note, col
}

// shadowNote is the note beside shadow (or nested) step s at level lv,
// and its colour; gi is the guest step of the same level, -1 for none.
func shadowNote(s *engine.ShadowStep, lv *x86.Level, w *x86.Walk, gi int, nested bool) (string, color.RGBA) {
	switch {
	case s.Stale:
		return "stale", Purple
	case !s.Entry.Present() && !nested:
		return shadowMissNote(w), Shade(SkyBlue, 0.3)
	case s.Entry.Present() && s.Entry.Has(mappingBit) && lv.Kind != x86.LevelPT && !nested:
		return "hypervisor mapping", Vermilion
	case s.Entry.Present() && gi < 0 && w.N > 0 && w.Steps[w.N-1].Big && !nested:
		return "a 4K piece of the big page", ColDim
	}
	return "", ColDim
}

// faultNote is the short note beside the entry where the walk faulted:
// the kind, or for a rule of SMEP, SMAP or a protection key, the rule.
func faultNote(f *x86.Fault) string {
	switch {
	case f.Kind != x86.Protection || !f.Rule.Modern():
		return "fault: " + f.Kind.String()
	case f.Rule == x86.RuleSMEP:
		return "fault: SMEP"
	case f.Rule == x86.RuleSMAP:
		return "fault: SMAP"
	}
	return "fault: key " + string(appendUint(nil, uint64(f.Key)))
}

// shadowMissNote says why a shadow entry on the path of walk w is not
// present.
func shadowMissNote(w *x86.Walk) string {
	switch {
	case w.N > 0 && !w.OK() && w.Fault.Kind != x86.Protection:
		return "the guest has no mapping either"
	case w.N > 0 && w.Steps[w.N-1].Leaf && !w.Steps[w.N-1].Entry.Accessed():
		return "until the guest's A bit is set"
	}
	return "built on the next access"
}

// appendPFLine is the outcome of a walk that faults for want of a
// mapping (not for protection): "#PF to the guest: not present at PD,
// error code 0x0 = not present, read, supervisor".
func appendPFLine(b []byte, w *x86.Walk) []byte {
	b = append(b, "#PF to the guest: "...)
	b = append(b, w.Fault.Kind.String()...)
	b = append(b, " at "...)
	b = append(b, w.Steps[w.Fault.Level].Level.String()...)
	b = append(b, ", "...)
	return appendErrorCode(b, w.Fault.Code)
}

// appendPFReason is a protection fault's rule in words ("#PF to the
// guest: SMAP: supervisor read of a user page with AC=0"); the error
// code follows on the same line or, in a narrow panel, on the next.
func appendPFReason(b []byte, f *x86.Fault) []byte {
	b = append(b, "#PF to the guest: "...)
	return append(b, f.Reason()...)
}

// appendErrorCode writes "error code 0x3 = present + write".
func appendErrorCode(b []byte, code x86.ErrorCode) []byte {
	b = append(b, "error code "...)
	b = appendHex(b, uint64(code))
	return appendErrorBits(b, code)
}

// appendErrorBits spells a #PF error code's bits: " = present + write",
// or for none of them " = not present, read, supervisor".
func appendErrorBits(b []byte, code x86.ErrorCode) []byte {
	b = append(b, " = "...)
	n := 0
	for _, bit := range [...]struct {
		c    x86.ErrorCode
		name string
	}{{x86.PFPresent, "present"}, {x86.PFWrite, "write"}, {x86.PFUser, "user"}, {x86.PFRsvd, "reserved bit"}, {x86.PFFetch, "fetch"}, {x86.PFPK, "protection key"}} {
		if code&bit.c != 0 {
			if n > 0 {
				b = append(b, " + "...)
			}
			b = append(b, bit.name...)
			n++
		}
	}
	if n == 0 {
		b = append(b, "not present, read, supervisor"...)
	}
	return b
}

// appendWalk2DTitle heads the two-dimensional walk of rows guest
// references (the levels and the data) by cols nested ones: "2D walk:
// 24 memory references for one TLB miss (5 × 5 − 1)", and what the last
// access made when memRefs is not 0.
func appendWalk2DTitle(b []byte, rows, cols int, memRefs uint64) []byte {
	b = append(b, "2D walk: "...)
	b = appendUint(b, uint64(rows*cols-1))
	b = append(b, " memory references for one TLB miss ("...)
	b = appendUint(b, uint64(rows))
	b = append(b, " × "...)
	b = appendUint(b, uint64(cols))
	b = append(b, " − 1)"...)
	if memRefs > 0 {
		b = append(b, "; the last access made "...)
		b = appendUint(b, memRefs)
	}
	return b
}

// appendNestedHeading heads a column of the 2D walk: a nested level
// ("nPML4", or "n4" when short), or when read, the read of the guest's
// entry itself ("read", "rd").
func appendNestedHeading(b []byte, k x86.LevelKind, read, short bool) []byte {
	switch {
	case read && short:
		return append(b, "rd"...)
	case read:
		return append(b, "read"...)
	case short:
		return append(b, 'n', byte('0'+int(k)))
	}
	return append(append(b, 'n'), k.String()...)
}
