package app

import (
	"strings"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
	"github.com/pgm-explorer/pgm-explorer/viz"
)

// The guided tour: the modes-tour labels say what changed; each step
// here says where on the screen to see it (the tip, and the element the
// screen rings), and for the hypervisor chapters how to show it: nested
// paging replays the same guest with the nested engine, the mappings
// chapter opens the intermediate view. Steps are keyed by words of the
// label they go with, so that a reworded label loses its step rather
// than getting the wrong one.
type tourStep struct {
	key, tip string
	look     look
	nested   bool     // replay this step with nested paging
	ask      bool     // an exercise: stop before the step's first access and ask about it
	va       x86.GVA  // the address the walk follows at this step (0: the last access)
	view     viz.View // with setView: the view the step opens
	setView  bool
	// text, when set, is what the tour says in place of the label: the
	// labels of an imported guest are the importer's terse headings.
	text string
}

// look is an element of the screen a step rings: a panel, or a region
// of it (a level of the walk, the latest event's row, a pool page in
// use, the timeline's mark of the current label).
type look struct {
	panel string
	hit   viz.HitKind
	level x86.LevelKind // HitWalkLevel: which level
}

var (
	lookMode     = look{panel: "mode"}
	lookWalk     = look{panel: "walk"}
	lookHier     = look{panel: "hierarchy"}
	lookMemory   = look{panel: "memory"}
	lookPool     = look{panel: "pool", hit: viz.HitPoolPage}
	lookEvent    = look{panel: "log", hit: viz.HitOutcome}
	lookTimeline = look{panel: "timeline"}
	lookMappings = look{panel: "mappings"}
)

func walkLevel(k x86.LevelKind) look { return look{panel: "walk", hit: viz.HitWalkLevel, level: k} }

