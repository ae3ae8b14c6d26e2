//go:build !js && !wasip1

package x86live

import (
	"fmt"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// The processor's own accesses on the guest's behalf, and side-effect
// free translations for the decoder.

// guestRead and guestWrite are the processor's own accesses while it
// delivers an exception (supervisor, through paging): engine events in
// the engine way, a walk of Unicorn's RAM in the reference way.
func (m *machine) guestRead(va uint64, size int) (uint64, error) {
	gpa, err := m.xlate(va, x86.Read, size, 0)
	if err != nil {
		return 0, err
	}
	var b [8]byte
	if err := m.uc.Read(gpa, b[:size]); err != nil {
		return 0, err
	}
	var v uint64
	for j := size - 1; j >= 0; j-- {
		v = v<<8 | uint64(b[j])
	}
	m.observe(Obs{Kind: ObsRead, Addr: gpa, Size: uint8(size), Value: v})
	m.record(engine.Event{Kind: engine.EvPhysRead, Size: uint8(size), Addr: gpa})
	return v, nil
}

func (m *machine) guestWrite(va uint64, size int, v uint64) error {
	gpa, err := m.xlate(va, x86.Write, size, v)
	if err != nil {
		return err
	}
	var b [8]byte
	for j := range size {
		b[j] = byte(v >> (8 * j))
	}
	if err := m.uc.Write(gpa, b[:size]); err != nil {
		return err
	}
	m.forget(gpa, size)
	m.observe(Obs{Kind: ObsWrite, Addr: gpa, Size: uint8(size), Value: v})
	m.record(engine.Event{Kind: engine.EvPhysWrite, Size: uint8(size), Addr: gpa, Value: v})
	return nil
}

func (m *machine) xlate(va uint64, kind x86.AccessKind, size int, v uint64) (uint64, error) {
	if m.way == WayEngine {
		ev := engine.Event{Kind: engine.EvRead, Size: uint8(size), Addr: va}
		if kind == x86.Write {
			ev = engine.Event{Kind: engine.EvWrite, Size: uint8(size), Addr: va, Value: v}
		}
		o, err := m.apply(ev)
		if err != nil {
			return 0, err
		}
		if !o.OK {
			return 0, fmt.Errorf("delivering a #PF: %s at %#x faults too (error %#x): a double fault, which the live source stops at", ev.Op(), va, o.Fault.Code)
		}
		m.mirrorAD(va, kind)
		return uint64(o.GPA), nil
	}
	var w x86.Walk
	if err := m.walkUnicorn(va, kind, ucMem{m}, &w, asSupervisor); err != nil {
		return 0, err
	}
	if !w.OK() {
		return 0, fmt.Errorf("delivering a #PF: a %s at %#x faults too (error %#x): a double fault, which the live source stops at", kind, va, w.Fault.Code)
	}
	if m.way == WayUnicorn {
		w.SetAccessedDirty(ucMem{m}, kind == x86.Write)
	}
	return uint64(w.GPA), nil
}

// codeGPA and dataGPA translate for the decoder without side effects.
func (m *machine) codeGPA(va uint64) (uint64, bool) { return m.peek(va, x86.Fetch) }
func (m *machine) dataGPA(va uint64) (uint64, bool) { return m.peek(va, x86.Read) }

func (m *machine) peek(va uint64, kind x86.AccessKind) (uint64, bool) {
	var w x86.Walk
	if m.way == WayEngine {
		regs := m.eng.Regs()
		m.eng.Format().Walk(roMem{m.eng.Memory()}, regs.TableRoot(), x86.GVA(va), x86.Access{Kind: kind}, &w)
	} else if m.walkUnicorn(va, kind, roMem{ucMem{m}}, &w, asTables) != nil {
		return 0, false
	}
	return uint64(w.GPA), w.OK()
}
