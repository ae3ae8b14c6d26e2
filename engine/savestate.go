package engine

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// Saved states: the whole guest-visible machine (registers, memory,
// devices' handlers) in msgpack, versioned. Shadow tables are not saved:
// loading forces a full resync, as the original's did, so a state saved
// by one engine configuration loads in any other with the same memory
// layout.

// SavedStateVersion is the format version written; Load accepts only it.
const SavedStateVersion = 1

const savedStateMagic = "PGM-EXPLORER-STATE"

// Errors of Load, to match with errors.Is.
var (
	ErrStateVersion  = errors.New("saved state: unsupported version")
	ErrStateConfig   = errors.New("saved state: configuration mismatch")
	ErrStateCorrupt  = errors.New("saved state: corrupt or truncated")
	ErrStateNotState = errors.New("saved state: not a saved state")
)

type savedHeader struct {
	Magic    string         `msgpack:"magic"`
	Version  int            `msgpack:"version"`
	Ranges   []savedRange   `msgpack:"ranges"`
	MaxPhys  uint8          `msgpack:"maxphys"`
	Regs     savedRegs      `msgpack:"regs"`
	Events   uint64         `msgpack:"events"`
	Handlers []savedHandler `msgpack:"handlers"`
	Mappings []savedMapping `msgpack:"mappings"`
	Fixed    []uint64       `msgpack:"fixed"` // base and size when the mappings are fixed
	Pages    int            `msgpack:"pages"` // page records that follow
}

// savedMapping is where a hypervisor mapping was; loading matches
// mappings by name and size, as the original did.
type savedMapping struct {
	Name string `msgpack:"name"`
	Size uint64 `msgpack:"size"`
	Base uint64 `msgpack:"base"`
}

type savedRange struct {
	Type  uint8  `msgpack:"type"`
	Start uint64 `msgpack:"start"`
	Size  uint64 `msgpack:"size"`
	Name  string `msgpack:"name"`
}

type savedRegs struct {
	CR0, CR3, CR4, EFER uint64
	CPL                 uint8
	PDPTE               [4]uint64
	// RFLAGS.AC and PKRU (states saved before they existed load as 0,
	// their value then). The PCID is CR3[11:0] with CR4.PCIDE.
	AC   bool
	PKRU uint32
}

type savedHandler struct {
	Type   uint8      `msgpack:"type"`
	Start  uint64     `msgpack:"start"`
	Size   uint64     `msgpack:"size"`
	Name   string     `msgpack:"name"`
	Reads  uint64     `msgpack:"reads"`
	Writes uint64     `msgpack:"writes"`
	Off    []uint64   `msgpack:"off"`
	Regs   [][]uint64 `msgpack:"regs"` // MMIO bytes as (address, value) pairs
}

// savedPage is one page that is not a zero page: its bytes, or nothing
// for a ballooned page.
type savedPage struct {
	GPA       uint64 `msgpack:"gpa"`
	Ballooned bool   `msgpack:"ballooned"`
	Data      []byte `msgpack:"data"`
}

// saveState writes the guest-visible machine.
func (g *guest) saveState(w io.Writer) error {
	enc := msgpack.NewEncoder(w)
	h := savedHeader{Magic: savedStateMagic, Version: SavedStateVersion, MaxPhys: g.cfg.MaxPhys, Events: g.next,
		Regs: savedRegs{g.regs.CR0, g.regs.CR3, g.regs.CR4, g.regs.EFER, g.regs.CPL, g.regs.PDPTE, g.regs.AC, g.regs.PKRU}}
	for _, r := range g.cfg.Ranges {
		h.Ranges = append(h.Ranges, savedRange{uint8(r.Type), uint64(r.Start), r.Size, r.Name})
	}
	for _, ph := range g.handlers.list {
		sh := savedHandler{Type: uint8(ph.Type), Start: uint64(ph.Range.Start), Size: ph.Range.Len(), Name: ph.Name,
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
			h.Mappings = append(h.Mappings, savedMapping{Name: m.Name, Size: (m.Size + mapUnit - 1) &^ (mapUnit - 1)})
		}
	}
	var pages []savedPage
	for _, r := range g.mem.Ranges() {
		for i, p := range r.Pages {
			gpa := r.GPA(i)
			switch {
			case p.State() == phys.StateBallooned:
				pages = append(pages, savedPage{GPA: uint64(gpa), Ballooned: true})
			case p.Frame() != 0 && r.Spec.Type != phys.TypeMMIO:
				pages = append(pages, savedPage{GPA: uint64(gpa), Data: bytes.Clone(g.mem.PageBytes(gpa))})
			}
		}
	}
	h.Pages = len(pages)
	if err := enc.Encode(&h); err != nil {
		return err
	}
	for i := range pages {
		if err := enc.Encode(&pages[i]); err != nil {
			return err
		}
	}
	return nil
}