var tourSteps = []tourStep{
	{key: "with five it is", tip: "five steps in the walk inspector", look: walkLevel(x86.LevelPML5)},
	{key: "maps a 2 MiB page", tip: "the walk stops at the page directory: a 2 MiB page", look: walkLevel(x86.LevelPD)},
	{key: "Real mode", tip: "the mode bar at the top: Real mode, no paging; the guest has no tables, the hypervisor's shadow tables map its memory one to one", look: lookMode},
	{key: "read-only memory (ROM)", tip: "the memory map: the ROM range near 1 MiB, and the last read in Recent events", look: lookMemory},
	{key: "Protected mode without paging", tip: "CR0 in the mode bar: PE is on, PG still off", look: lookMode},
	{key: "builds its first page tables", tip: "nothing is translated yet: the tables are only bytes in guest memory", look: lookEvent},
	{key: "maps the memory holding its page tables", tip: "the memory map: the pages that will hold tables", look: lookMemory},
	{key: "splits into 10 + 10 + 12 bits", tip: "the walk inspector splits the address into its index fields", look: lookWalk, va: 0x400000},
	{key: "paging is on", tip: "the page-table panel: the guest's tables above, the shadow copy the CPU really uses below", look: lookHier},
	{key: "records its use of entries", tip: "the A and D flags light up in the walk inspector", look: walkLevel(x86.LevelPT), va: 0x400010},
	{key: "raises a page fault", tip: "the walk stops at the missing entry; the event turns red in Recent events", look: lookEvent, ask: true},
	{key: "handles the fault", tip: "a new green page appears in the page table; the retried access succeeds", look: lookHier},
	{key: "read-only by clearing its Writable bit", tip: "the W flag of the entry in the walk inspector", look: walkLevel(x86.LevelPT), va: 0x400010},
	{key: "Writing to the read-only page now faults", tip: "the error code under the walk, and the red event", look: lookEvent, ask: true},
	{key: "User mode (CPL 3)", tip: "CPL in the mode bar, and the U flags along the walk", look: lookMode},
	{key: "Big pages", tip: "the walk ends one level early, at a page directory entry with S (big page)", look: walkLevel(x86.LevelPD)},
	{key: "PAE paging", tip: "the mode bar: PAE; entries are now 8 bytes, 512 to a table", look: lookMode},
	{key: "To change the format of the tables", tip: "CR4.PAE and CR3 in the mode bar", look: lookMode},
	{key: "takes three steps", tip: "the walk inspector: PDPT, page directory, page table", look: lookWalk},
	{key: "no-execute bit", tip: "the X flag in the walk: reading works, fetching faults", look: walkLevel(x86.LevelPT)},
	{key: "has no NX bit", tip: "the fetch succeeds: no X flag along the walk", look: lookEvent},
	{key: "Long mode (64-bit)", tip: "a fourth level, the PML4, on top of the hierarchy", look: lookHier},
	{key: "upper half of the address space", tip: "a second path through the PML4 for the kernel's address", look: lookHier},
	{key: "To enter long mode", tip: "EFER in the mode bar: LME, then LMA", look: lookMode},
	{key: "Two virtual addresses, one physical page", tip: "both walks end at the same guest-physical page", look: lookWalk},
	{key: "canonical", tip: "#GP instead of #PF: the walk does not even start", look: lookEvent},
	{key: "maps a 1 GiB page", tip: "the walk ends at the PDPT", look: walkLevel(x86.LevelPDPT)},
	{key: "clears NX", tip: "the invlpg event, then a fetch that succeeds", look: lookEvent},
	{key: "5-level paging", tip: "a PML5 above the PML4", look: lookHier},
	{key: "LA57 can only change", tip: "CR4.LA57 in the mode bar", look: lookMode},
	{key: "Back to 4-level long mode", tip: "CR4 in the mode bar: LA57 is off again", look: lookMode},
	{key: "The TLB (translation lookaside buffer)", tip: "the second read is a tlb-hit in Recent events", look: lookEvent},
	{key: "runs invlpg 0x400000", tip: "the invlpg, then a read that walks again (not a tlb-hit)", look: lookEvent},
	{key: "Why shadow tables", tip: "each level of the walk has a guest row and a shadow row: their frames differ", look: walkLevel(x86.LevelPT)},
	{key: "The shadow pool", tip: "the pool panel: one page per guest table in use, by kind", look: lookPool},
	{key: "A sync on a fault", tip: "sync-page in Recent events: the hypervisor's fault, invisible to the guest", look: lookEvent},
	{key: "Dirty-bit tracking by write protection", tip: "dirty-trap, then a tlb-hit for the second write", look: lookEvent, ask: true},
	{key: "Write monitoring", tip: "pt-write in Recent events: the guest's write to its own table trapped", look: lookEvent},
	{key: "Nested paging (AMD", tip: "the mode bar says nested; the walk shows nested entries instead of shadow ones", look: lookMode, nested: true},
	{key: "The 2D walk", tip: "the grid under the walk: 24 memory references for one TLB miss", look: lookWalk, nested: true, view: viz.ViewWalk, setView: true, ask: true},
	{key: "A nested fault", tip: "nested-fault in Recent events", look: lookEvent, nested: true, view: viz.ViewWalk, setView: true, ask: true},
	{key: "Hypervisor mappings", tip: "view 5: the hypervisor's mappings in the guest's linear space", look: lookMappings, view: viz.ViewIntermediate, setView: true},
	{key: "The intermediate context", tip: "view 5: the intermediate tables beside the shadow ones", look: lookHier, view: viz.ViewIntermediate, setView: true},
	{key: "Today's MMU, PCIDs", tip: "the mode bar: PCIDE in CR4, and PCID 1 since CR3's low bits say so", look: lookMode, view: viz.ViewOverview, setView: true},
	{key: "CR3 bit 63", tip: "Recent events: after the cr3 with bit 63 (0x8000…), the reads of PCID 1 are tlb-hits", look: lookEvent},
	{key: "SMEP (supervisor-mode execution prevention", tip: "the walk: fault: SMEP at the page table entry, the rule in words and error code 0x11 under it", look: walkLevel(x86.LevelPT), ask: true, view: viz.ViewWalk, setView: true},
	{key: "SMAP (supervisor-mode access prevention", tip: "the walk: SMAP: supervisor read of a user page with AC=0; SMAP and AC 0 in the mode bar", look: lookWalk, ask: true, view: viz.ViewWalk, setView: true},
	{key: "stac and clac", tip: "Recent events: ac 1, a read that works, ac 0, the same read refused (smap-fault)", look: lookEvent, view: viz.ViewWalk, setView: true},
	{key: "Protection keys (CR4.PKE)", tip: "K3 in the walk's page table entry; PKE and PKRU 0x80 in the mode bar", look: walkLevel(x86.LevelPT), view: viz.ViewWalk, setView: true},
	{key: "Now the program's write", tip: "the walk: key 3: write disabled, error code 0x27 with the protection key bit", look: lookWalk, ask: true, view: viz.ViewWalk, setView: true},
	{key: "End of the tour", tip: "press o to try the other scenarios, or change the host mode and replay", look: lookTimeline, view: viz.ViewOverview, setView: true},
}

