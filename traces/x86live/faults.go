//go:build !js && !wasip1

package x86live

import (
	"fmt"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
	"github.com/pgm-explorer/pgm-explorer/traces/x86live/unicorn"
)

// Page faults: what access faulted (a probe), what the engine makes of
// it, and delivery through the guest's IDT as the processor would.

// probe re-executes the faulting instruction alone with the page
// pageVA sent to an empty physical page, to learn what the access was:
// Unicorn's TLB-fill hook sees only the page, its exception hook only
// CR2. Registers are restored after; memory writes of the probe go
// nowhere (they all hit the empty page or come after it).
func (m *machine) probe(eip, pageVA uint64) (*probeAccess, error) {
	ctx, err := m.uc.SaveContext()
	if err != nil {
		return nil, err
	}
	if m.way == WayUnicorn {
		if err := m.uc.SetTLBMode(unicorn.TLBVirtual); err != nil {
			return nil, err
		}
	}
	m.probing, m.probeVA, m.probeHit = true, pageVA, nil
	m.probeInsns = 0
	m.uc.FlushTLB()
	// Not a count of 1: Unicorn implements counts by flushing its
	// translations, and the guest then runs ten times slower after.
	m.uc.Start(eip, 0, 0)
	m.probing = false
	hit := m.probeHit
	if err := m.uc.RestoreContext(ctx); err != nil {
		return nil, err
	}
	if m.way == WayUnicorn {
		if err := m.uc.SetTLBMode(unicorn.TLBCPU); err != nil {
			return nil, err
		}
	}
	m.uc.FlushTLB()
	clear(m.fill)
	clear(m.rev)
	if hit == nil {
		return nil, fmt.Errorf("re-running the instruction at %#x did not touch page %#x again", eip, pageVA)
	}
	return hit, nil
}

// pageFault completes a pending #PF: finds the access, has the engine
// (or, in the reference way, the guest tables) give the error code,
// and delivers the fault through the guest's IDT.
func (m *machine) pageFault() error {
	pf := m.pending
	m.pending = nil
	var acc probeAccess
	if m.way == WayEngine {
		if pf.kind == x86.Fetch {
			acc = probeAccess{kind: x86.Fetch, va: pf.va}
			if pf.eip&^(x86.PageSize-1) == pf.va {
				acc.va = pf.eip
			}
		} else {
			hit, err := m.probe(pf.eip, pf.va)
			if err != nil {
				return err
			}
			acc = *hit
		}
		ev := engine.Event{Kind: engine.EvExec, Addr: acc.va}
		switch acc.kind {
		case x86.Read:
			ev = engine.Event{Kind: engine.EvRead, Size: uint8(acc.size), Addr: acc.va}
		case x86.Write:
			ev = engine.Event{Kind: engine.EvWrite, Size: uint8(acc.size), Addr: acc.va, Value: acc.value}
		}
		if ev.Kind != engine.EvExec && !engine.ValidSize(ev.Size) {
			return fmt.Errorf("a %d-byte access faults at %#x: the engine models 1, 2, 4 and 8", ev.Size, acc.va)
		}
		o, err := m.apply(ev)
		if err != nil {
			return err
		}
		if o.OK {
			return fmt.Errorf("engine event %d: %s at %#x succeeds in the engine, but the guest tables forbid it", o.Index, ev.Op(), acc.va)
		}
		return m.deliver(vectorPF, acc.va, uint32(o.Fault.Code), true, pf.eip)
	}
	// Reference way: Unicorn's MMU found the fault and its address; the
	// error code is not in Unicorn's API, so the access kind comes from a
	// probe and the code from the guest tables.
	page := pf.va &^ (x86.PageSize - 1)
	hit, err := m.probe(pf.eip, page)
	if err != nil {
		return err
	}
	var w x86.Walk
	if err := m.walkUnicorn(pf.va, hit.kind, roMem{ucMem{m}}, &w, asGuest); err != nil {
		return err
	}
	if w.OK() {
		return fmt.Errorf("Unicorn reports a #PF at %#x that the guest tables do not explain", pf.va)
	}
	m.record(engine.Event{Kind: engine.EvLabel, Text: fmt.Sprintf("page fault (%s) at %#x, error %#x: the host delivers it through the guest's IDT", hit.kind, pf.va, uint32(w.Fault.Code))})
	if err := m.deliver(vectorPF, pf.va, uint32(w.Fault.Code), true, pf.eip); err != nil {
		return err
	}
	return m.endException()
}

