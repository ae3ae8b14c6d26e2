package engine

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// Saved states: the whole guest-visible machine (registers, memory,
// devices' handlers) as a plain value. Shadow tables are not part of it:
// loading forces a full resync, as the original's did, so a state taken
// from one engine configuration loads in any other with the same memory
// layout. The engine keeps no encoding of states: package traces writes
// and reads them (msgpack, versioned), and trace save/restore events keep
// the values themselves.

// SavedStateVersion is the version of State's content, which the
// encodings record; a State of another version does not load.
const SavedStateVersion = 1

// Errors of loading a state, to match with errors.Is. NotState, Version
// and Corrupt (of the bytes) come from the decoders in package traces;
// Config and Corrupt (of the content) from LoadState.
var (
	ErrStateVersion  = errors.New("saved state: unsupported version")
	ErrStateConfig   = errors.New("saved state: configuration mismatch")
	ErrStateCorrupt  = errors.New("saved state: corrupt or truncated")
	ErrStateNotState = errors.New("saved state: not a saved state")
)

// State is the guest-visible machine at one event.
type State struct {
	Version  int // SavedStateVersion
	Ranges   []StateRange
	MaxPhys  uint8
	Regs     StateRegs
	Events   uint64 // events applied
	Handlers []StateHandler
	Mappings []StateMapping
	Fixed    []uint64    // base and size when the mappings are fixed, else empty
	Pages    []StatePage // in address order
}

// StateMapping is where a hypervisor mapping was; loading matches
// mappings by name and size, as the original did.
type StateMapping struct {
	Name string
	Size uint64
	Base uint64
}

// StateRange is one guest physical range; it must match the loading
// machine's.
type StateRange struct {
	Type  uint8 // phys.PageType
	Start uint64
	Size  uint64
	Name  string
}

// StateRegs are the paging registers.
type StateRegs struct {
	CR0, CR3, CR4, EFER uint64
	CPL                 uint8
	PDPTE               [4]uint64
	// RFLAGS.AC and PKRU (states saved before they existed load as 0,
	// their value then). The PCID is CR3[11:0] with CR4.PCIDE.
	AC   bool
	PKRU uint32
}

// StateHandler is one physical access handler with its counters, the
// pages turned off and an MMIO device's registers.
type StateHandler struct {
	Type   uint8 // PhysHandlerType
	Start  uint64
	Size   uint64
	Name   string
	Reads  uint64
	Writes uint64
	Off    []uint64   // pages turned off, sorted
	Regs   [][]uint64 // MMIO bytes as (address, value) pairs, sorted
}

// StatePage is one page that is not a zero page: its bytes, or nothing
// for a ballooned page.
type StatePage struct {
	GPA       uint64
	Ballooned bool
	Data      []byte // 4 KiB
}

// state takes the guest-visible machine; the value shares nothing with
// the engine.
func (g *guest) state() *State {
	h := g.stateHeader()
	g.eachSavedPage(func(gpa x86.GPA, ballooned bool) {
		p := StatePage{GPA: uint64(gpa), Ballooned: ballooned}
		if !ballooned {
			p.Data = bytes.Clone(g.mem.PageBytes(gpa))
		}
		h.Pages = append(h.Pages, p)
	})
	return h
}

// stateHeader is the machine's state without its pages.
func (g *guest) stateHeader() *State {
	h := &State{Version: SavedStateVersion, MaxPhys: g.cfg.MaxPhys, Events: g.next,
		Regs: StateRegs{g.regs.CR0, g.regs.CR3, g.regs.CR4, g.regs.EFER, g.regs.CPL, g.regs.PDPTE, g.regs.AC, g.regs.PKRU}}
	for _, r := range g.cfg.Ranges {
		h.Ranges = append(h.Ranges, StateRange{uint8(r.Type), uint64(r.Start), r.Size, r.Name})
	}
	for _, ph := range g.handlers.list {
		sh := StateHandler{Type: uint8(ph.Type), Start: uint64(ph.Range.Start), Size: ph.Range.Len(), Name: ph.Name,
			Reads: ph.Reads, Writes: ph.Writes}
		for p := range ph.off {
			sh.Off = append(sh.Off, uint64(p))
		}
		sortUint64(sh.Off)
		for a, v := range ph.regs {
			sh.Regs = append(sh.Regs, []uint64{uint64(a), uint64(v)})
		}
		sortPairs(sh.Regs)
		h.Handlers = append(h.Handlers, sh)
	}
	if g.mappingsSaved != nil {
		h.Mappings, h.Fixed = g.mappingsSaved()
	} else {
		// An engine without a hypervisor still declares the layout, so
		// that states stay interchangeable.
		for _, m := range g.cfg.Mappings {
			h.Mappings = append(h.Mappings, StateMapping{Name: m.Name, Size: (m.Size + mapUnit - 1) &^ (mapUnit - 1)})
		}
	}
	return h
}

