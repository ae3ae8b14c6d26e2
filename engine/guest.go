package engine

import (
	"errors"
	"fmt"

	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// ErrPAEDisabled is the original engine's "PAEmode" runtime error: the
// guest turned on PAE (or long mode, which needs it) on a CPU configured
// without PAE. The original suspended the VM; here the replay stops.
var ErrPAEDisabled = errors.New("the guest is switching to PAE paging, which this configuration's CPU does not offer (trace header `cpu no-pae`)")

// ErrOutsideRAM reports a physical access (pw, pr) outside every declared
// range: a trace error, since nothing sensible can be guessed.
var ErrOutsideRAM = errors.New("physical access outside every range")

// guest is the guest-visible machine every engine shares: control
// registers, privilege level and physical memory, plus the paging format
// that follows from the registers.
type guest struct {
	cfg    Config
	regs   x86.Regs
	mem    *phys.Memory
	format *x86.Format
	// formats caches one format per (mode, CR4.PSE) so that mode switches
	// do not allocate.
	formats [16][2]*x86.Format
	next    uint64 // index of the next event

	handlers physHandlers
	virt     virtHandlers
	// extraState adds an engine's own per-page handler state (the shadow
	// engine's write monitoring); stateChanged tells it a page's state
	// changed, so that mappings derived from the old state go.
	extraState   func(page x86.GPA) phys.HandlerState
	stateChanged func(page x86.GPA)

	snaps snapshots // states kept by trace save events
	// mappingsSaved reports the hypervisor mappings for a saved state.
	mappingsSaved func() ([]StateMapping, []uint64)
}

func (g *guest) init(cfg Config) error {
	cfg, err := cfg.Normalized()
	if err != nil {
		return err
	}
	g.cfg = cfg
	g.mem = phys.New(cfg.MaxPhys)
	for _, r := range cfg.Ranges {
		if err := g.mem.AddRange(r); err != nil {
			return err
		}
	}
	g.regs.Reset(cfg.MaxPhys)
	g.mem.SetAccessHandler(guestHandlers{g})
	return g.refreshFormat()
}

// guestHandlers dispatches handled accesses to the registered handlers.
// The shadow engine installs its own dispatcher, which calls these too.
type guestHandlers struct{ g *guest }

func (h guestHandlers) PhysRead(gpa x86.GPA, dst []byte) bool  { return h.g.handlerRead(gpa, dst) }
func (h guestHandlers) PhysWrite(gpa x86.GPA, src []byte) bool { return h.g.handlerWrite(gpa, src) }

// refreshFormat selects the paging format for the current registers.
func (g *guest) refreshFormat() error {
	m := g.regs.Mode()
	pse := 0
	if m == x86.Mode32Bit && g.regs.CR4&x86.CR4PSE != 0 {
		pse = 1
	}
	if int(m) >= len(g.formats) {
		return fmt.Errorf("engine: mode %v has no format", m)
	}
	if g.formats[m][pse] == nil {
		f, err := x86.NewFormat(m, g.regs.CR4, g.cfg.MaxPhys)
		if err != nil {
			return err
		}
		g.formats[m][pse] = f
	}
	g.format = g.formats[m][pse]
	return nil
}

// startOutcome starts the outcome of ev field by field: a composite
// literal is built in a temporary and copied, which showed as a third of
// a TLB hit's cost (the copy stalls on the stores that just zeroed it).
//
// The strings are stored only when they change: a pointer store takes a
// write barrier while the collector marks, and under WebAssembly copying
// the event whole went through the runtime's typed copy.
func (g *guest) startOutcome(o *Outcome, ev *Event) {
	o.Index, o.OK, o.AS = g.next, true, g.regs.CR3
	o.Event.Kind, o.Event.Size, o.Event.Addr, o.Event.Value = ev.Kind, ev.Size, ev.Addr, ev.Value
	if len(o.Event.Text) != 0 || len(ev.Text) != 0 {
		o.Event.Text = ev.Text
	}
	o.GPA, o.Value, o.Fault, o.Path, o.Notes, o.MemRefs = 0, 0, x86.Fault{}, PathNone, 0, 0
}

// endOutcome sets what the event leaves behind for its outcome.
func (g *guest) endOutcome(o *Outcome) {
	if len(o.Handler) != 0 || len(g.handlers.hit) != 0 {
		o.Handler = g.handlers.hit
	}
}

// counted counts an event found valid. Callers validate accesses with
// validAccess, inlined, and only other events with validate: a call
// costs much under WebAssembly.
func (g *guest) counted() {
	if len(g.handlers.hit) != 0 {
		g.handlers.hit = ""
	}
	g.next++
}

// hyper applies the events that come from the hypervisor side (devices,
// the balloon, the sharing scan), which every engine handles alike. It
// reports whether ev was one of them. Reset is not here: each engine
// resets its own state.
func (g *guest) hyper(ev Event, o *Outcome) (bool, error) {
	var err error
	switch ev.Kind {
	case EvPhysHandler:
		err = g.RegisterPhysHandler(PhysHandlerType(ev.Size), x86.GPA(ev.Addr), ev.Value, ev.Text)
	case EvPhysUnhandler:
		err = g.DeregisterPhysHandler(x86.GPA(ev.Addr))
	case EvPhysHandlerReset:
		err = g.ResetPhysHandler(x86.GPA(ev.Addr))
	case EvPhysHandlerOff:
		err = g.PhysHandlerPageOff(x86.GPA(ev.Addr), x86.GPA(ev.Value))
	case EvBalloon, EvDeflate:
		err = g.mem.Balloon(x86.GPA(ev.Addr), ev.Kind == EvBalloon)
	case EvShare:
		g.mem.Share()
	case EvVirtHandler:
		err = g.RegisterVirtHandler(VirtHandlerType(ev.Size), x86.GVA(ev.Addr), ev.Value, ev.Text)
	case EvVirtUnhandler:
		err = g.DeregisterVirtHandler(x86.GVA(ev.Addr))
	default:
		return false, nil
	}
	return true, err
}

// writeReg applies a control-register event. A #GP leaves everything as
// it was and is returned as an error.
func (g *guest) writeReg(ev Event, o *Outcome) (x86.Change, error) {
	reg, _ := ev.Kind.Reg()
	next := g.regs
	ch, err := next.Write(reg, ev.Value, g.mem)
	if err != nil {
		return ch, err
	}
	if g.cfg.NoPAE && ch.NewMode.PAEFormat() {
		return x86.Change{}, fmt.Errorf("%v %#x: %w", reg, ev.Value, ErrPAEDisabled)
	}
	g.regs = next
	if reg != x86.CR3 {
		if err := g.refreshFormat(); err != nil {
			return ch, err
		}
	}
	switch {
	case ch.ModeChanged():
		g.virtUpdate(true)
	case ch.CR3Loaded || ch.FlushAll:
		g.virtUpdate(false)
	}
	if ch.ModeChanged() {
		o.Notes |= NoteModeChange
	}
	if ch.CR3Loaded {
		o.Notes |= NoteCR3Load | NoteTLBFlush
	}
	if ch.FlushAll {
		o.Notes |= NoteTLBFlushAll
	}
	return ch, nil
}

// physAccess applies pw and pr events, which bypass paging.
func (g *guest) physAccess(ev Event, o *Outcome) error {
	gpa := x86.GPA(ev.Addr)
	if !g.covered(gpa, uint64(ev.Size)) {
		return fmt.Errorf("%s %#x: %w", ev.Op(), ev.Addr, ErrOutsideRAM)
	}
	o.GPA, o.Path = gpa, PathPhys
	if ev.Kind == EvPhysWrite {
		g.mem.Write(gpa, int(ev.Size), ev.Value)
	} else {
		o.Value = g.mem.Read(gpa, int(ev.Size))
	}
	return nil
}

// covered reports whether every byte of [gpa, gpa+n) lies in some range.
func (g *guest) covered(gpa x86.GPA, n uint64) bool {
	for n > 0 {
		_, r, ok := g.mem.Lookup(gpa)
		if !ok {
			return false
		}
		rr := r.Range()
		left := uint64(rr.End - gpa)
		if left >= n {
			return true
		}
		gpa, n = rr.End, n-left
	}
	return true
}

// setCPL applies a cpl event.
func (g *guest) setCPL(ev Event) { g.regs.CPL = uint8(ev.Value) }

// piece is the part of an access that falls in one page.
type piece struct {
	va   x86.GVA
	size int
	gpa  x86.GPA
}

// splitAccess cuts an access into at most two page pieces. Instruction
// fetches are modelled as one byte.
func (g *guest) splitAccess(ev *Event) (ps [2]piece, n int) {
	size := int(ev.Size)
	if ev.Kind == EvExec {
		size = 1
	}
	va := g.format.Linear(x86.GVA(ev.Addr))
	first := int(min(uint64(size), x86.PageSize-x86.PageOffset(va)))
	ps[0] = piece{va: va, size: first}
	if first == size {
		return ps, 1
	}
	ps[1] = piece{va: g.format.Linear(va + x86.GVA(first)), size: size - first}
	return ps, 2
}

// canonical reports whether every piece of an access is canonical. The
// processor checks the whole access (first and last byte) before paging,
// so an access whose tail leaves the canonical range is a #GP even when
// its first page would fault or translate.
func (g *guest) canonical(ps [2]piece, n int) bool {
	for i := 0; i < n; i++ {
		if !g.format.Canonical(ps[i].va) {
			return false
		}
	}
	return true
}

// accessKind maps an event kind to the paging unit's view of it.
func (g *guest) accessOf(k EventKind) x86.Access {
	switch k {
	case EvWrite:
		return g.regs.Access(x86.Write)
	case EvExec:
		return g.regs.Access(x86.Fetch)
	}
	return g.regs.Access(x86.Read)
}

// transfer performs the data part of a translated access.
func (g *guest) transfer(ev *Event, ps [2]piece, n int, o *Outcome) {
	o.GPA = ps[0].gpa
	switch ev.Kind {
	case EvRead:
		v := g.mem.Read(ps[0].gpa, ps[0].size)
		if n == 2 {
			v |= g.mem.Read(ps[1].gpa, ps[1].size) << (8 * ps[0].size)
		}
		o.Value = v
	case EvWrite:
		g.mem.Write(ps[0].gpa, ps[0].size, ev.Value)
		if n == 2 {
			g.mem.Write(ps[1].gpa, ps[1].size, ev.Value>>(8*ps[0].size))
		}
	}
}

// Config is the normalized configuration the engine runs with.
func (g *guest) Config() Config { return g.cfg }

// Regs is a copy of the guest's paging-relevant registers.
func (g *guest) Regs() x86.Regs { return g.regs }

// Memory is the guest physical memory. Callers must treat it as read-only.
func (g *guest) Memory() *phys.Memory { return g.mem }

// Format is the current guest paging format.
func (g *guest) Format() *x86.Format { return g.format }

// Events is the number of events applied so far.
func (g *guest) Events() uint64 { return g.next }
