//go:build !js && !wasip1

package x86live

import (
	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
	"github.com/pgm-explorer/pgm-explorer/traces/x86live/unicorn"
	"time"
)

// The instruction hooks: every instruction, every translation block and
// every exception Unicorn reports, and the control-register writes found
// among them.

// Code is called before every instruction.
func (m *machine) Code(addr uint64, size uint32) {
	if m.probing {
		if m.probeInsns++; m.probeInsns > 1 {
			m.uc.Stop()
		}
		return
	}
	if m.err != nil {
		return
	}
	m.run.Instructions++
	if m.run.Instructions > m.insnLimit {
		m.fail("%w: it ran %d instructions, the limit, and was stopped at %#x", ErrRunaway, m.insnLimit, addr)
		return
	}
	// The clock is read every 1024 instructions: a few µs of the
	// tens of ms those take.
	if m.run.Instructions%1024 == 0 && time.Now().After(m.deadline) {
		m.fail("%w: it ran %d instructions in %v, the time limit, and was stopped at %#x", ErrRunaway, m.run.Instructions, m.timeLimit, addr)
		return
	}
	if m.way == WayEngine {
		o, err := m.apply(engine.Event{Kind: engine.EvExec, Addr: addr})
		if err != nil {
			m.fail("%v", err)
			return
		}
		if !o.OK {
			m.fail("engine event %d: the engine faults (error %#x) on a fetch at %#x that the guest tables allow", o.Index, o.Fault.Code, addr)
			return
		}
		m.mirrorAD(addr, x86.Fetch)
	}
	m.observe(Obs{Kind: ObsExec, Addr: addr})
	m.special(addr, size)
}

// special handles the last instruction of a block if it is one whose
// effect no hook reports (see decode.go).
func (m *machine) special(addr uint64, size uint32) {
	off := addr - m.blockStart
	if addr < m.blockStart || off+uint64(size) > uint64(len(m.block)) {
		return
	}
	b := m.block[off : off+uint64(size)]
	if !mayBeSpecial(b) {
		return
	}
	long := m.long() && m.cs64()
	if decodeSpecial(b, &gprs{}, addr+uint64(size), long).kind == insnOther {
		return
	}
	d := decodeSpecial(b, m.regs64(long), addr+uint64(size), long)
	switch d.kind {
	case insnMovCR:
		switch d.cr {
		case 0:
			m.crEvent(engine.EvCR0, d.src)
		case 3:
			m.crEvent(engine.EvCR3, d.src)
		case 4:
			m.crEvent(engine.EvCR4, d.src)
		}
	case insnWRMSR:
		if uint32(m.uc.Reg(unicorn.RegECX)) == msrEFER {
			v := m.uc.Reg(unicorn.RegEDX)<<32 | m.uc.Reg(unicorn.RegEAX)&0xffffffff
			m.crEvent(engine.EvEFER, v)
		}
	case insnWRPKRU:
		// The processor raises #UD or #GP (which the live source stops
		// at) unless CR4.PKE=1, ECX=0 and EDX=0.
		if m.crs[2]&x86.CR4PKE != 0 && uint32(m.uc.Reg(unicorn.RegECX)) == 0 && uint32(m.uc.Reg(unicorn.RegEDX)) == 0 {
			m.pkru = uint32(m.uc.Reg(unicorn.RegEAX))
			m.stateEvent(engine.Event{Kind: engine.EvPKRU, Value: uint64(m.pkru)})
		}
	case insnInvpcid:
		m.invpcid(d)
	case insnInvlpg:
		ev := engine.Event{Kind: engine.EvInvlpg, Addr: d.addr}
		if m.way == WayEngine {
			if _, err := m.apply(ev); err != nil {
				m.fail("%v", err)
			}
			page := d.addr &^ (x86.PageSize - 1)
			if p, ok := m.fill[page]; ok {
				delete(m.fill, page)
				delete(m.rev, p)
			}
		} else {
			m.record(ev)
		}
	}
}