// eachSavedPage calls fn, in address order, for the pages a state
// records: those not on the zero page, each either ballooned or with
// bytes (MMIO pages have none to save).
func (g *guest) eachSavedPage(fn func(gpa x86.GPA, ballooned bool)) {
	for _, r := range g.mem.Ranges() {
		// Only the pages not on the zero page: the cost is that of the
		// memory in use, not of the RAM's size.
		r.EachInUse(func(i int) {
			switch p := r.Pages[i]; {
			case p.State() == phys.StateBallooned:
				fn(r.GPA(i), true)
			case p.Frame() != 0 && r.Spec.Type != phys.TypeMMIO:
				fn(r.GPA(i), false)
			}
		})
	}
}

// checkState checks a state against this machine's configuration
// without changing anything.
func (g *guest) checkState(h *State) error {
	if h == nil {
		return fmt.Errorf("%w: no state", ErrStateCorrupt)
	}
	switch {
	case h.Version != SavedStateVersion:
		return fmt.Errorf("%w %d (this program reads version %d)", ErrStateVersion, h.Version, SavedStateVersion)
	case h.MaxPhys != g.cfg.MaxPhys || len(h.Ranges) != len(g.cfg.Ranges):
		return fmt.Errorf("%w: the saved machine has %d ranges and MAXPHYADDR %d, this one %d and %d",
			ErrStateConfig, len(h.Ranges), h.MaxPhys, len(g.cfg.Ranges), g.cfg.MaxPhys)
	}
	if len(h.Mappings) != len(g.cfg.Mappings) {
		return fmt.Errorf("%w: %d hypervisor mappings in the state, %d here", ErrStateConfig, len(h.Mappings), len(g.cfg.Mappings))
	}
	for _, sm := range h.Mappings {
		found := false
		for _, c := range g.cfg.Mappings {
			found = found || (c.Name == sm.Name && (c.Size+mapUnit-1)&^(mapUnit-1) == sm.Size)
		}
		if !found || sm.Base%mapUnit != 0 || sm.Base+sm.Size > 1<<32 {
			return fmt.Errorf("%w: mapping %q of %#x bytes at %#x has no match here", ErrStateConfig, sm.Name, sm.Size, sm.Base)
		}
	}
	if len(h.Fixed) != 0 && len(h.Fixed) != 2 {
		return fmt.Errorf("%w: fixed mappings", ErrStateCorrupt)
	}
	total := 0
	for i, r := range h.Ranges {
		c := g.cfg.Ranges[i]
		if r.Type != uint8(c.Type) || r.Start != uint64(c.Start) || r.Size != c.Size || r.Name != c.Name {
			return fmt.Errorf("%w: range %d is %v %#x+%#x %q in the state, %v %v+%#x %q here",
				ErrStateConfig, i, phys.PageType(r.Type), r.Start, r.Size, r.Name, c.Type, c.Start, c.Size, c.Name)
		}
		total += int(r.Size >> x86.PageShift)
	}
	if len(h.Pages) > total {
		return fmt.Errorf("%w: %d page records for %d pages", ErrStateCorrupt, len(h.Pages), total)
	}
	if _, err := x86.NewFormat(x86.GuestMode(h.Regs.CR0, h.Regs.CR4, h.Regs.EFER), h.Regs.CR4, h.MaxPhys); err != nil || h.Regs.CPL > 3 {
		return fmt.Errorf("%w: registers", ErrStateCorrupt)
	}
	// Handlers must register cleanly on this machine: check on a copy
	// that has the ranges the handlers touch (only those: a copy of a
	// 64 GiB RAM range would cost its 128 MiB of descriptors).
	var probe guest
	probe.cfg = g.cfg
	probe.mem = phys.New(g.cfg.MaxPhys)
	for _, r := range g.cfg.Ranges {
		rr, ok := x86.MakeRange(r.Start, r.Size)
		for _, sh := range h.Handlers {
			hr, hok := x86.MakeRange(x86.GPA(sh.Start), sh.Size)
			if ok && (!hok || rr.Overlaps(hr)) {
				probe.mem.AddRange(r)
				break
			}
		}
	}
	for _, sh := range h.Handlers {
		if err := probe.RegisterPhysHandler(PhysHandlerType(sh.Type), x86.GPA(sh.Start), sh.Size, sh.Name); err != nil {
			return fmt.Errorf("%w: handler: %v", ErrStateCorrupt, err)
		}
		for _, p := range sh.Off {
			if !(x86.GPARange{Start: x86.GPA(sh.Start), End: x86.GPA(sh.Start + sh.Size)}).Contains(x86.GPA(p)) {
				return fmt.Errorf("%w: handler %q: page %#x off outside it", ErrStateCorrupt, sh.Name, p)
			}
		}
		for _, kv := range sh.Regs {
			if len(kv) != 2 || kv[1] > 0xff {
				return fmt.Errorf("%w: handler %q registers", ErrStateCorrupt, sh.Name)
			}
		}
	}
	last := int64(-1)
	for i, p := range h.Pages {
		pg, r, ok := g.mem.Lookup(x86.GPA(p.GPA))
		switch {
		case !ok || !x86.IsPageAligned(x86.GPA(p.GPA)) || int64(p.GPA) <= last:
			return fmt.Errorf("%w: page record %d at %#x", ErrStateCorrupt, i, p.GPA)
		case p.Ballooned && (len(p.Data) != 0 || pg.Type() != phys.TypeRAM):
			return fmt.Errorf("%w: ballooned page %#x", ErrStateCorrupt, p.GPA)
		case !p.Ballooned && (len(p.Data) != int(x86.PageSize) || r.Spec.Type == phys.TypeMMIO || r.Spec.Type == phys.TypeReserved):
			return fmt.Errorf("%w: page %#x", ErrStateCorrupt, p.GPA)
		}
		last = int64(p.GPA)
	}
	return nil
}

