package analysis

import (
	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// The fields a filter can name. A numeric field reports (value, true)
// when the event has it; a comparison with a field the event lacks is
// false whatever the operator, so `gva != 0x1000` matches accesses only
// (write `!(gva == 0x1000)` for every other event too).

type numField func(r *Record) (uint64, bool)

var numFields = map[string]numField{
	"i":  func(r *Record) (uint64, bool) { return r.Index, true },
	"as": func(r *Record) (uint64, bool) { return r.AS, true },
	// pcid and root split the address space: CR3 bits 11:0 (the PCID
	// when CR4.PCIDE=1) and the top-level table's address.
	"pcid": func(r *Record) (uint64, bool) { return r.AS & 0xfff, true },
	"root": func(r *Record) (uint64, bool) { return r.AS & 0x000f_ffff_ffff_f000, true },
	"cpl": func(r *Record) (uint64, bool) {
		return uint64(r.CPL), true
	},
	"gva": func(r *Record) (uint64, bool) {
		k := r.Event.Kind
		return r.Event.Addr, k.Access() || k == engine.EvInvlpg
	},
	"gpa": func(r *Record) (uint64, bool) {
		switch k := r.Event.Kind; {
		case k.Access():
			return uint64(r.GPA), r.OK
		case k == engine.EvPhysRead || k == engine.EvPhysWrite || k == engine.EvBalloon || k == engine.EvDeflate:
			return r.Event.Addr, true
		}
		return 0, false
	},
	"err": func(r *Record) (uint64, bool) {
		return uint64(r.Fault.Code), !r.OK && r.Fault.IsPF()
	},
	"value": func(r *Record) (uint64, bool) {
		switch k := r.Event.Kind; {
		case k == engine.EvRead || k == engine.EvPhysRead:
			return r.Value, r.OK
		case k == engine.EvWrite || k == engine.EvPhysWrite || k == engine.EvCPL:
			return r.Event.Value, true
		case k == engine.EvCR0 || k == engine.EvCR3 || k == engine.EvCR4 || k == engine.EvEFER:
			return r.Event.Value, true
		}
		return 0, false
	},
	"size": func(r *Record) (uint64, bool) {
		return uint64(r.Event.Size), r.Event.Kind.Sized()
	},
	"memrefs": func(r *Record) (uint64, bool) { return uint64(r.MemRefs), true },
}

// errBits are the #PF error-code bits by name: `err.w` is `err & 0x2`.
var errBits = map[string]x86.ErrorCode{
	"err.p":    x86.PFPresent,
	"err.w":    x86.PFWrite,
	"err.u":    x86.PFUser,
	"err.rsvd": x86.PFRsvd,
	"err.id":   x86.PFFetch,
	"err.i":    x86.PFFetch,
	"err.pk":   1 << 5,
}

type strField func(r *Record) string

var strFields = map[string]strField{
	"handler": func(r *Record) string { return r.Handler },
	"label":   func(r *Record) string { return r.Label },
}

// kindByName maps the text form's kind names to kinds (op==r, op==cr3).
var kindByName = func() map[string]engine.EventKind {
	m := make(map[string]engine.EventKind)
	for k := engine.EventKind(1); k.Valid(); k++ {
		m[k.String()] = k
	}
	return m
}()

// pathByName maps outcome path names to paths (path==sync-page).
var pathByName = func() map[string]engine.Path {
	m := make(map[string]engine.Path)
	for p := engine.Path(1); ; p++ {
		s := p.String()
		if len(s) > 5 && s[:5] == "Path(" {
			break
		}
		m[s] = p
	}
	return m
}()

// Fields lists every field name a filter accepts, for help texts.
func Fields() []string {
	return []string{"i", "op (or kind)", "gva", "gpa", "as", "pcid", "root", "cpl", "path", "ok", "err", "err.p", "err.w", "err.u",
		"err.rsvd", "err.id", "err.pk", "value", "size", "memrefs", "handler", "label"}
}