// linuxSteps tour the real Linux sample (linux.txt, a Debian 6.1 kernel
// imported from a QEMU core), keyed by the importer's labels.
var linuxSteps = []tourStep{
	{key: "page tables of Debian 6.1 under QEMU", tip: "the memory map: the guest's RAM, where the tables were written", look: lookMemory, view: viz.ViewOverview, setView: true,
		text: "A real Linux kernel's page tables. This guest is a Debian Linux 6.1 kernel that QEMU stopped while one of its programs ran; " +
			"explorer import turned QEMU's memory dump into this trace. First come the page tables reachable from the vCPU's CR3, " +
			"written into guest memory as they were: about ten thousand entries."},
	{key: "registers: CR0", tip: "the mode bar: LA57, SMEP, SMAP and PKE in CR4; AC and PKRU after the CPL", look: lookMode,
		text: "The vCPU's registers. CR4 = 0x751ef0 turns on 5-level paging (LA57), global pages, SMEP, SMAP and protection keys " +
			"(PKE), as Linux does on a processor that has them; EFER has long mode and NX. QEMU's dump holds no PKRU, so it is the value the " +
			"process printed: 0x55555550 leaves keys 0 and 1 open and takes access away from every other key (Linux opens only key 0; " +
			"this program allocated key 1)."},
	{key: "user mappings, one read per region", tip: "K1 in the walk's page table entry: a page with protection key 1", look: walkLevel(x86.LevelPT),
		va: 0x7f5ef3f49000, view: viz.ViewWalk, setView: true,
		text: "User and kernel, seen from the process. At CPL 3 the importer reads one byte of each region of the lower half, " +
			"the process's own: its code, data, heap, libraries and stack, every entry with U, and a page above 128 TiB that only " +
			"5-level paging can map. The walk follows 0x7f5ef3f49000, " +
			"eight pages the program protected with key 1 (K1 in the page table entry); PKRU leaves key 1 open, so the read works. " +
			"Five levels: PML5 first."},
	{key: "kernel mappings, one read per region", tip: "the hierarchy: PML5 and PML4 entries of the upper half, and the 2 MiB pages of the direct map", look: lookHier,
		va: 0xff11000000000000, view: viz.ViewHierarchy, setView: true,
		text: "The kernel's half. The upper half of the address space is the kernel's, the same tables in every process. At " +
			"0xff11000000000000 the direct map maps all of physical memory once, mostly in 2 MiB pages (big pages, orange in the page " +
			"directory, S among the flags), broken into 4 KiB pages where the rights change. Kernel entries have no U, are global (G: they stay in the " +
			"TLB across CR3 loads) and NX unless they hold code."},
	{key: "the vCPU at RIP", tip: "the walk of the program's code page: U on every level and no X (no-execute)", look: walkLevel(x86.LevelPT),
		va: 0x4018a5, view: viz.ViewWalk, setView: true,
		text: "Where QEMU stopped the vCPU: at CPL 3, running the program's code at 0x4018a5, a page whose entries all have U and " +
			"none NX, with its stack at 0x7ffd4d4d6580 (U and NX). No kernel entry has U, so this code cannot touch the kernel's " +
			"half; with SMEP and SMAP on, the kernel cannot run this page's code, nor read its data outside stac and clac."},
}

// tourStepFor is the step of a tour label, or nil.
func tourStepFor(label string) *tourStep {
	for _, steps := range [][]tourStep{tourSteps, linuxSteps} {
		for i := range steps {
			if strings.Contains(label, steps[i].key) {
				return &steps[i]
			}
		}
	}
	return nil
}

// tourTip is where to look for a tour label, or "".
func tourTip(label string) string {
	if st := tourStepFor(label); st != nil {
		return st.tip
	}
	return ""
}

