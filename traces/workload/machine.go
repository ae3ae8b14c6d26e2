package workload

import (
	"fmt"
	"math/rand/v2"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// machine is what every guest model shares: the event stream with the
// outcome of each event, a copy of the control registers (so that only
// writes the processor accepts are emitted and the current paging
// format is known), and the model's knowledge of guest memory.
type machine struct {
	name  string
	yield func(engine.Event) bool
	out   engine.Outcome // outcome of the event last emitted
	err   error          // why the model stopped, if it did not end normally
	rnd   *rand.Rand

	regs    x86.Regs
	f       *x86.Format // current paging format
	maxPhys uint8
	cpl     uint8
	ac      uint8 // RFLAGS.AC

	// ent holds page-table entries as the model last wrote them (the
	// processor's accessed and dirty bits aside), by address.
	ent map[x86.GPA]uint64
	// dirty marks, per 4 KiB frame, the 8-byte words the model ever wrote
	// (data, entries, and so the accessed and dirty bits the processor
	// sets in them): zeroing a frame writes only those.
	dirty map[x86.GPA]*[8]uint64
	// kva is where the kernel reaches physical address pa, when it can
	// (the identity map, the direct map); when it cannot, the model
	// writes with physical writes (a loader, DMA).
	kva func(pa x86.GPA) (x86.GVA, bool)
}

func newMachine(seed uint64) *machine {
	m := &machine{
		rnd:     rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		maxPhys: x86.DefaultMaxPhys,
		ent:     map[x86.GPA]uint64{},
		dirty:   map[x86.GPA]*[8]uint64{},
	}
	m.regs.Reset(m.maxPhys)
	m.f = m.format(m.regs.Mode(), m.regs.CR4)
	m.kva = identity
	return m
}

// identity is how memory is reached without paging.
func identity(pa x86.GPA) (x86.GVA, bool) { return x86.GVA(pa), true }

func (m *machine) format(mode x86.Mode, cr4 uint64) *x86.Format {
	f, err := x86.NewFormat(mode, cr4, m.maxPhys)
	if err != nil {
		panic(err) // the modes the models use all have formats
	}
	return f
}

// emit hands ev to the caller and returns its outcome.
func (m *machine) emit(ev engine.Event) engine.Outcome {
	if !m.yield(ev) {
		panic(stopped{})
	}
	return m.out
}

// fail stops the model on an outcome it cannot explain.
func (m *machine) fail(format string, a ...any) {
	panic(&ModelError{Workload: m.name, Index: m.out.Index, Msg: fmt.Sprintf(format, a...)})
}

func (m *machine) label(format string, a ...any) {
	m.emit(engine.Event{Kind: engine.EvLabel, Text: fmt.Sprintf(format, a...)})
}

// cr writes a control register. The model's own copy checks the write
// first: a write the processor would refuse is a bug in the model.
func (m *machine) cr(k engine.EventKind, v uint64) {
	reg, _ := k.Reg()
	if _, err := m.regs.Write(reg, v, noMemory{}); err != nil {
		panic(fmt.Sprintf("workload %s: illegal control-register write: %v", m.name, err))
	}
	m.f = m.format(m.regs.Mode(), m.regs.CR4)
	m.emit(engine.Event{Kind: k, Value: v})
}

// noMemory stands for guest memory when the model's register copy loads
// PDPTEs: the model never looks at them.
type noMemory struct{}

func (noMemory) ReadEntry(x86.GPA, int) uint64     { return 0 }
func (noMemory) SetEntryBits(x86.GPA, int, uint64) {}

// setCPL switches privilege level, emitting only actual changes.
func (m *machine) setCPL(c uint8) {
	if c != m.cpl {
		m.cpl = c
		m.emit(engine.Event{Kind: engine.EvCPL, Value: uint64(c)})
	}
}

// setAC sets RFLAGS.AC (stac, clac, popf), emitting only actual changes.
func (m *machine) setAC(ac uint8) {
	if ac != m.ac {
		m.ac = ac
		m.emit(engine.Event{Kind: engine.EvAC, Value: uint64(ac)})
	}
}

// invpcid invalidates translations of PCID pcid as INVPCID type typ does
// (va for type 0 only).
func (m *machine) invpcid(typ uint8, pcid uint16, va x86.GVA) {
	if err := m.regs.CheckINVPCID(typ, uint64(pcid), va, m.f); err != nil {
		panic(fmt.Sprintf("workload %s: %v", m.name, err))
	}
	m.emit(engine.Event{Kind: engine.EvInvpcid, Size: typ, Value: uint64(pcid), Addr: uint64(va)})
}

func (m *machine) read(va x86.GVA, size uint8) engine.Outcome {
	return m.emit(engine.Event{Kind: engine.EvRead, Size: size, Addr: uint64(va)})
}

func (m *machine) write(va x86.GVA, size uint8, v uint64) engine.Outcome {
	o := m.emit(engine.Event{Kind: engine.EvWrite, Size: size, Addr: uint64(va), Value: v})
	if o.OK {
		m.mark(o.GPA, size)
	}
	return o
}

func (m *machine) exec(va x86.GVA) engine.Outcome {
	return m.emit(engine.Event{Kind: engine.EvExec, Addr: uint64(va)})
}

func (m *machine) invlpg(va x86.GVA) {
	m.emit(engine.Event{Kind: engine.EvInvlpg, Addr: uint64(va)})
}

// pw is a physical write: a loader or a device writing guest memory.
func (m *machine) pw(pa x86.GPA, size uint8, v uint64) {
	m.emit(engine.Event{Kind: engine.EvPhysWrite, Size: size, Addr: uint64(pa), Value: v})
	m.mark(pa, size)
}

// must checks that a kernel access (which the model has mapped) went
// through.
func (m *machine) must(o engine.Outcome) engine.Outcome {
	if !o.OK {
		m.fail("kernel access %s %#x faulted (error code %#x)", o.Event.Op(), o.Event.Addr, uint32(o.Fault.Code))
	}
	return o
}

// value is random data that fits an access of size bytes.
func (m *machine) value(size uint8) uint64 {
	v := m.rnd.Uint64()
	if size < 8 {
		v &= 1<<(8*size) - 1
	}
	return v
}

// size is a random access size.
func (m *machine) size() uint8 { return uint8(1) << m.rnd.IntN(4) }

// mark records that size bytes at pa were written. Accesses are aligned
// to their size, so one 8-byte word holds them.
func (m *machine) mark(pa x86.GPA, size uint8) {
	for a := pa &^ 7; a < pa+x86.GPA(size); a += 8 {
		page := x86.PageDown(a)
		d := m.dirty[page]
		if d == nil {
			d = new([8]uint64)
			m.dirty[page] = d
		}
		w := x86.PageOffset(a) / 8
		d[w/64] |= 1 << (w % 64)
	}
}

// poke is a kernel write to physical memory: through the kernel's
// mapping of it when there is one, else a physical write.
func (m *machine) poke(pa x86.GPA, size uint8, v uint64) {
	if va, ok := m.kva(pa); ok {
		m.must(m.write(va, size, v))
		return
	}
	m.pw(pa, size, v)
}

// peek is a kernel read of physical memory through its mapping of it.
func (m *machine) peek(pa x86.GPA, size uint8) uint64 {
	va, ok := m.kva(pa)
	if !ok {
		return m.emit(engine.Event{Kind: engine.EvPhysRead, Size: size, Addr: uint64(pa)}).Value
	}
	return m.must(m.read(va, size)).Value
}

// zero clears the frame at pa as a kernel does before reusing it, writing
// only the words the model ever wrote (the rest are zero already).
func (m *machine) zero(pa x86.GPA) {
	d := m.dirty[pa]
	if d == nil {
		return
	}
	for w := range 512 {
		if d[w/64]&(1<<(w%64)) != 0 {
			a := pa + x86.GPA(8*w)
			m.poke(a, 8, 0)
			delete(m.ent, a)
			delete(m.ent, a+4)
		}
	}
	delete(m.dirty, pa)
}

// dirtyWords lists the offsets of the words of frame pa the model wrote.
func (m *machine) dirtyWords(pa x86.GPA) []uint16 {
	d := m.dirty[pa]
	if d == nil {
		return nil
	}
	var offs []uint16
	for w := range 512 {
		if d[w/64]&(1<<(w%64)) != 0 {
			offs = append(offs, uint16(8*w))
		}
	}
	return offs
}

// copyFrame makes frame dst a copy of frame src (both known to the
// model), as a kernel copies a page: words only dst had are zeroed, then
// each word src has is read and written to dst.
func (m *machine) copyFrame(dst, src x86.GPA) {
	s := m.dirty[src]
	if d := m.dirty[dst]; d != nil {
		for w := range 512 {
			if d[w/64]&(1<<(w%64)) == 0 {
				continue
			}
			a := dst + x86.GPA(8*w)
			delete(m.ent, a)
			delete(m.ent, a+4)
			if s == nil || s[w/64]&(1<<(w%64)) == 0 {
				m.poke(a, 8, 0)
			}
		}
		delete(m.dirty, dst)
	}
	for _, off := range m.dirtyWords(src) {
		m.poke(dst+x86.GPA(off), 8, m.peek(src+x86.GPA(off), 8))
	}
}
