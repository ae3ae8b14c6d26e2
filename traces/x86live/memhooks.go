//go:build !js && !wasip1

package x86live

import (
	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
	"github.com/pgm-explorer/pgm-explorer/traces/x86live/unicorn"
)

// The data hooks: every access that got through the TLB, the engine's
// A/D bits mirrored into Unicorn's copy of the tables, and the device.

// Mem sees every data access that got through the TLB, by physical
// address (Unicorn >= 2.1).
func (m *machine) Mem(kind int, addr uint64, size int, value int64) {
	if m.probing || m.err != nil {
		return
	}
	v := uint64(value)
	if size < 8 {
		v &= 1<<(8*size) - 1
	}
	if size != 1 && size != 2 && size != 4 && size != 8 {
		m.fail("a %d-byte access at physical %#x: the engine models 1, 2, 4 and 8", size, addr)
		return
	}
	o := Obs{Kind: ObsRead, Addr: addr, Size: uint8(size), Value: v}
	if kind == unicorn.MemWrite {
		o.Kind = ObsWrite
	}
	m.run.Accesses++
	if m.way == WayUnicorn {
		ev := engine.Event{Kind: engine.EvPhysRead, Size: uint8(size), Addr: addr}
		if o.Kind == ObsWrite {
			ev = engine.Event{Kind: engine.EvPhysWrite, Size: uint8(size), Addr: addr, Value: v}
		}
		m.record(ev)
		m.observe(o)
		return
	}
	vp, ok := m.rev[addr&^(x86.PageSize-1)]
	if !ok {
		m.fail("an access at physical %#x that no TLB fill explains", addr)
		return
	}
	va := vp | addr&(x86.PageSize-1)
	ev := engine.Event{Kind: engine.EvRead, Size: uint8(size), Addr: va}
	acc := x86.Read
	if o.Kind == ObsWrite {
		ev = engine.Event{Kind: engine.EvWrite, Size: uint8(size), Addr: va, Value: v}
		acc = x86.Write
		m.forget(addr, size)
	}
	out, err := m.apply(ev)
	switch {
	case err != nil:
		m.fail("%v", err)
		return
	case !out.OK:
		m.fail("engine event %d: the engine faults (error %#x) on %s at %#x where the guest tables allow it", out.Index, out.Fault.Code, ev.Op(), va)
		return
	case uint64(out.GPA) != addr:
		m.fail("engine event %d: %s at %#x: the engine translates to %#x, the TLB fill to %#x", out.Index, ev.Op(), va, out.GPA, addr)
		return
	case o.Kind == ObsRead && out.Value != v:
		m.fail("engine event %d: %s at %#x (physical %#x): the engine reads %#x, the guest's memory holds %#x", out.Index, ev.Op(), va, addr, out.Value, v)
		return
	}
	m.mirrorAD(va, acc)
	m.observe(o)
}

// forget drops the mirror's memory of entries a guest write changes.
func (m *machine) forget(addr uint64, size int) {
	if len(m.mirrored) == 0 {
		return
	}
	for a := addr &^ 7; a < addr+uint64(size); a += 4 {
		delete(m.mirrored, a)
		delete(m.mirrored, a&^7)
	}
}

// mirrorAD copies the page-table entries the engine may have changed
// (accessed and dirty bits) for va into Unicorn's RAM, where the guest
// reads its tables.
func (m *machine) mirrorAD(va uint64, kind x86.AccessKind) {
	f := m.eng.Format()
	if !f.Mode.Paging() {
		return
	}
	regs := m.eng.Regs()
	var w x86.Walk
	mem := roMem{m.eng.Memory()}
	f.Walk(mem, regs.Root(), x86.GVA(va), regs.Access(kind), &w)
	for i := 0; i < w.N; i++ {
		s := &w.Steps[i]
		if s.Register {
			continue
		}
		size := 8
		if f.Mode == x86.Mode32Bit {
			size = 4
		}
		a := uint64(s.EntryAddr)
		e := mem.ReadEntry(s.EntryAddr, size)
		if old, ok := m.mirrored[a]; ok && old == e {
			continue
		}
		m.mirrored[a] = e
		var b [8]byte
		for j := range size {
			b[j] = byte(e >> (8 * j))
		}
		if err := m.uc.Write(a, b[:size]); err != nil {
			m.fail("mirroring the page-table entry at %#x: %v", a, err)
		}
	}
}

// MMIORead and MMIOWrite are the device: a register file.
func (m *machine) MMIORead(off uint64, size uint32) uint64 {
	var v uint64
	for i := int(size) - 1; i >= 0; i-- {
		if int(off)+i < len(m.mmio) {
			v = v<<8 | uint64(m.mmio[int(off)+i])
		}
	}
	return v
}

func (m *machine) MMIOWrite(off uint64, size uint32, v uint64) {
	if m.probing {
		return
	}
	for i := 0; i < int(size) && int(off)+i < len(m.mmio); i++ {
		m.mmio[int(off)+i] = byte(v >> (8 * i))
	}
}
