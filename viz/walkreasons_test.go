package viz

import (
	"strings"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

func TestReasons(t *testing.T) {
	long := mustFormat(t, x86.ModeAMD64NX, 0)
	legacy := mustFormat(t, x86.Mode32Bit, 0)
	read := x86.Access{Kind: x86.Read}
	ok := walkOf(t, long, longTables(0), va4K, read)
	global := walkOf(t, long, longTables(uint64(x86.G)), va4K, read)
	noExec := walkOf(t, long, longTables(uint64(x86.NX)), va4K, read)
	missing := walkOf(t, long, longTables(0), vaNone, read)
	nonCanonical := walkOf(t, long, longTables(0), 0x0000_8000_0000_0000, read)
	legacyWalk := walkOf(t, legacy, mapMem{0x1000: 0x2000 | tabP, 0x2000: 0x3000 | leafP}, 0x123, read)
	gpa := ok.GPA
	shadow := func(leaf x86.Entry) []engine.ShadowStep {
		return []engine.ShadowStep{{Level: x86.LevelPML4, Entry: 0x10000 | x86.Entry(tabP)}, {Level: x86.LevelPDPT, Entry: 0x11000 | x86.Entry(tabP)},
			{Level: x86.LevelPD, Entry: 0x12000 | x86.Entry(tabP)}, {Level: x86.LevelPT, Entry: leaf}}
	}
	synced := shadow(0x20000 | x86.Entry(leafP))
	readOnly := shadow(0x20000 | x86.Entry(leafP&^uint64(x86.RW)))
	ram := whyFacts{shadowLevels: 4, shadowNX: true, ram: true, pageState: phys.StateAllocated, handlerName: "MMIO"}
	with := func(change func(*whyFacts)) *whyFacts {
		fx := ram
		change(&fx)
		return &fx
	}
	const (
		frame     = "The shadow entry holds the host-physical frame where the hypervisor keeps the guest's page; the guest's entry holds the guest-physical one."
		otherwise = "Otherwise the shadow grants what the guest grants."
	)
	tests := []struct {
		name   string
		f      *x86.Format
		w      *x86.Walk
		steps  []engine.ShadowStep
		nested bool
		fx     *whyFacts
		want   []string
	}{
		{"nested", long, ok, nil, true, &whyFacts{}, []string{"Nested paging: the processor walks the guest's own tables; every guest-physical address it meets (each table entry, then the page) goes through the nested tables, which the hypervisor fills on demand (nested page faults)."}},
		{"non-canonical", long, nonCanonical, nil, false, &whyFacts{}, []string{"Nothing to shadow: the address is rejected before any table is read."}},
		{"the guest maps nothing", long, missing, nil, false, &whyFacts{}, []string{"The guest's own tables do not map the address: the hypervisor reflects the page fault to the guest, whose handler decides what to do."}},
		{"no RAM", long, ok, synced[:3], false, &whyFacts{shadowLevels: 4},
			[]string{"No RAM behind the guest-physical address: every access is emulated (reads give all ones), so the shadow entry stays not present."}},
		{"MMIO", long, ok, synced[:3], false, with(func(fx *whyFacts) { fx.pageType, fx.handlerName = phys.TypeMMIO, "MMIO handler uart" }),
			[]string{"Every access to this page must reach a handler (MMIO handler uart): the shadow entry stays not present so that each access traps and is emulated."}},
		{"no shadow table yet", long, ok, synced[:3], false, &ram,
			[]string{"No shadow page table covers the address yet: the first access traps (#PF) and SyncPT creates one from the guest's table."}},
		{"stale", long, ok, []engine.ShadowStep{synced[0], synced[1], synced[2], {Level: x86.LevelPT, Stale: true}}, false, &ram,
			[]string{"The guest changed its entry; the shadow entry is stale and is resynced when the guest flushes its TLB (invlpg or a CR3 load)."}},
		{"not synced", long, ok, shadow(0), false, &ram,
			[]string{"Not synced yet: shadow entries are filled on demand; the next access traps (#PF) and SyncPage copies the guest's entry."}},
		{"synced", long, ok, synced, false, &ram, []string{frame, otherwise}},
		{"dirty-bit emulation", long, ok, shadow(0x20000 | x86.Entry(leafP&^uint64(x86.RW)) | x86.Entry(x86.AVL9)), false, &ram,
			[]string{frame, "Dirty-bit emulation: the guest's D bit is clear, so the shadow maps the page read-only; the first write traps, sets D in the guest's entry and makes the shadow writable."}},
		{"write monitoring", long, ok, readOnly, false, with(func(fx *whyFacts) { fx.monitored = func(p x86.GPA) bool { return p == x86.PageDown(gpa) } }),
			[]string{frame, "Write monitoring: the page holds a guest page table the pool shadows; writes trap, so the engine can update the shadow before the guest's change takes effect."}},
		{"write handler", long, ok, readOnly, false, with(func(fx *whyFacts) { fx.handler, fx.handlerName = phys.HandlerWrite, "physical handler log" }),
			[]string{frame, "A write handler (physical handler log) watches the page: writes trap and are emulated."}},
		{"ROM", long, ok, readOnly, false, with(func(fx *whyFacts) { fx.pageType = phys.TypeROM }),
			[]string{frame, "ROM: the guest's writes are dropped, so the shadow maps it read-only."}},
		{"zero page", long, ok, readOnly, false, with(func(fx *whyFacts) { fx.pageState = phys.StateZero }),
			[]string{frame, "The page is still the shared zero page: read-only until the first write gives it a host page of its own."}},
		{"shared", long, ok, readOnly, false, with(func(fx *whyFacts) { fx.pageState = phys.StateShared }),
			[]string{frame, "The page is shared with identical pages (copy on write): read-only until a write gives it a private copy."}},
		{"ballooned", long, ok, readOnly, false, with(func(fx *whyFacts) { fx.pageState = phys.StateBallooned }),
			[]string{frame, "The balloon took the page: reads see zeros; a write traps and brings a fresh page back."}},
		{"global without PGE", long, global, synced, false, &ram,
			[]string{frame, "The guest marks the page global, but CR4.PGE is off: the shadow entry is not global."}},
		{"no NX in the host's tables", long, noExec, synced, false, with(func(fx *whyFacts) { fx.shadowNX = false }),
			[]string{frame, "The host's tables have no NX bit: the shadow cannot forbid execution, so fetches are checked against the guest's tables."}},
		{"NX kept", long, noExec, shadow(0x20000 | x86.Entry(leafP) | x86.Entry(x86.NX)), false, &ram, []string{frame, otherwise}},
		{"in a hypervisor mapping", legacy, legacyWalk, synced[2:], false, &whyFacts{shadowLevels: 2, ram: true, mappings: []string{"switcher"}},
			[]string{"The address lies in the hypervisor's own mapping \"switcher\": the guest must not use it (the mapping moves if the guest puts tables there).", frame}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := reasons(tc.f, tc.w, tc.steps, tc.w.GPA, tc.nested, tc.fx)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("reasons\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}