// endException tells Unicorn's CPU that the exception was delivered.
// QEMU remembers the exception in progress (old_exception) until it
// delivers it itself, which Unicorn never does: the next #PF would be a
// double fault, the one after a triple fault. The field is not in
// Unicorn's API, so it is found in the saved CPU state, as the one word
// that was -1 before any exception and is 14 or 8 now, and reset there.
func (m *machine) endException() error {
	ctx, err := m.uc.SaveContext()
	if err != nil {
		return err
	}
	b := ctx.Bytes()
	if m.oldExcOff < 0 {
		var found []int
		for o := 0; o+4 <= len(b) && o+4 <= len(m.clean); o += 4 {
			was := int32(uint32(m.clean[o]) | uint32(m.clean[o+1])<<8 | uint32(m.clean[o+2])<<16 | uint32(m.clean[o+3])<<24)
			now := int32(uint32(b[o]) | uint32(b[o+1])<<8 | uint32(b[o+2])<<16 | uint32(b[o+3])<<24)
			if was == -1 && (now == vectorPF || now == vectorDF) {
				found = append(found, o)
			}
		}
		if len(found) != 1 {
			ctx.Free()
			return fmt.Errorf("cannot find where Unicorn keeps the exception in progress (%d candidates): the reference way needs Unicorn 2.1's CPU state layout", len(found))
		}
		m.oldExcOff = found[0]
	}
	if m.oldExcOff+4 <= len(b) {
		copy(b[m.oldExcOff:m.oldExcOff+4], []byte{0xff, 0xff, 0xff, 0xff})
	}
	return m.uc.RestoreContext(ctx)
}