// applyState replaces the guest-visible machine by a decoded state.
// restoreIndex says whether the event counter is restored too (a seek)
// or keeps counting (a trace's restore event).
// Precondition: checkState accepted st.
func (g *guest) applyState(st *State, restoreIndex bool) error {
	g.mem.Reset()
	old := g.handlers.list
	g.handlers.list = nil
	for _, h := range old {
		g.handlerPagesChanged(h.Range)
	}
	for _, p := range st.Pages {
		gpa := x86.GPA(p.GPA)
		pg, _, _ := g.mem.Lookup(gpa)
		switch {
		case p.Ballooned:
			if err := g.mem.Balloon(gpa, true); err != nil {
				return err
			}
		case pg.Type() == phys.TypeROM:
			if err := g.mem.LoadROM(gpa, p.Data); err != nil {
				return err
			}
		default:
			g.mem.WriteNoHandler(gpa, p.Data)
		}
	}
	for _, sh := range st.Handlers {
		if err := g.RegisterPhysHandler(PhysHandlerType(sh.Type), x86.GPA(sh.Start), sh.Size, sh.Name); err != nil {
			return err
		}
		ph := g.handlers.at(x86.GPA(sh.Start))
		ph.Reads, ph.Writes = sh.Reads, sh.Writes
		for _, kv := range sh.Regs {
			ph.regs[x86.GPA(kv[0])] = byte(kv[1])
		}
		for _, p := range sh.Off {
			g.PhysHandlerPageOff(x86.GPA(sh.Start), x86.GPA(p))
		}
	}
	r := st.Regs
	g.regs = x86.Regs{CR0: r.CR0, CR3: r.CR3, CR4: r.CR4, EFER: r.EFER, CPL: r.CPL, PDPTE: r.PDPTE, MaxPhys: g.cfg.MaxPhys,
		AC: r.AC, PKRU: r.PKRU}
	if restoreIndex {
		g.next = st.Events
	}
	if err := g.refreshFormat(); err != nil {
		return err
	}
	// Virtual handlers are not part of the machine (whoever registered
	// them keeps them): they resolve again in the loaded address space.
	g.virtUpdate(true)
	return nil
}

func sortUint64(s []uint64) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func sortPairs(s [][]uint64) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j][0] < s[j-1][0]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// State returns the machine's state (package traces encodes it).
func (r *Reference) State() *State { return r.state() }

// LoadState replaces the machine's state by st (the event counter
// included). On any error the machine is left exactly as it was.
func (r *Reference) LoadState(st *State) error {
	if err := r.checkState(st); err != nil {
		return err
	}
	return r.applyState(st, true)
}

// State returns the machine's state (package traces encodes it). The
// shadow tables are not part of it.
func (s *Shadow) State() *State { return s.state() }

// LoadState replaces the machine's state by st (the event counter
// included) and forces a full resync. On any error the machine is left
// exactly as it was.
func (s *Shadow) LoadState(st *State) error {
	if err := s.checkState(st); err != nil {
		return err
	}
	return s.load(st, true)
}

func (s *Shadow) load(st *State, restoreIndex bool) error {
	s.flushAll()
	if err := s.applyState(st, restoreIndex); err != nil {
		return err
	}
	s.loadMappings(st.Mappings, st.Fixed)
	s.shwMode = x86.ModeInvalid
	if err := s.changeMode(); err != nil {
		return err
	}
	s.cr3 = s.guestCR3()
	s.regsChanged()
	s.syncCR3(true)
	return nil
}