// cs64 reports whether the code segment is a 64-bit one; Unicorn's
// register interface hides the descriptor, so the GDT entry is read.
func (m *machine) cs64() bool {
	g := m.uc.TableReg(unicorn.RegGDTR)
	sel := m.uc.Reg(unicorn.RegCS) &^ 7
	gpa, ok := m.dataGPA(g.Base + sel + 4)
	if !ok {
		return false
	}
	var b [4]byte
	if m.uc.Read(gpa, b[:]) != nil {
		return false
	}
	return b[2]&0x20 != 0
}

// crEvent reports a control-register write the guest is about to make
// (the instruction executes after the hook), with its value.
func (m *machine) crEvent(k engine.EventKind, v uint64) {
	i := map[engine.EventKind]int{engine.EvCR0: 0, engine.EvCR3: 1, engine.EvCR4: 2, engine.EvEFER: 3}[k]
	if k == engine.EvEFER {
		v &^= x86.EFERLMA
	}
	m.crs[i] = v
	if k == engine.EvCR3 {
		// Bit 63 asks to keep the PCID's translations and is not stored
		// (Unicorn's register interface returns CR3's low 32 bits).
		m.crs[i] = v &^ x86.CR3NoFlush
	}
	ev := engine.Event{Kind: k, Value: v}
	m.observe(Obs{Kind: ObsCR, Addr: uint64(i), Value: v})
	if m.way == WayEngine {
		if _, err := m.apply(ev); err != nil {
			m.fail("%v", err)
		}
		m.mirrored = map[uint64]uint64{}
		return
	}
	m.record(ev)
}

// pollCRs catches control-register changes the decoder did not see.
func (m *machine) pollCRs() {
	now := [4]uint64{m.uc.Reg(unicorn.RegCR0), m.uc.Reg(unicorn.RegCR3), m.uc.Reg(unicorn.RegCR4), m.uc.MSR(msrEFER) &^ x86.EFERLMA}
	for _, i := range []int{3, 2, 1, 0} {
		if now[i] != m.crs[i] {
			m.crEvent([]engine.EventKind{engine.EvCR0, engine.EvCR3, engine.EvCR4, engine.EvEFER}[i], now[i])
		}
	}
}

// Block is called at the start of every translation block.
func (m *machine) Block(addr uint64, size uint32) {
	if m.probing || m.err != nil {
		return
	}
	m.pollCRs()
	// QEMU ends a translation block after every instruction that changes
	// CPL or AC (iret, int, far calls, stac, clac, popf), so the state
	// is polled once per block, not per instruction.
	m.pollState()
	m.blockStart = addr
	m.block = m.block[:0]
	// The block's bytes, read once, let Code decode each instruction.
	for a := addr; a < addr+uint64(size); {
		n := min(addr+uint64(size)-a, x86.PageSize-a%x86.PageSize)
		gpa, ok := m.codeGPA(a)
		if !ok {
			return
		}
		l := len(m.block)
		m.block = append(m.block, make([]byte, n)...)
		if m.uc.Read(gpa, m.block[l:]) != nil {
			m.block = m.block[:l]
			return
		}
		a += n
	}
}

// Intr is an exception: Unicorn does not deliver it through the IDT.
func (m *machine) Intr(intno uint32) {
	if m.probing {
		return
	}
	// Unicorn never delivers the #PF it reports, so it goes on believing
	// one is in progress and reports every later one as a double fault
	// (8); pageFault checks that the guest tables explain it as a #PF.
	if (intno == vectorPF || intno == vectorDF) && m.way == WayUnicorn {
		if m.pending == nil {
			m.pending = &pendingFault{va: m.uc.Reg(unicorn.RegCR2), eip: m.uc.Reg(unicorn.RegEIP)}
		}
		m.uc.Stop()
		return
	}
	if intno >= 32 && m.pendingInt == nil {
		// A software interrupt (int n): Unicorn has moved EIP past it.
		m.pendingInt = &pendingInt{vector: intno, eip: m.uc.Reg(unicorn.RegEIP)}
		m.uc.Stop()
		return
	}
	m.fail("the guest raised exception %d at %#x, which the live source does not deliver (only #PF and int n)", intno, m.uc.Reg(unicorn.RegEIP))
}