// deliver pushes the frame of interrupt vector (a #PF with cr2 and its
// error code, or int n, hasCode false) and enters the guest's handler
// through its IDT gate, as the processor does: on the same stack at the
// same privilege, or, in 64-bit mode from CPL 3, on the ring-0 stack
// that TSS.RSP0 names, with the old SS and RSP in the frame.
func (m *machine) deliver(vector int, cr2 uint64, code uint32, hasCode bool, eip uint64) error {
	what := fmt.Sprintf("int %#x", vector)
	if vector == vectorPF {
		what = fmt.Sprintf("#PF at %#x (error %#x)", cr2, code)
		m.observe(Obs{Kind: ObsFault, Addr: cr2, Value: uint64(code), EIP: eip})
		m.run.Faults++
	} else {
		m.observe(Obs{Kind: ObsInt, Addr: uint64(vector), EIP: eip})
	}
	if m.way == WayEngine && vector == vectorPF {
		if _, err := m.apply(engine.Event{Kind: engine.EvLabel, Text: fmt.Sprintf("page fault at %#x, error %#x: the host delivers it through the guest's IDT", cr2, code)}); err != nil {
			return err
		}
	}
	long := m.long()
	cpl := uint8(m.uc.Reg(unicorn.RegCS) & 3)
	if cpl != 0 {
		if !long {
			return fmt.Errorf("%s from %#x at CPL %d: the live source changes privilege only in 64-bit mode", what, eip, cpl)
		}
		// The processor's own accesses (the IDT, the TSS, the new stack)
		// are supervisor ones: the engine hears of CPL 0 first.
		m.delivering = true
		defer func() { m.delivering = false }()
		m.cpl = 0
		m.stateEvent(engine.Event{Kind: engine.EvCPL, Value: 0})
	}
	idt := m.uc.TableReg(unicorn.RegIDTR)
	gate := uint64(8)
	if long {
		gate = 16
	}
	vec := uint64(vector)
	if uint64(idt.Limit) < vec*gate+gate-1 {
		return fmt.Errorf("%s from %#x, but the guest's IDT (limit %#x) has no vector %d", what, eip, idt.Limit, vector)
	}
	lo, err := m.guestRead(idt.Base+vec*gate, 8)
	if err != nil {
		return err
	}
	if lo>>47&1 == 0 {
		return fmt.Errorf("%s from %#x: the guest's IDT entry %d is not present", what, eip, vector)
	}
	if dpl := uint8(lo >> 45 & 3); !hasCode && vector != vectorPF && dpl < cpl {
		return fmt.Errorf("%s from %#x at CPL %d through a gate of DPL %d: #GP, which the live source does not deliver", what, eip, cpl, dpl)
	}
	target := lo&0xffff | lo>>48<<16
	if long {
		hi, err := m.guestRead(idt.Base+vec*gate+8, 8)
		if err != nil {
			return err
		}
		target |= hi << 32
	}
	sel := lo >> 16 & 0xffff
	cs, flags := m.uc.Reg(unicorn.RegCS), m.uc.Reg(unicorn.RegEFLAGS)
	sp := m.uc.Reg(unicorn.RegESP)
	var frame []uint64
	size := 4
	switch {
	case cpl != 0:
		size = 8
		tr := m.uc.TableReg(unicorn.RegTR)
		rsp0, err := m.guestRead(tr.Base+4, 8)
		if err != nil {
			return err
		}
		frame = []uint64{m.uc.Reg(unicorn.RegSS), sp, flags, cs, eip}
		sp = rsp0 &^ 15
	case long:
		size = 8
		frame = []uint64{m.uc.Reg(unicorn.RegSS), sp, flags, cs, eip}
		sp &^= 15
	default:
		frame = []uint64{flags, cs, eip}
	}
	if hasCode {
		frame = append(frame, uint64(code))
	}
	for _, v := range frame {
		sp -= uint64(size)
		if !long {
			sp &= 0xffffffff
		}
		if err := m.guestWrite(sp, size, v); err != nil {
			return err
		}
	}
	switch {
	case cpl != 0:
		if err := m.enterRing0(sel); err != nil {
			return err
		}
		if m.uc.Reg(unicorn.RegCS)&3 != 0 || sel&3 != 0 {
			return fmt.Errorf("%s from CPL %d: the handler's selector %#x is not a ring-0 one", what, cpl, sel)
		}
	case sel != cs:
		return fmt.Errorf("%s: handler selector %#x differs from the current CS %#x: a segment change at the same privilege, which the live source does not model", what, sel, cs)
	}
	if lo>>40&0xf == 0xe {
		flags &^= 1 << 9 // interrupt gate: IF off
	}
	flags &^= 1<<8 | 1<<14 | 1<<16 | 1<<17 // TF, NT, RF, VM
	if vector == vectorPF {
		if err := m.setCR2(cr2); err != nil {
			return err
		}
	}
	for _, s := range []struct {
		r int
		v uint64
	}{{unicorn.RegESP, sp}, {unicorn.RegEFLAGS, flags}, {unicorn.RegEIP, target}} {
		if err := m.uc.SetReg(s.r, s.v); err != nil {
			return err
		}
	}
	return nil
}

// setCR2 works around Unicorn 2.1.1, whose register interface stores a
// CR2 write into CR3 as well.
func (m *machine) setCR2(v uint64) error {
	cr3 := m.uc.Reg(unicorn.RegCR3)
	if err := m.uc.SetReg(unicorn.RegCR2, v); err != nil {
		return err
	}
	if m.uc.Reg(unicorn.RegCR3) != cr3 {
		if err := m.uc.SetReg(unicorn.RegCR3, cr3); err != nil {
			return err
		}
	}
	if got := m.uc.Reg(unicorn.RegCR2); got != v {
		return fmt.Errorf("Unicorn keeps CR2 = %#x after writing %#x", got, v)
	}
	return nil
}
