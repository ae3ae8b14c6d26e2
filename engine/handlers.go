package engine

import (
	"errors"
	"fmt"
	"sort"

	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// PhysHandlerType is what a physical access handler traps. Numbers are
// stored in traces.
type PhysHandlerType uint8

const (
	PhysMMIO  PhysHandlerType = 1 // every access; the handler is the device
	PhysWrite PhysHandlerType = 2 // writes; then the write happens as usual
	PhysAll   PhysHandlerType = 3 // every access; then it happens as usual
)

var physTypeNames = [...]string{"", "mmio", "write", "all"}

func (t PhysHandlerType) String() string {
	if int(t) < len(physTypeNames) && t > 0 {
		return physTypeNames[t]
	}
	return fmt.Sprintf("PhysHandlerType(%d)", uint8(t))
}

// ParsePhysHandlerType reads a trace name.
func ParsePhysHandlerType(s string) (PhysHandlerType, error) {
	for t := PhysMMIO; t <= PhysAll; t++ {
		if t.String() == s {
			return t, nil
		}
	}
	return 0, fmt.Errorf("unknown physical handler type %q (want mmio, write or all)", s)
}

// pageState is the per-page state a handler of this type asks for.
func (t PhysHandlerType) pageState() phys.HandlerState {
	if t == PhysWrite {
		return phys.HandlerWrite
	}
	return phys.HandlerAll
}

// Errors of handler registration.
var (
	ErrHandlerConflict = errors.New("overlaps another physical handler")
	ErrHandlerNoRAM    = errors.New("not inside one guest physical range")
	ErrNoHandler       = errors.New("no handler starts there")
)

// PhysHandler is a registered physical access handler. Handlers set up by
// traces stand for devices: an MMIO handler keeps the bytes written to it
// and reads them back (a register file), the others watch and then let
// the access happen.
type PhysHandler struct {
	Type    PhysHandlerType
	Range   x86.GPARange
	Name    string
	Reads   uint64 // accesses the handler saw
	Writes  uint64
	off     map[x86.GPA]bool // pages temporarily turned off
	regs    map[x86.GPA]byte // MMIO: the device's bytes
	version uint64           // bumped on every change, for the UI
}

// physHandlers is the ordered, non-overlapping set of handlers.
type physHandlers struct {
	list []*PhysHandler // sorted by start
	hit  string         // name of the last handler called in this event
}

// find is the handler containing gpa, or nil.
func (hs *physHandlers) find(gpa x86.GPA) *PhysHandler {
	i := sort.Search(len(hs.list), func(i int) bool { return hs.list[i].Range.End > gpa })
	if i < len(hs.list) && hs.list[i].Range.Contains(gpa) {
		return hs.list[i]
	}
	return nil
}

// at is the handler starting at gpa, or nil.
func (hs *physHandlers) at(gpa x86.GPA) *PhysHandler {
	if h := hs.find(gpa); h != nil && h.Range.Start == gpa {
		return h
	}
	return nil
}

// pageState is the maximum over the handlers touching the page, pages
// turned off counting as disabled.
func (hs *physHandlers) pageState(page x86.GPA) phys.HandlerState {
	r := x86.GPARange{Start: page, End: page + x86.GPA(x86.PageSize)}
	i := sort.Search(len(hs.list), func(i int) bool { return hs.list[i].Range.End > r.Start })
	st := phys.HandlerNone
	for ; i < len(hs.list) && hs.list[i].Range.Start < r.End; i++ {
		h := hs.list[i]
		s := h.Type.pageState()
		if h.off[page] {
			s = phys.HandlerDisabled
		}
		st = max(st, s)
	}
	return st
}

// Handlers lists the registered physical handlers in address order. The
// caller must not change them.
func (g *guest) Handlers() []*PhysHandler { return g.handlers.list }

// RegisterPhysHandler installs a handler over [start, start+size).
func (g *guest) RegisterPhysHandler(typ PhysHandlerType, start x86.GPA, size uint64, name string) error {
	r, ok := x86.MakeRange(start, size)
	switch {
	case typ < PhysMMIO || typ > PhysAll:
		return fmt.Errorf("physical handler type %d unknown", typ)
	case !ok || size == 0:
		return fmt.Errorf("physical handler %v: empty or wrapping range", r)
	}
	_, rr, in := g.mem.Lookup(start)
	if !in || !rr.Range().ContainsRange(r) {
		return fmt.Errorf("physical handler %q %v: %w", name, r, ErrHandlerNoRAM)
	}
	hs := &g.handlers
	i := sort.Search(len(hs.list), func(i int) bool { return hs.list[i].Range.Start >= r.Start })
	if (i < len(hs.list) && hs.list[i].Range.Overlaps(r)) || (i > 0 && hs.list[i-1].Range.Overlaps(r)) {
		return fmt.Errorf("physical handler %q %v: %w", name, r, ErrHandlerConflict)
	}
	h := &PhysHandler{Type: typ, Range: r, Name: name}
	if typ == PhysMMIO {
		h.regs = map[x86.GPA]byte{}
	}
	hs.list = append(hs.list, nil)
	copy(hs.list[i+1:], hs.list[i:])
	hs.list[i] = h
	g.handlerPagesChanged(r)
	return nil
}

// DeregisterPhysHandler removes the handler starting at start.
func (g *guest) DeregisterPhysHandler(start x86.GPA) error {
	hs := &g.handlers
	h := hs.at(start)
	if h == nil {
		return fmt.Errorf("deregister physical handler at %v: %w", start, ErrNoHandler)
	}
	for i, x := range hs.list {
		if x == h {
			hs.list = append(hs.list[:i], hs.list[i+1:]...)
			break
		}
	}
	g.handlerPagesChanged(h.Range)
	return nil
}

// ModifyPhysHandler moves or resizes the handler starting at start.
func (g *guest) ModifyPhysHandler(start, newStart x86.GPA, newSize uint64) error {
	h := g.handlers.at(start)
	if h == nil {
		return fmt.Errorf("modify physical handler at %v: %w", start, ErrNoHandler)
	}
	old := *h
	if err := g.DeregisterPhysHandler(start); err != nil {
		return err
	}
	if err := g.RegisterPhysHandler(old.Type, newStart, newSize, old.Name); err != nil {
		// Put the old one back: nothing changed.
		g.RegisterPhysHandler(old.Type, old.Range.Start, old.Range.Len(), old.Name)
		return err
	}
	return nil
}

// ResetPhysHandler re-arms every page of a WRITE or ALL handler (undoing
// temporary offs).
func (g *guest) ResetPhysHandler(start x86.GPA) error {
	h := g.handlers.at(start)
	switch {
	case h == nil:
		return fmt.Errorf("reset physical handler at %v: %w", start, ErrNoHandler)
	case h.Type == PhysMMIO:
		return fmt.Errorf("reset %q: MMIO handlers cannot be reset", h.Name)
	}
	h.off = nil
	h.version++
	g.handlerPagesChanged(h.Range)
	return nil
}

// PhysHandlerPageOff turns one page of a page-aligned WRITE or ALL
// handler off until the next reset: accesses to it no longer trap.
func (g *guest) PhysHandlerPageOff(start, page x86.GPA) error {
	h := g.handlers.at(start)
	page = x86.PageDown(page)
	switch {
	case h == nil:
		return fmt.Errorf("temporary off physical handler at %v: %w", start, ErrNoHandler)
	case h.Type == PhysMMIO:
		return fmt.Errorf("temporary off %q: MMIO handlers cannot be turned off", h.Name)
	case !x86.IsPageAligned(h.Range.Start) || h.Range.Len()&x86.PageOffMask != 0:
		return fmt.Errorf("temporary off %q: the handler is not page aligned", h.Name)
	case !h.Range.Contains(page):
		return fmt.Errorf("temporary off %q: page %v is outside %v", h.Name, page, h.Range)
	}
	if h.off == nil {
		h.off = map[x86.GPA]bool{}
	}
	h.off[page] = true
	h.version++
	g.handlerPagesChanged(x86.GPARange{Start: page, End: page + x86.GPA(x86.PageSize)})
	return nil
}

// handlerPagesChanged recomputes the handler state of the pages of r.
func (g *guest) handlerPagesChanged(r x86.GPARange) {
	for page := x86.PageDown(r.Start); page < r.End; page += x86.GPA(x86.PageSize) {
		g.setPageState(page)
		if page+x86.GPA(x86.PageSize) < page {
			break
		}
	}
}

// setPageState writes the page's physical handler state: handlers, and
// whatever the engine adds (the shadow engine's write monitoring).
func (g *guest) setPageState(page x86.GPA) {
	p, _, ok := g.mem.Lookup(page)
	if !ok {
		return
	}
	st := max(g.handlers.pageState(page), g.virtDepState(page))
	if g.extraState != nil {
		st = max(st, g.extraState(page))
	}
	vst := g.virtPageState(page)
	if st != p.PhysHandler() || vst != p.VirtHandler() {
		g.mem.SetHandlerState(page, st, vst)
		if g.stateChanged != nil {
			g.stateChanged(page)
		}
	}
}

// handlerRead and handlerWrite are the handlers' part of an access to a
// page with a handler state: count, and for MMIO be the device. They
// report whether the access is done (MMIO) or must go on as usual.
func (g *guest) handlerRead(gpa x86.GPA, dst []byte) bool {
	h := g.handlers.find(gpa)
	if h == nil || h.off[x86.PageDown(gpa)] || h.Type == PhysWrite {
		return false
	}
	h.Reads++
	g.handlers.hit = h.Name
	if h.Type != PhysMMIO {
		return false
	}
	for i := range dst {
		if v, ok := h.regs[gpa+x86.GPA(i)]; ok {
			dst[i] = v
		} else {
			dst[i] = 0xff
		}
	}
	return true
}

func (g *guest) handlerWrite(gpa x86.GPA, src []byte) bool {
	if len(g.virt.deps[x86.PageDown(gpa)]) > 0 {
		g.virtTableWrite(x86.PageDown(gpa))
	}
	h := g.handlers.find(gpa)
	if h == nil || h.off[x86.PageDown(gpa)] {
		return false
	}
	h.Writes++
	g.handlers.hit = h.Name
	if h.Type != PhysMMIO {
		return false
	}
	for i, b := range src {
		h.regs[gpa+x86.GPA(i)] = b
	}
	return true
}
