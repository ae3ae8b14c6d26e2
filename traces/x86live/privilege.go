//go:build !js && !wasip1

package x86live

import (
	"encoding/binary"
	"fmt"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
	"github.com/pgm-explorer/pgm-explorer/traces/x86live/unicorn"
)

// The guest state besides the control registers that decides what an
// access may do: the privilege level (CS.RPL), RFLAGS.AC (SMAP's
// override) and PKRU. The engine hears of each change as a cpl, ac or
// pkru event before the access that depends on it.

const eflagsAC = 1 << 18

// pollState reports CPL and AC changes: iretq, a gate, stac, clac and
// popf change them without a hook of their own. Each ends its block, so
// Block polls; Unicorn asks for a translation before the block at the
// new privilege starts, so TLBFill polls too.
func (m *machine) pollState() {
	if m.delivering {
		return // deliver sets the state itself
	}
	if cpl := uint8(m.uc.Reg(unicorn.RegCS) & 3); cpl != m.cpl && m.crs[0]&x86.CR0PE != 0 {
		m.cpl = cpl
		m.stateEvent(engine.Event{Kind: engine.EvCPL, Value: uint64(cpl)})
	}
	if ac := m.uc.Reg(unicorn.RegEFLAGS)&eflagsAC != 0; ac != m.ac {
		m.ac = ac
		v := uint64(0)
		if ac {
			v = 1
		}
		m.stateEvent(engine.Event{Kind: engine.EvAC, Value: v})
	}
}

// stateEvent gives a guest-register event to the engine (engine way) or
// records it (reference way).
func (m *machine) stateEvent(ev engine.Event) {
	if m.way == WayEngine {
		if _, err := m.apply(ev); err != nil {
			m.fail("%v", err)
		}
		return
	}
	m.record(ev)
}

// regs64 are the general registers for the decoder. Unicorn's 32-bit
// mode register interface, which every guest starts in, returns their
// low halves only; in 64-bit code the whole registers are read from the
// saved CPU state, which begins with them (QEMU's CPUX86State.regs).
func (m *machine) regs64(long bool) *gprs {
	if !long {
		return m.gprs()
	}
	ctx, err := m.uc.SaveContext()
	if err != nil {
		m.fail("reading the 64-bit registers: %v", err)
		return m.gprs()
	}
	defer ctx.Free()
	b := ctx.Bytes()
	var r gprs
	if len(b) < 8*len(r) {
		m.fail("Unicorn's saved CPU state is %d bytes: too short for the registers", len(b))
		return m.gprs()
	}
	for i := range r {
		r[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	if uint32(r[0]) != uint32(m.uc.Reg(unicorn.RegEAX)) || uint32(r[4]) != uint32(m.uc.Reg(unicorn.RegESP)) {
		m.fail("Unicorn's saved CPU state does not begin with the registers (a layout other than Unicorn 2.1's)")
	}
	return &r
}

// invpcid reports an INVPCID with its descriptor (PCID in bits 11:0 of
// the first quadword, the address in the second). Unicorn 2.1's TCG
// lacks the instruction (the run stops with UC_ERR_INSN_INVALID before
// any hook sees it); a Unicorn that has it gets the event before the
// instruction runs, like every other special instruction.
func (m *machine) invpcid(d decoded) {
	gpa, ok := m.dataGPA(d.addr)
	var desc [16]byte
	if !ok || d.addr&(x86.PageSize-1) > x86.PageSize-16 || m.uc.Read(gpa, desc[:]) != nil {
		m.fail("invpcid at a descriptor %#x the decoder cannot read", d.addr)
		return
	}
	pcid := binary.LittleEndian.Uint64(desc[:8])
	if pcid > engine.MaxPCID || d.typ > 3 {
		return // #GP: the processor refuses it
	}
	m.stateEvent(engine.Event{Kind: engine.EvInvpcid, Size: uint8(d.typ), Value: pcid, Addr: binary.LittleEndian.Uint64(desc[8:])})
}

// enterRing0 loads CPL 0 with code segment cs and a null stack segment,
// as a 64-bit interrupt gate to a more privileged handler does. Unicorn
// checks segment loads against the current CPL, which a write cannot
// lower; with CR0.PE clear for a moment (CR0.PG stays set, so long mode
// and the tables stay) the stack-segment load is a real-mode one, which
// gives CPL 0, and the code and stack segments are then loaded from the
// GDT as protected mode does.
func (m *machine) enterRing0(cs uint64) error {
	cr0 := m.uc.Reg(unicorn.RegCR0)
	steps := []struct {
		r int
		v uint64
	}{{unicorn.RegCR0, cr0 &^ x86.CR0PE}, {unicorn.RegSS, 0}, {unicorn.RegCR0, cr0}, {unicorn.RegCS, cs}, {unicorn.RegSS, 0}}
	for _, s := range steps {
		if err := m.uc.SetReg(s.r, s.v); err != nil {
			return fmt.Errorf("entering ring 0 with code segment %#x: %w", cs, err)
		}
	}
	// The CR0 writes flushed Unicorn's TLB.
	clear(m.fill)
	clear(m.rev)
	if got := m.uc.Reg(unicorn.RegCS); got != cs {
		return fmt.Errorf("entering ring 0: CS is %#x, not %#x", got, cs)
	}
	return nil
}
