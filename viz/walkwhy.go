package viz

import (
	"fmt"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// The walk inspector's words: the notes beside entries, the spelling of
// a #PF error code and the reasons a shadow entry differs from the
// guest's. Nothing here draws.

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

// shadowMissNote says why a shadow entry on the path is not present.
func (c *ctx) shadowMissNote(f *x86.Format, w *x86.Walk, gi int) string {
	switch {
	case w.N > 0 && !w.OK() && w.Fault.Kind != x86.Protection:
		return "the guest has no mapping either"
	case w.N > 0 && w.Steps[w.N-1].Leaf && !w.Steps[w.N-1].Entry.Accessed():
		return "until the guest's A bit is set"
	}
	return "built on the next access"
}

// appendErrorBits spells a #PF error code: " (P W U)".
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

// reasons lists, in plain words, why the shadow (or nested) entry of
// the walk is what it is.
func (c *ctx) reasons(f *x86.Format, w *x86.Walk, steps []engine.ShadowStep, gpa x86.GPA, gpaOK, nested bool) []string {
	e := c.m.Engine
	var out []string
	if nested {
		out = append(out, "Nested paging: the processor walks the guest's own tables; every guest-physical address it meets (each table entry, then the page) goes through the nested tables, which the hypervisor fills on demand (nested page faults).")
		return out
	}
	if w.Fault.Kind == x86.NonCanonical {
		return append(out, "Nothing to shadow: the address is rejected before any table is read.")
	}
	if !w.OK() && w.Fault.Kind != x86.Protection {
		return append(out, "The guest's own tables do not map the address: the hypervisor reflects the page fault to the guest, whose handler decides what to do.")
	}
	if w.Fault.Kind == x86.Protection && w.Fault.Rule.Modern() {
		// The rule is the guest's own; how the shadow still enforces it.
		out = append(out, "SMEP, SMAP and protection keys depend on CR4, RFLAGS.AC and PKRU, not on the entry alone, so the shadow entry cannot say them: it keeps the guest's U bit and key, every TLB or shadow hit is checked against what the current CPL, AC and PKRU refuse, and a refused access traps and is reflected to the guest.")
	}
	for _, m := range e.Mappings() {
		if m.Range().Contains(w.VA) && f.Mode.Paging() && !f.Mode.Long() {
			out = append(out, fmt.Sprintf("The address lies in the hypervisor's own mapping %q: the guest must not use it (the mapping moves if the guest puts tables there).", m.Name))
		}
	}
	sf := e.ShadowFormat()
	leafOK := len(steps) == sf.N && steps[len(steps)-1].Entry.Present()
	gl := w.Leaf()
	p := pageOf(e.Memory(), gpa)
	name := c.handlerName(gpa)
	switch {
	case p == nil:
		out = append(out, "No RAM behind the guest-physical address: every access is emulated (reads give all ones), so the shadow entry stays not present.")
	case p.Type() == phys.TypeMMIO || p.Handler() == phys.HandlerAll:
		out = append(out, "Every access to this page must reach a handler ("+name+"): the shadow entry stays not present so that each access traps and is emulated.")
	case !leafOK && len(steps) < sf.N:
		out = append(out, "No shadow page table covers the address yet: the first access traps (#PF) and SyncPT creates one from the guest's table.")
	case !leafOK && steps[len(steps)-1].Stale:
		out = append(out, "The guest changed its entry; the shadow entry is stale and is resynced when the guest flushes its TLB (invlpg or a CR3 load).")
	case !leafOK && gl != nil && !gl.Entry.Accessed():
		out = append(out, "Accessed-bit emulation: the guest's A bit is clear, so the shadow entry is not present; the first access traps, the engine sets A in the guest's entry and maps the page.")
	case !leafOK:
		out = append(out, "Not synced yet: shadow entries are filled on demand; the next access traps (#PF) and SyncPage copies the guest's entry.")
	}
	if !leafOK {
		return out
	}
	s := steps[len(steps)-1].Entry
	out = append(out, "The shadow entry holds the host-physical frame where the hypervisor keeps the guest's page; the guest's entry holds the guest-physical one.")
	if gl == nil {
		return out
	}
	g := gl.Entry
	if g.Writable() && w.Rights&x86.RightWrite != 0 && !s.Writable() {
		monitored := c.isMonitored(x86.PageDown(gpa))
		switch {
		case steps[len(steps)-1].Entry.Has(x86.AVL9):
			out = append(out, "Dirty-bit emulation: the guest's D bit is clear, so the shadow maps the page read-only; the first write traps, sets D in the guest's entry and makes the shadow writable.")
		case monitored:
			out = append(out, "Write monitoring: the page holds a guest page table the pool shadows; writes trap, so the engine can update the shadow before the guest's change takes effect.")
		case p.Handler() == phys.HandlerWrite:
			out = append(out, "A write handler ("+name+") watches the page: writes trap and are emulated.")
		case !p.Type().Writable():
			out = append(out, "ROM: the guest's writes are dropped, so the shadow maps it read-only.")
		case p.State() == phys.StateZero:
			out = append(out, "The page is still the shared zero page: read-only until the first write gives it a host page of its own.")
		case p.State() == phys.StateShared:
			out = append(out, "The page is shared with identical pages (copy on write): read-only until a write gives it a private copy.")
		case p.State() == phys.StateWriteMonitored:
			out = append(out, "The page is write-monitored: read-only until the first write is recorded.")
		case p.State() == phys.StateBallooned:
			out = append(out, "The balloon took the page: reads see zeros; a write traps and brings a fresh page back.")
		}
	}
	if g.Global() && !s.Global() {
		out = append(out, "The guest marks the page global, but CR4.PGE is off: the shadow entry is not global.")
	}
	if f.NX && g.NoExec() && !s.NoExec() && !e.ShadowFormat().NX {
		out = append(out, "The host's tables have no NX bit: the shadow cannot forbid execution, so fetches are checked against the guest's tables.")
	}
	if len(out) == 1 {
		out = append(out, "Otherwise the shadow grants what the guest grants.")
	}
	return out
}

// handlerName names the physical handler covering gpa.
func (c *ctx) handlerName(gpa x86.GPA) string {
	for _, h := range c.m.Engine.Handlers() {
		if h.Range.Contains(gpa) {
			if h.Name != "" {
				return h.Type.String() + " handler " + h.Name
			}
			return h.Type.String() + " handler"
		}
	}
	return "MMIO"
}