// loadedState is a decoded and validated saved state, ready to apply.
type loadedState struct {
	h     savedHeader
	pages []savedPage
}

// decodeState reads and checks a saved state against this machine's
// configuration without changing anything.
func (g *guest) decodeState(data []byte) (*loadedState, error) {
	dec := msgpack.NewDecoder(bytes.NewReader(data))
	var st loadedState
	if err := dec.Decode(&st.h); err != nil {
		if len(data) < len(savedStateMagic) || !bytes.Contains(data[:min(len(data), 64)], []byte(savedStateMagic)) {
			return nil, fmt.Errorf("%w (%v)", ErrStateNotState, err)
		}
		return nil, fmt.Errorf("%w: header: %v", ErrStateCorrupt, err)
	}
	h := &st.h
	switch {
	case h.Magic != savedStateMagic:
		return nil, ErrStateNotState
	case h.Version != SavedStateVersion:
		return nil, fmt.Errorf("%w %d (this program reads version %d)", ErrStateVersion, h.Version, SavedStateVersion)
	case h.MaxPhys != g.cfg.MaxPhys || len(h.Ranges) != len(g.cfg.Ranges):
		return nil, fmt.Errorf("%w: the saved machine has %d ranges and MAXPHYADDR %d, this one %d and %d",
			ErrStateConfig, len(h.Ranges), h.MaxPhys, len(g.cfg.Ranges), g.cfg.MaxPhys)
	}
	if len(h.Mappings) != len(g.cfg.Mappings) {
		return nil, fmt.Errorf("%w: %d hypervisor mappings in the state, %d here", ErrStateConfig, len(h.Mappings), len(g.cfg.Mappings))
	}
	for _, sm := range h.Mappings {
		found := false
		for _, c := range g.cfg.Mappings {
			found = found || (c.Name == sm.Name && (c.Size+mapUnit-1)&^(mapUnit-1) == sm.Size)
		}
		if !found || sm.Base%mapUnit != 0 || sm.Base+sm.Size > 1<<32 {
			return nil, fmt.Errorf("%w: mapping %q of %#x bytes at %#x has no match here", ErrStateConfig, sm.Name, sm.Size, sm.Base)
		}
	}
	if len(h.Fixed) != 0 && len(h.Fixed) != 2 {
		return nil, fmt.Errorf("%w: fixed mappings", ErrStateCorrupt)
	}
	total := 0
	for i, r := range h.Ranges {
		c := g.cfg.Ranges[i]
		if r.Type != uint8(c.Type) || r.Start != uint64(c.Start) || r.Size != c.Size || r.Name != c.Name {
			return nil, fmt.Errorf("%w: range %d is %v %#x+%#x %q in the state, %v %v+%#x %q here",
				ErrStateConfig, i, phys.PageType(r.Type), r.Start, r.Size, r.Name, c.Type, c.Start, c.Size, c.Name)
		}
		total += int(r.Size >> x86.PageShift)
	}
	if h.Pages < 0 || h.Pages > total {
		return nil, fmt.Errorf("%w: %d page records for %d pages", ErrStateCorrupt, h.Pages, total)
	}
	if _, err := x86.NewFormat(x86.GuestMode(h.Regs.CR0, h.Regs.CR4, h.Regs.EFER), h.Regs.CR4, h.MaxPhys); err != nil || h.Regs.CPL > 3 {
		return nil, fmt.Errorf("%w: registers", ErrStateCorrupt)
	}
	// Handlers must register cleanly on this machine: check on a copy.
	var probe guest
	probe.cfg = g.cfg
	probe.mem = phys.New(g.cfg.MaxPhys)
	for _, r := range g.cfg.Ranges {
		probe.mem.AddRange(r)
	}
	for _, sh := range h.Handlers {
		if err := probe.RegisterPhysHandler(PhysHandlerType(sh.Type), x86.GPA(sh.Start), sh.Size, sh.Name); err != nil {
			return nil, fmt.Errorf("%w: handler: %v", ErrStateCorrupt, err)
		}
		for _, p := range sh.Off {
			if !(x86.GPARange{Start: x86.GPA(sh.Start), End: x86.GPA(sh.Start + sh.Size)}).Contains(x86.GPA(p)) {
				return nil, fmt.Errorf("%w: handler %q: page %#x off outside it", ErrStateCorrupt, sh.Name, p)
			}
		}
		for _, kv := range sh.Regs {
			if len(kv) != 2 || kv[1] > 0xff {
				return nil, fmt.Errorf("%w: handler %q registers", ErrStateCorrupt, sh.Name)
			}
		}
	}
	st.pages = make([]savedPage, 0, min(h.Pages, 4096))
	last := int64(-1)
	for i := 0; i < h.Pages; i++ {
		var p savedPage
		if err := dec.Decode(&p); err != nil {
			return nil, fmt.Errorf("%w: page record %d of %d: %v", ErrStateCorrupt, i, h.Pages, err)
		}
		pg, r, ok := g.mem.Lookup(x86.GPA(p.GPA))
		switch {
		case !ok || !x86.IsPageAligned(x86.GPA(p.GPA)) || int64(p.GPA) <= last:
			return nil, fmt.Errorf("%w: page record %d at %#x", ErrStateCorrupt, i, p.GPA)
		case p.Ballooned && (len(p.Data) != 0 || pg.Type() != phys.TypeRAM):
			return nil, fmt.Errorf("%w: ballooned page %#x", ErrStateCorrupt, p.GPA)
		case !p.Ballooned && (len(p.Data) != int(x86.PageSize) || r.Spec.Type == phys.TypeMMIO || r.Spec.Type == phys.TypeReserved):
			return nil, fmt.Errorf("%w: page %#x", ErrStateCorrupt, p.GPA)
		}
		last = int64(p.GPA)
		st.pages = append(st.pages, p)
	}
	return &st, nil
}

