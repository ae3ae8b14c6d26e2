package analysis

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/pgm-explorer/pgm-explorer/engine"
)

// The cost model of `explorer compare`: an estimate in CPU cycles of
// what the hypervisor and the hardware spend translating the guest's
// accesses, built from five kinds of work the engine's outcomes reveal.
// It is a model for ranking configurations, not a simulator: caches,
// pipelines and the guest's own work are outside it.
//
// What counts as what:
//
//   - exit: a VM exit and re-entry, with the hypervisor's dispatch.
//     Shadow paging: every #PF the engine resolved (sync-page, sync-pt,
//     dirty-trap, accessed-trap, pool-evict, pt-write, wp-emulation,
//     handler) and every guest fault (intercepted, then reflected; SMEP,
//     SMAP and protection-key faults too), each CR0/CR3/CR4 write, EFER
//     write, invlpg and invpcid. Nested paging: nested faults, handler
//     calls, CR0/CR4 and EFER writes (the guest loads CR3, runs invlpg and
//     invpcid and takes its own #PF without an exit).
//   - emulate: an instruction the hypervisor decodes and emulates on top
//     of the exit: pt-write, wp-emulation, handler.
//   - walk-ref: one memory reference of a one-dimensional page walk: the
//     hardware walking the shadow tables after a TLB miss (shadow-hit:
//     one per shadow level), and the hypervisor walking the guest tables
//     in software at each resolved #PF and guest fault (one per guest level).
//   - nested-ref: one memory reference of a two-dimensional walk (the
//     engine counts them: up to 24 for four levels on four).
//   - tlb-hit: an access translated by the TLB.

// CostItem is one kind of work the model charges for.
type CostItem uint8

const (
	CostExit CostItem = iota
	CostEmulate
	CostWalkRef
	CostNestedRef
	CostTLBHit
	costItems
)

var costNames = [costItems]string{"exit", "emulate", "walk-ref", "nested-ref", "tlb-hit"}

func (c CostItem) String() string { return costNames[c] }

// CostModel gives the cycles of each item.
type CostModel [costItems]float64

// DefaultCosts are round figures of the orders published for recent x86
// processors; measure your own (below) for decisions that matter.
//
//   - exit 1200: a VM exit plus entry with a minimal handler costs from
//     several hundred to about two thousand cycles depending on the
//     processor generation and the hypervisor; kvm-unit-tests' x86/vmexit
//     test (the cpuid and vmcall cases) measures it on a given host.
//   - emulate 2000: decoding and emulating one instruction in the
//     hypervisor's x86 emulator, a few thousand cycles on top of the exit
//     (same test suite: the emulated-instruction cases).
//   - walk-ref 30 and nested-ref 30: a page-walk reference usually hits
//     the data caches (L2 at about a dozen cycles, L3 at about forty) or
//     the walk caches; one figure between the two for both kinds, so the
//     model's difference between shadow and nested paging comes from how
//     many references each makes (up to 24 per 2D walk, after Bhargava et
//     al., "Accelerating Two-Dimensional Page Walks for Virtualized
//     Systems", ASPLOS 2008), not from a guess about their latency.
//   - tlb-hit 1: an address translated in the first-level TLB costs
//     about a cycle, hidden in the cache access.
var DefaultCosts = CostModel{1200, 2000, 30, 30, 1}

// ParseCosts reads a cost file: lines `name = cycles` (names as
// CostItem.String prints them), `#` comments and blank lines. Items not
// named keep their default. Errors name the line.
func ParseCosts(r io.Reader, name string) (CostModel, error) {
	m := DefaultCosts
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		text, _, _ := strings.Cut(sc.Text(), "#")
		text = strings.TrimSpace(text)
		if text == "" {
			continue
		}
		k, v, ok := strings.Cut(text, "=")
		if !ok {
			return m, fmt.Errorf("%s:%d: want `name = cycles`, got %q", name, line, text)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		item := -1
		for i, n := range costNames {
			if n == k {
				item = i
			}
		}
		if item < 0 {
			return m, fmt.Errorf("%s:%d: unknown cost %q (want %s)", name, line, k, strings.Join(costNames[:], ", "))
		}
		c, err := strconv.ParseFloat(v, 64)
		if err != nil || !(c >= 0 && c <= 1e9) { // written so that NaN fails too
			return m, fmt.Errorf("%s:%d: %s: cycles %q is not a number from 0 to 1e9", name, line, k, v)
		}
		m[item] = c
	}
	if err := sc.Err(); err != nil {
		return m, fmt.Errorf("%s: %w", name, err)
	}
	return m, nil
}

// Work is a count of each cost item.
type Work [costItems]uint64

// Cycles is the cost of w under m.
func (m *CostModel) Cycles(w *Work) float64 {
	var c float64
	for i, n := range w {
		c += float64(n) * m[i]
	}
	return c
}

// charge adds the work of one outcome: paging is the engine's, guest
// and shadow the levels of the guest's and the shadow (or nested)
// format when it ran.
func charge(w *Work, o *engine.Outcome, paging engine.Paging, guest, shadow int) {
	nested := paging != engine.PagingShadow
	switch o.Event.Kind {
	case engine.EvCR0, engine.EvCR4, engine.EvEFER:
		w[CostExit]++
		return
	case engine.EvCR3, engine.EvInvlpg, engine.EvInvpcid:
		if !nested {
			w[CostExit]++
		}
		return
	}
	w[CostNestedRef] += uint64(o.MemRefs)
	switch o.Path {
	case engine.PathTLBHit:
		w[CostTLBHit]++
	case engine.PathShadowHit:
		w[CostWalkRef] += uint64(shadow)
	case engine.PathSyncPage, engine.PathSyncPT, engine.PathDirtyTrap, engine.PathAccessedTrap, engine.PathPoolEvict:
		w[CostExit]++
		w[CostWalkRef] += uint64(guest)
	case engine.PathGuestFault, engine.PathSMEPFault, engine.PathSMAPFault, engine.PathKeyFault:
		if !nested {
			w[CostExit]++
			w[CostWalkRef] += uint64(guest)
		}
	case engine.PathMonitorWrite, engine.PathWPEmulation, engine.PathHandler:
		w[CostExit]++
		w[CostEmulate]++
	case engine.PathNestedFault:
		w[CostExit]++
	}
}
