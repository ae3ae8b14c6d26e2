package engine

import (
	"errors"
	"fmt"
	"sort"

	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// Virtual handlers watch a range of guest virtual addresses. The engine
// resolves each covered page to the guest physical page it maps (the
// original's phys-to-virt cache), marks those physical pages so that
// accesses trap, and calls the handler when an access reaches one of
// them, whatever virtual address it came through (an alias). As in the
// original the resolution is refreshed when the guest may have remapped:
// at CR3 loads, mode changes and invlpg of a covered page.
//
// The refresh is what the original did on every SyncCR3 and called
// "this MUST go away": a walk of the guest tables for every covered page.
// Here each resolution remembers the guest table pages its walk read;
// writes to those pages (made to trap by their handler state) mark just
// the resolutions that depend on them stale, and resolutions are kept
// per CR3 value for the last few address spaces. A CR3 load then walks
// only what may have changed; SetVirtUpdate(false) restores the plain
// full walk, for comparison.

// VirtHandlerType is what a virtual handler traps. Numbers are stored.
type VirtHandlerType uint8

const (
	VirtWrite      VirtHandlerType = 1
	VirtAll        VirtHandlerType = 2
	VirtHypervisor VirtHandlerType = 3 // writes to hypervisor structures mapped in the guest
)

var virtTypeNames = [...]string{"", "write", "all", "hypervisor"}

func (t VirtHandlerType) String() string {
	if t > 0 && int(t) < len(virtTypeNames) {
		return virtTypeNames[t]
	}
	return fmt.Sprintf("VirtHandlerType(%d)", uint8(t))
}

// ParseVirtHandlerType reads a trace name.
func ParseVirtHandlerType(s string) (VirtHandlerType, error) {
	for t := VirtWrite; t <= VirtHypervisor; t++ {
		if t.String() == s {
			return t, nil
		}
	}
	return 0, fmt.Errorf("unknown virtual handler type %q (want write, all or hypervisor)", s)
}

func (t VirtHandlerType) pageState() phys.HandlerState {
	if t == VirtAll {
		return phys.HandlerAll
	}
	return phys.HandlerWrite
}

// ErrVirtConflict is a virtual handler overlapping another.
var ErrVirtConflict = errors.New("overlaps another virtual handler")

// VirtHandler is a registered virtual handler.
type VirtHandler struct {
	Type  VirtHandlerType
	Range x86.GVARange
	Name  string
	Calls uint64
	phys  []x86.GPA // per covered page: the guest page it resolves to, nilGPA when unmapped
}

// Pages is the resolution of each covered page (nilGPA: not mapped).
func (h *VirtHandler) Pages() []x86.GPA { return h.phys }

// virtRef names one covered page of one handler.
type virtRef struct {
	h *VirtHandler
	i int
}

// virtMemo is the resolution of every covered page (in list order, flat)
// under one CR3 value.
type virtMemo struct {
	root  uint64
	gpa   []x86.GPA
	stale []int // flat indexes to walk again
	all   bool  // everything must be walked again
	used  uint64
}

// depRef says that covered page idx of memo m was resolved by reading a
// table page; a write there makes it stale.
type depRef struct {
	m   *virtMemo
	idx int32
}

const virtMemos = 4 // address spaces remembered

type virtHandlers struct {
	list    []*VirtHandler
	byPhys  map[x86.GPA][]virtRef // guest page -> covered pages resolving to it (head first)
	deps    map[x86.GPA][]depRef  // guest table page -> resolutions that read it
	ndeps   int
	memos   []*virtMemo
	applied *virtMemo // the memo the phys-to-virt cache shows now
	clock   uint64
	plain   bool // full walk at every update (the original's way)
	walks   uint64
	flat    []virtRef // covered pages in list order; nil when the list changed
}

// SetVirtUpdate chooses the cheap update (true, the default) or the plain
// full walk of every covered page at every CR3 load.
func (g *guest) SetVirtUpdate(cheap bool) { g.virt.plain = !cheap }

// VirtHandlers lists the virtual handlers in address order.
func (g *guest) VirtHandlers() []*VirtHandler { return g.virt.list }

// VirtWalks is how many guest walks virtual-handler updates have made.
func (g *guest) VirtWalks() uint64 { return g.virt.walks }

// RegisterVirtHandler installs a handler over [start, start+size) of the
// guest's linear space and resolves its pages at once.
func (g *guest) RegisterVirtHandler(typ VirtHandlerType, start x86.GVA, size uint64, name string) error {
	r, ok := x86.MakeRange(start, size)
	if typ < VirtWrite || typ > VirtHypervisor || !ok || size == 0 {
		return fmt.Errorf("virtual handler %q: bad type or range", name)
	}
	vs := &g.virt
	i := sort.Search(len(vs.list), func(i int) bool { return vs.list[i].Range.Start >= r.Start })
	if (i < len(vs.list) && vs.list[i].Range.Overlaps(r)) || (i > 0 && vs.list[i-1].Range.Overlaps(r)) {
		return fmt.Errorf("virtual handler %q %v: %w", name, r, ErrVirtConflict)
	}
	n := (x86.PageNumber(r.Last()) - x86.PageNumber(r.Start)) + 1
	if n > 1<<20 {
		return fmt.Errorf("virtual handler %q covers %d pages (at most %d)", name, n, 1<<20)
	}
	h := &VirtHandler{Type: typ, Range: r, Name: name, phys: make([]x86.GPA, n)}
	for k := range h.phys {
		h.phys[k] = nilGPA
	}
	vs.list = append(vs.list, nil)
	copy(vs.list[i+1:], vs.list[i:])
	vs.list[i] = h
	vs.memos, vs.flat = nil, nil // resolutions are per handler set
	g.virtUpdate(true)
	return nil
}

// DeregisterVirtHandler removes the handler starting at start.
func (g *guest) DeregisterVirtHandler(start x86.GVA) error {
	vs := &g.virt
	for i, h := range vs.list {
		if h.Range.Start != start {
			continue
		}
		for k := range h.phys {
			g.virtSet(virtRef{h, k}, nilGPA)
		}
		vs.list = append(vs.list[:i], vs.list[i+1:]...)
		vs.memos, vs.flat = nil, nil
		g.virtDepsRebuild()
		return nil
	}
	return fmt.Errorf("deregister virtual handler at %v: %w", start, ErrNoHandler)
}

// virtSet changes the resolution of one covered page, keeping the
// phys-to-virt cache and the page states right.
func (g *guest) virtSet(ref virtRef, gpa x86.GPA) {
	old := ref.h.phys[ref.i]
	if old == gpa {
		return
	}
	vs := &g.virt
	if vs.byPhys == nil {
		vs.byPhys = map[x86.GPA][]virtRef{}
	}
	if old != nilGPA {
		refs := vs.byPhys[old]
		for k, x := range refs {
			if x == ref {
				refs = append(refs[:k], refs[k+1:]...)
				break
			}
		}
		if len(refs) == 0 {
			delete(vs.byPhys, old)
		} else {
			vs.byPhys[old] = refs
		}
	}
	ref.h.phys[ref.i] = gpa
	if gpa != nilGPA {
		vs.byPhys[gpa] = append(vs.byPhys[gpa], ref)
	}
	for _, p := range []x86.GPA{old, gpa} {
		if p != nilGPA {
			g.setPageState(p)
		}
	}
}

// virtPageState is the virtual handler state of a guest page.
func (g *guest) virtPageState(page x86.GPA) phys.HandlerState {
	st := phys.HandlerNone
	for _, ref := range g.virt.byPhys[page] {
		st = max(st, ref.h.Type.pageState())
	}
	return st
}

// resolve walks the guest tables for the covered page at flat index idx
// of memo m without side effects, and records the table pages it read.
func (g *guest) resolve(m *virtMemo, idx int, ref virtRef) x86.GPA {
	va := x86.PageDown(ref.h.Range.Start) + x86.GVA(uint64(ref.i)<<x86.PageShift)
	var w x86.Walk
	g.format.Walk(g.mem, g.regs.TableRoot(), va, x86.Access{Kind: x86.Read}, &w)
	vs := &g.virt
	vs.walks++
	if !vs.plain {
		for k := 0; k < w.N; k++ {
			if w.Steps[k].Register {
				continue
			}
			t := x86.PageDown(w.Steps[k].EntryAddr)
			if vs.deps == nil {
				vs.deps = map[x86.GPA][]depRef{}
			}
			if len(vs.deps[t]) == 0 {
				defer g.setPageState(t) // the table page starts trapping writes
			}
			vs.deps[t] = append(vs.deps[t], depRef{m, int32(idx)})
			vs.ndeps++
		}
	}
	if !w.OK() {
		return nilGPA
	}
	return x86.PageDown(w.GPA)
}

// refs lists the covered pages in flat order (kept until the handler list
// changes: an update must not allocate).
func (vs *virtHandlers) refs() []virtRef {
	if vs.flat == nil {
		for _, h := range vs.list {
			for i := range h.phys {
				vs.flat = append(vs.flat, virtRef{h, i})
			}
		}
	}
	return vs.flat
}

// memoFor finds or makes the memo of the current address space.
func (g *guest) memoFor(root uint64, n int) *virtMemo {
	vs := &g.virt
	vs.clock++
	for _, m := range vs.memos {
		if m.root == root {
			m.used = vs.clock
			return m
		}
	}
	m := &virtMemo{root: root, gpa: make([]x86.GPA, n), all: true, used: vs.clock}
	if len(vs.memos) < virtMemos {
		vs.memos = append(vs.memos, m)
		return m
	}
	oldest := 0
	for i, x := range vs.memos {
		if x.used < vs.memos[oldest].used {
			oldest = i
		}
	}
	if vs.applied == vs.memos[oldest] {
		vs.applied = nil
	}
	vs.memos[oldest] = m
	return m
}

// virtUpdate refreshes the phys-to-virt cache after the guest may have
// remapped (a CR3 load, a mode change, a registration): only stale
// resolutions of the current address space are walked again, unless the
// plain full walk was asked for or full is set.
func (g *guest) virtUpdate(full bool) {
	vs := &g.virt
	if len(vs.list) == 0 {
		return
	}
	if full || vs.plain {
		vs.memos, vs.applied = nil, nil
		if vs.ndeps > 0 {
			old := vs.deps
			vs.deps, vs.ndeps = nil, 0
			for t := range old {
				g.setPageState(t)
			}
		}
	}
	refs := vs.refs()
	root := g.regs.CR3 ^ uint64(g.format.Mode)<<56
	m := g.memoFor(root, len(refs))
	if !m.all && len(m.stale) == 0 && vs.applied == m {
		return // nothing the guest did can have changed a resolution
	}
	switch {
	case m.all:
		for idx, ref := range refs {
			m.gpa[idx] = g.resolve(m, idx, ref)
		}
		m.all = false
	default:
		for _, idx := range m.stale {
			m.gpa[idx] = g.resolve(m, idx, refs[idx])
		}
	}
	m.stale = m.stale[:0]
	for idx, ref := range refs {
		if ref.h.phys[ref.i] != m.gpa[idx] {
			g.virtSet(ref, m.gpa[idx])
		}
	}
	vs.applied = m
	if vs.ndeps > 8*len(refs)*virtMemos+64 {
		g.virtDepsRebuild()
	}
}

// virtDepsRebuild forgets every recorded dependency: the memos must then
// be rebuilt from walks.
func (g *guest) virtDepsRebuild() {
	vs := &g.virt
	old := vs.deps
	vs.deps, vs.ndeps = nil, 0
	vs.memos, vs.applied = nil, nil
	for t := range old {
		g.setPageState(t)
	}
}

// virtTableWrite is told of a write to a guest table page that
// resolutions depend on: they become stale.
func (g *guest) virtTableWrite(page x86.GPA) {
	vs := &g.virt
	for _, d := range vs.deps[page] {
		d.m.stale = append(d.m.stale, int(d.idx))
	}
	vs.ndeps -= len(vs.deps[page])
	delete(vs.deps, page)
	g.setPageState(page)
}

// virtDepState is the handler state the dependency tracking needs on a
// page: writes must be seen.
func (g *guest) virtDepState(page x86.GPA) phys.HandlerState {
	if len(g.virt.deps[page]) > 0 {
		return phys.HandlerWrite
	}
	return phys.HandlerNone
}

// virtInvlpg re-resolves the covered page containing va, if any (the
// guest invalidates after remapping it).
func (g *guest) virtInvlpg(va x86.GVA) {
	vs := &g.virt
	i := sort.Search(len(vs.list), func(i int) bool { return vs.list[i].Range.End > va })
	if i == len(vs.list) || !vs.list[i].Range.Contains(va) {
		return
	}
	h := vs.list[i]
	k := int(x86.PageNumber(va) - x86.PageNumber(h.Range.Start))
	ref := virtRef{h, k}
	flat := 0
	for _, x := range vs.list[:i] {
		flat += len(x.phys)
	}
	flat += k
	if m := vs.applied; m != nil && !vs.plain {
		m.gpa[flat] = g.resolve(m, flat, ref)
		g.virtSet(ref, m.gpa[flat])
		return
	}
	g.virtUpdate(true)
}

// virtHit calls the virtual handler of an access that reached a guest
// page one of them resolved to (through its own address or an alias).
func (g *guest) virtHit(gpa x86.GPA, acc x86.Access) {
	if len(g.virt.byPhys) == 0 {
		return // most guests have none: no map lookup per access
	}
	refs := g.virt.byPhys[x86.PageDown(gpa)]
	if len(refs) == 0 {
		return
	}
	h := refs[0].h
	if acc.Kind != x86.Write && h.Type != VirtAll {
		return
	}
	h.Calls++
	g.handlers.hit = h.Name
}