// applyState replaces the guest-visible machine by a decoded state.
// restoreIndex says whether the event counter is restored too (a seek)
// or keeps counting (a trace's restore event).
func (g *guest) applyState(st *loadedState, restoreIndex bool) error {
	g.mem.Reset()
	old := g.handlers.list
	g.handlers.list = nil
	for _, h := range old {
		g.handlerPagesChanged(h.Range)
	}
	for _, p := range st.pages {
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
	for _, sh := range st.h.Handlers {
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
	r := st.h.Regs
	g.regs = x86.Regs{CR0: r.CR0, CR3: r.CR3, CR4: r.CR4, EFER: r.EFER, CPL: r.CPL, PDPTE: r.PDPTE, MaxPhys: g.cfg.MaxPhys,
		AC: r.AC, PKRU: r.PKRU}
	if restoreIndex {
		g.next = st.h.Events
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

// Save writes the machine's state. The shadow tables are not part of it.
func (r *Reference) Save(w io.Writer) error { return r.saveState(w) }

// Load replaces the machine's state by a saved one (the event counter
// included). On any error the machine is left exactly as it was.
func (r *Reference) Load(data []byte) error {
	st, err := r.decodeState(data)
	if err != nil {
		return err
	}
	return r.applyState(st, true)
}

// Save writes the machine's state. The shadow tables are not part of it.
func (s *Shadow) Save(w io.Writer) error { return s.saveState(w) }

// Load replaces the machine's state by a saved one (the event counter
// included) and forces a full resync. On any error the machine is left
// exactly as it was.
func (s *Shadow) Load(data []byte) error {
	st, err := s.decodeState(data)
	if err != nil {
		return err
	}
	return s.load(st, true)
}

func (s *Shadow) load(st *loadedState, restoreIndex bool) error {
	s.flushAll()
	if err := s.applyState(st, restoreIndex); err != nil {
		return err
	}
	s.loadMappings(st.h.Mappings, st.h.Fixed)
	s.shwMode = x86.ModeInvalid
	if err := s.changeMode(); err != nil {
		return err
	}
	s.cr3 = s.guestCR3()
	s.syncCR3(true)
	return nil
}

// restore loads the snapshot a trace saved under name with apply (the
// engine's own way of taking a decoded state); the event counter goes on.
func (g *guest) restore(name string, apply func(*loadedState) error) error {
	b, err := g.snaps.get(name)
	if err != nil {
		return err
	}
	st, err := g.decodeState(b)
	if err != nil {
		return err
	}
	return apply(st)
}

// MaxSnapshots bounds the named snapshots a trace may keep at once.
const MaxSnapshots = 64

// ErrNoSnapshot is a restore of a name never saved.
var ErrNoSnapshot = errors.New("no snapshot of that name")

// snapshots are the states trace save events keep, by name.
type snapshots map[string][]byte

func (sn *snapshots) save(name string, save func(io.Writer) error) error {
	if *sn == nil {
		*sn = snapshots{}
	}
	if _, ok := (*sn)[name]; !ok && len(*sn) >= MaxSnapshots {
		return fmt.Errorf("save %q: more than %d snapshots", name, MaxSnapshots)
	}
	var b bytes.Buffer
	if err := save(&b); err != nil {
		return err
	}
	(*sn)[name] = b.Bytes()
	return nil
}

func (sn snapshots) get(name string) ([]byte, error) {
	b, ok := sn[name]
	if !ok {
		return nil, fmt.Errorf("restore %q: %w", name, ErrNoSnapshot)
	}
	return b, nil
}
