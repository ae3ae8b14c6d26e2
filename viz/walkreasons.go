package viz

import (
	"fmt"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// Why a shadow entry differs from the guest's, in plain words: a pure
// function of the two walks and of what the engine says of the page,
// which (*ctx).whyFacts reads (walkresult.go).

// whyFacts is what reasons needs to know beyond the walks, read from
// the engine by (*ctx).whyFacts.
type whyFacts struct {
	mappings     []string // the hypervisor mappings that hold the address
	shadowLevels int      // levels of the shadow format
	shadowNX     bool     // the shadow format has an NX bit
	ram          bool     // a page descriptor covers the guest-physical address
	pageType     phys.PageType
	pageState    phys.PageState
	handler      phys.HandlerState // the stronger of its handlers
	handlerName  string            // the handler covering the page, or "MMIO"
	// monitored reports whether the pool watches writes to a guest page
	// (it holds a table the pool shadows). Asked only when it matters:
	// answering reads the whole pool.
	monitored func(page x86.GPA) bool
}

// reachesPage reports whether a walk gets as far as a page, so that why
// its shadow entry differs depends on the page (and reasons needs
// whyFacts): not for a non-canonical address, nor when the guest's own
// tables do not map it.
func reachesPage(w *x86.Walk) bool {
	return w.Fault.Kind != x86.NonCanonical && (w.OK() || w.Fault.Kind == x86.Protection)
}

// reasons lists, in plain words, why the shadow (or nested) entry of
// guest walk w is what it is: steps is the shadow walk of the same
// address, gpa the guest-physical address w reaches, and fx what the
// engine says of it (read only when reachesPage(w) and not nested).
func reasons(f *x86.Format, w *x86.Walk, steps []engine.ShadowStep, gpa x86.GPA, nested bool, fx *whyFacts) []string {
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
	if f.Mode.Paging() && !f.Mode.Long() {
		for _, name := range fx.mappings {
			out = append(out, fmt.Sprintf("The address lies in the hypervisor's own mapping %q: the guest must not use it (the mapping moves if the guest puts tables there).", name))
		}
	}
	leafOK := len(steps) == fx.shadowLevels && steps[len(steps)-1].Entry.Present()
	gl := w.Leaf()
	name := fx.handlerName
	switch {
	case !fx.ram:
		out = append(out, "No RAM behind the guest-physical address: every access is emulated (reads give all ones), so the shadow entry stays not present.")
	case fx.pageType == phys.TypeMMIO || fx.handler == phys.HandlerAll:
		out = append(out, "Every access to this page must reach a handler ("+name+"): the shadow entry stays not present so that each access traps and is emulated.")
	case !leafOK && len(steps) < fx.shadowLevels:
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
		monitored := fx.monitored != nil && fx.monitored(x86.PageDown(gpa))
		switch {
		case s.Has(x86.AVL9):
			out = append(out, "Dirty-bit emulation: the guest's D bit is clear, so the shadow maps the page read-only; the first write traps, sets D in the guest's entry and makes the shadow writable.")
		case monitored:
			out = append(out, "Write monitoring: the page holds a guest page table the pool shadows; writes trap, so the engine can update the shadow before the guest's change takes effect.")
		case fx.handler == phys.HandlerWrite:
			out = append(out, "A write handler ("+name+") watches the page: writes trap and are emulated.")
		case !fx.pageType.Writable():
			out = append(out, "ROM: the guest's writes are dropped, so the shadow maps it read-only.")
		case fx.pageState == phys.StateZero:
			out = append(out, "The page is still the shared zero page: read-only until the first write gives it a host page of its own.")
		case fx.pageState == phys.StateShared:
			out = append(out, "The page is shared with identical pages (copy on write): read-only until a write gives it a private copy.")
		case fx.pageState == phys.StateWriteMonitored:
			out = append(out, "The page is write-monitored: read-only until the first write is recorded.")
		case fx.pageState == phys.StateBallooned:
			out = append(out, "The balloon took the page: reads see zeros; a write traps and brings a fresh page back.")
		}
	}
	if g.Global() && !s.Global() {
		out = append(out, "The guest marks the page global, but CR4.PGE is off: the shadow entry is not global.")
	}
	if f.NX && g.NoExec() && !s.NoExec() && !fx.shadowNX {
		out = append(out, "The host's tables have no NX bit: the shadow cannot forbid execution, so fetches are checked against the guest's tables.")
	}
	if len(out) == 1 {
		out = append(out, "Otherwise the shadow grants what the guest grants.")
	}
	return out
}