// applyTourStep shows a step the way it asks when the replay arrives at
// it: the engine it needs (nested paging for the nested chapter, the
// trace's own otherwise) and its view. It runs when the player is idle.
func (a *App) applyTourStep() {
	if !a.tour || !isTour(a.p.src) || a.p.busy() {
		return
	}
	lab, ok := a.p.currentLabel()
	if !ok || lab.Event == a.tourShown {
		return
	}
	st := tourStepFor(lab.Text)
	if st == nil {
		return
	}
	wantNested := st.nested
	isNested := a.p.cfg.Paging == engine.PagingNested
	switch {
	case wantNested && !isNested:
		o := a.p.ovr
		o.Paging, o.PagingSet = engine.PagingNested, true
		a.tourOvr = true
		if a.Reconfigure(o) != nil {
			return
		}
		return // applied once the replay is back at this step
	case !wantNested && isNested && (a.tourOvr || a.p.ovr.PagingSet):
		// Also after a reload: the link carried the nested chapter's
		// engine, and this step is shown with the trace's own.
		a.tourOvr = false
		if a.Reconfigure(Overrides{}) != nil {
			return
		}
		return
	}
	a.tourShown = lab.Event
	if st.setView {
		a.SetView(st.view)
	}
	// The address the step talks about, when the last access is
	// another (the guest only wrote its tables); a step without one
	// lets the walk follow the accesses again.
	switch {
	case st.va != 0 && (!a.hasVA || a.tourVA):
		a.Select(st.va)
		a.tourVA = true
	case st.va == 0 && a.tourVA:
		a.tourVA = false
		a.Unselect()
	}
	if st.ask && a.exercises && a.ran {
		// Predict, then see: back to just before the step's first
		// access, and ask about it; the explanation waits for the answer.
		for i := 0; i < a.p.recent.Len(); i++ {
			if o := a.p.recent.At(i); o.Index > lab.Event && o.Event.Kind.Access() {
				a.Seek(o.Index)
				a.askAt = o.Index + 1 // +1: 0 means none
				return
			}
		}
	}
}

// askPending opens the question a step asked for once the replay is
// back before its access.
func (a *App) askPending() {
	if a.askAt == 0 || a.p.busy() {
		return
	}
	at := a.askAt - 1
	a.askAt = 0
	if a.p.pos() == at {
		a.Ask()
	}
}

// lookRect is where the current step's element is in the frame.
func (a *App) lookRect() (viz.Rect, bool) {
	lab, ok := a.p.currentLabel()
	if !a.tour || !ok {
		return viz.Rect{}, false
	}
	st := tourStepFor(lab.Text)
	if st == nil {
		return viz.Rect{}, false
	}
	l := &a.list
	var panel viz.Rect
	found := false
	for _, p := range l.Panels {
		if p.Name == st.look.panel {
			panel, found = p.R, true
		}
	}
	if !found {
		return viz.Rect{}, false
	}
	if st.look.hit == viz.HitNone {
		return panel, true
	}
	// The region of the kind asked for: the walk's level, the latest
	// event's row, the pool's most recent page.
	var best viz.Rect
	var bestEv uint64
	got := false
	for _, r := range l.Regions {
		id := r.ID
		if id.Kind != st.look.hit || !r.R.Overlaps(panel) {
			continue
		}
		switch id.Kind {
		case viz.HitWalkLevel:
			if id.Level == st.look.level && id.Hier == viz.HierGuest {
				return r.R, true
			}
		case viz.HitOutcome:
			if !got || id.Event >= bestEv {
				best, bestEv, got = r.R, id.Event, true
			}
		default:
			if !got {
				best, got = r.R, true
			}
		}
	}
	if got {
		return best, true
	}
	return panel, true
}

// drawLook rings the current step's element.
func (a *App) drawLook() {
	r, ok := a.lookRect()
	if !ok {
		return
	}
	u := &a.ui
	w := max(3, u.px(3))
	r = viz.R(r.X-w, r.Y-w, r.W+2*w, r.H+2*w)
	fr := viz.R(0, 0, a.list.Width, a.vizH)
	r = clip(r, fr)
	a.list.BeginPanel("look", r)
	a.list.Stroke(r, w, viz.Vermilion)
}

func clip(r, to viz.Rect) viz.Rect {
	x0, y0 := max(r.X, to.X), max(r.Y, to.Y)
	x1, y1 := min(r.Right(), to.Right()), min(r.Bottom(), to.Bottom())
	return viz.R(x0, y0, max(x1-x0, 0), max(y1-y0, 0))
}
