//go:build !js && !wasip1

package x86live

import (
	"errors"
	"fmt"
	"time"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
	"github.com/pgm-explorer/pgm-explorer/traces/x86live/unicorn"
)

// Available loads the Unicorn library (path: a flag's value, or "") and
// says why it cannot be used. Call it before Run for a clear message.
func Available(path string) error { return unicorn.Load(path) }

// LibraryInfo names the loaded library and its version.
func LibraryInfo() (path, version string) { return unicorn.Loaded() }

const (
	// probePage is a physical page with nothing behind it in Unicorn: a
	// probe maps the faulting page there, so the access reports its exact
	// address and size to the unmapped-memory hook.
	probePage = 0x7f00000000
	msrEFER   = 0xc0000080
	vectorPF  = 14
	vectorDF  = 8
	// DefaultMaxInstructions stops a guest that never halts.
	DefaultMaxInstructions = 5_000_000
)

// machine is one run of a program one way.
type machine struct {
	way  Way
	prog *Program
	opt  Options
	uc   *unicorn.Engine
	eng  *engine.Shadow // engine way
	run  *Run
	err  error // the first error found inside a hook; stops the run

	crs        [4]uint64 // cr0, cr3, cr4, efer as last seen (efer without LMA)
	blockStart uint64
	block      []byte            // the current block's instruction bytes
	fill       map[uint64]uint64 // engine way: virtual page -> physical page in Unicorn's TLB
	rev        map[uint64]uint64 // physical page -> virtual page
	mirrored   map[uint64]uint64 // engine way: page-table entries as last copied to Unicorn's RAM
	pending    *pendingFault
	probing    bool
	probeVA    uint64 // the page a probe watches
	probeHit   *probeAccess
	probeInsns int
	mmio       [MMIOSize]byte
	insnLimit  uint64
	clean      []byte // reference way: the CPU state before any exception
	oldExcOff  int    // where that state keeps QEMU's old_exception (-1: not found yet)
}

type pendingFault struct {
	va   uint64 // exact address, or the page until a probe found it
	kind x86.AccessKind
	eip  uint64
	page bool // va is only the page
}

type probeAccess struct {
	kind  x86.AccessKind
	va    uint64
	size  int
	value uint64
}

func newMachine(p *Program, way Way, opt Options) (*machine, error) {
	if err := unicorn.Load(opt.Library); err != nil {
		return nil, err
	}
	m := &machine{way: way, prog: p, opt: opt, fill: map[uint64]uint64{}, rev: map[uint64]uint64{}, mirrored: map[uint64]uint64{}}
	for i := range m.mmio {
		m.mmio[i] = 0xff // the engine's register file reads ones where nothing was written
	}
	m.insnLimit = opt.MaxInstructions
	if m.insnLimit == 0 {
		m.insnLimit = DefaultMaxInstructions
	}
	m.run = &Run{Program: p.Name, Way: way}
	uc, err := unicorn.Open(unicorn.Mode32, m)
	if err != nil {
		return nil, err
	}
	m.uc = uc
	if len(p.Code) == 0 || LoadAddr+len(p.Code) > RAMSize {
		return nil, fmt.Errorf("guest %s: %d bytes do not fit in RAM at %#x", p.Name, len(p.Code), LoadAddr)
	}
	for _, f := range []func() error{
		func() error { return uc.MapRAM(0, RAMSize) },
		func() error { return uc.MapMMIO(MMIOBase, MMIOSize) },
		func() error { return uc.Write(LoadAddr, p.Code) },
	} {
		if err := f(); err != nil {
			uc.Close()
			return nil, err
		}
	}
	hooks := []int{unicorn.HookCode, unicorn.HookBlock, unicorn.HookIntr,
		unicorn.HookMemWrite | unicorn.HookMemReadAfter,
		unicorn.HookMemReadUnmap | unicorn.HookMemWriteUnmap | unicorn.HookMemFetchUnmap, unicorn.HookTLBFill}
	for _, h := range hooks {
		if err := uc.AddHook(h); err != nil {
			uc.Close()
			return nil, err
		}
	}
	m.oldExcOff = -1
	if way == WayUnicorn {
		ctx, err := uc.SaveContext()
		if err != nil {
			uc.Close()
			return nil, err
		}
		m.clean = append([]byte(nil), ctx.Bytes()...)
		ctx.Free()
	}
	m.crs = [4]uint64{uc.Reg(unicorn.RegCR0), uc.Reg(unicorn.RegCR3), uc.Reg(unicorn.RegCR4), uc.MSR(msrEFER) &^ x86.EFERLMA}
	if way == WayEngine {
		eng, err := engine.NewShadow(Config(opt.Paging))
		if err != nil {
			uc.Close()
			return nil, err
		}
		m.eng = eng
		for _, ev := range setupEvents(p) {
			if _, err := m.apply(ev); err != nil {
				uc.Close()
				return nil, err
			}
		}
		if err := uc.SetTLBMode(unicorn.TLBVirtual); err != nil {
			uc.Close()
			return nil, err
		}
	} else {
		m.run.Events = setupEvents(p)
	}
	return m, nil
}

// fail keeps the first error and stops the emulator.
func (m *machine) fail(format string, a ...any) {
	if m.err == nil {
		m.err = fmt.Errorf(format, a...)
	}
	m.uc.Stop()
}

// apply gives an event to the engine (engine way) and keeps it.
func (m *machine) apply(ev engine.Event) (engine.Outcome, error) {
	o, err := m.eng.Apply(ev)
	if err != nil {
		return o, fmt.Errorf("engine event %d %s: %w", m.eng.Events(), ev.Op(), err)
	}
	m.run.Events = append(m.run.Events, ev)
	m.run.Outcomes = append(m.run.Outcomes, o)
	if m.opt.Check {
		if err := m.eng.Check(); err != nil {
			return o, fmt.Errorf("after engine event %d %s: invariant violated:\n%w", o.Index, ev.Op(), err)
		}
	}
	return o, nil
}

func (m *machine) record(ev engine.Event) {
	if m.way == WayUnicorn {
		m.run.Events = append(m.run.Events, ev)
	}
}

func (m *machine) observe(o Obs) {
	o.Event = -1
	if m.way == WayEngine {
		o.Event = int64(len(m.run.Events)) - 1
	}
	m.run.Obs = append(m.run.Obs, o)
}

// execute runs the guest to its hlt, delivering page faults on the way.
func (m *machine) execute() error {
	start := time.Now()
	pc := uint64(LoadAddr)
	for {
		err := m.uc.Start(pc, 0, 0)
		if m.err != nil {
			return m.err
		}
		if m.pending == nil {
			if err != nil {
				return fmt.Errorf("the guest stopped at %#x: %w", m.uc.Reg(unicorn.RegEIP), err)
			}
			break
		}
		if err := m.pageFault(); err != nil {
			return err
		}
		pc = m.uc.Reg(unicorn.RegEIP)
	}
	m.run.Duration = time.Since(start)
	m.final()
	return nil
}

func (m *machine) final() {
	r := &m.run.Regs
	copy(r.GPR[:], m.gprs()[:])
	r.EIP = m.uc.Reg(unicorn.RegEIP)
	r.EFLAGS = m.uc.Reg(unicorn.RegEFLAGS)
	r.CR0, r.CR2, r.CR3, r.CR4 = m.uc.Reg(unicorn.RegCR0), m.uc.Reg(unicorn.RegCR2), m.uc.Reg(unicorn.RegCR3), m.uc.Reg(unicorn.RegCR4)
	r.EFER = m.uc.MSR(msrEFER)
	m.run.RAM = make([]byte, RAMSize)
	if m.way == WayEngine {
		// What the guest would read: the engine's memory, A/D bits included.
		m.eng.Memory().ReadNoHandler(0, m.run.RAM)
	} else if err := m.uc.Read(0, m.run.RAM); err != nil {
		m.err = err
	}
	m.run.MMIO = m.mmio
}

func (m *machine) gprs() *gprs {
	var r gprs
	for i, id := range []int{unicorn.RegEAX, unicorn.RegECX, unicorn.RegEDX, unicorn.RegEBX, unicorn.RegESP, unicorn.RegEBP, unicorn.RegESI, unicorn.RegEDI} {
		r[i] = m.uc.Reg(id)
	}
	return &r
}

// long reports whether the guest runs in long mode (IA-32e).
func (m *machine) long() bool { return m.uc.MSR(msrEFER)&x86.EFERLMA != 0 }

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
		m.fail("the guest ran %d instructions without halting (at %#x)", m.insnLimit, addr)
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
	d := decodeSpecial(b, m.gprs(), addr+uint64(size), long)
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
	m.fail("the guest raised exception %d at %#x, which the live source does not deliver (only #PF)", intno, m.uc.Reg(unicorn.RegEIP))
}

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

// roMem reads guest memory for a walk that must not set A/D bits.
type roMem struct{ m x86.Memory }

func (r roMem) ReadEntry(a x86.GPA, size int) uint64 { return r.m.ReadEntry(a, size) }
func (roMem) SetEntryBits(x86.GPA, int, uint64)      {}

// ucMem is Unicorn's RAM as the walker sees it; SetEntryBits sets bits
// as the processor does (used to deliver exceptions in the reference way).
type ucMem struct{ m *machine }

func (u ucMem) ReadEntry(a x86.GPA, size int) uint64 {
	var b [8]byte
	if u.m.uc.Read(uint64(a), b[:size]) != nil {
		return 0
	}
	var v uint64
	for j := size - 1; j >= 0; j-- {
		v = v<<8 | uint64(b[j])
	}
	return v
}

func (u ucMem) SetEntryBits(a x86.GPA, size int, bits uint64) {
	v := u.ReadEntry(a, size) | bits
	var b [8]byte
	for j := range size {
		b[j] = byte(v >> (8 * j))
	}
	u.m.uc.Write(uint64(a), b[:size])
}

// walkUnicorn walks the guest tables in Unicorn's RAM with the current
// control registers (the reference way's view).
func (m *machine) walkUnicorn(va uint64, kind x86.AccessKind, mem x86.Memory, w *x86.Walk) error {
	var r x86.Regs
	r.Reset(x86.DefaultMaxPhys)
	r.CR0, r.CR3, r.CR4, r.EFER = m.uc.Reg(unicorn.RegCR0), m.uc.Reg(unicorn.RegCR3), m.uc.Reg(unicorn.RegCR4), m.uc.MSR(msrEFER)
	mode := r.Mode()
	f, err := x86.NewFormat(mode, r.CR4, x86.DefaultMaxPhys)
	if err != nil {
		return err
	}
	if mode.PAEFormat() && !mode.Long() {
		// QEMU has no PDPTE registers: it reads the PDPT on every walk.
		for i := range r.PDPTE {
			r.PDPTE[i] = mem.ReadEntry(x86.GPA(r.CR3&^0x1f+uint64(8*i)), 8)
		}
	}
	f.Walk(mem, r.Root(), x86.GVA(va), r.Access(kind), w)
	return nil
}

// TLBFill answers a TLB miss in the engine way and during probes.
func (m *machine) TLBFill(vaddr uint64, kind int) (uint64, uint32, bool) {
	acc := map[int]x86.AccessKind{unicorn.MemRead: x86.Read, unicorn.MemWrite: x86.Write, unicorn.MemFetch: x86.Fetch}[kind]
	perms := map[x86.AccessKind]uint32{x86.Read: unicorn.ProtRead, x86.Write: unicorn.ProtRead | unicorn.ProtWrite, x86.Fetch: unicorn.ProtExec}[acc]
	if m.probing {
		if vaddr == m.probeVA {
			if acc == x86.Fetch {
				m.probeHit = &probeAccess{kind: x86.Fetch, va: vaddr}
				return 0, 0, false
			}
			return probePage, perms, true
		}
		var w x86.Walk
		var err error
		if m.way == WayEngine {
			regs := m.eng.Regs()
			m.eng.Format().Walk(roMem{m.eng.Memory()}, regs.Root(), x86.GVA(vaddr), regs.Access(acc), &w)
		} else {
			err = m.walkUnicorn(vaddr, acc, roMem{ucMem{m}}, &w)
		}
		if err != nil || !w.OK() {
			return 0, 0, false
		}
		return uint64(w.GPA) &^ (x86.PageSize - 1), perms, true
	}
	if m.err != nil {
		return 0, 0, false
	}
	m.pollCRs()
	regs := m.eng.Regs()
	var w x86.Walk
	m.eng.Format().Walk(roMem{m.eng.Memory()}, regs.Root(), x86.GVA(vaddr), regs.Access(acc), &w)
	if !w.OK() {
		if w.Fault.Kind == x86.NonCanonical {
			m.fail("a non-canonical address %#x (#GP): the live source delivers only #PF", vaddr)
			return 0, 0, false
		}
		m.pending = &pendingFault{va: vaddr, kind: acc, eip: m.uc.Reg(unicorn.RegEIP), page: true}
		return 0, 0, false
	}
	p := uint64(w.GPA) &^ (x86.PageSize - 1)
	if !(p < RAMSize || p >= MMIOBase && p < MMIOBase+MMIOSize) {
		m.fail("the guest maps %#x to physical %#x, where there is no memory (regs %+v, walk %+v)", vaddr, p, m.eng.Regs(), w)
		return 0, 0, false
	}
	if old, ok := m.rev[p]; ok && old != vaddr {
		// Two virtual pages on one physical page: a memory hook could not
		// tell them apart, so Unicorn's TLB keeps only the newest.
		if err := m.uc.FlushTLB(); err != nil {
			m.fail("%v", err)
		}
		clear(m.fill)
		clear(m.rev)
	}
	if old, ok := m.fill[vaddr]; ok && old != p {
		delete(m.rev, old)
	}
	m.fill[vaddr], m.rev[p] = p, vaddr
	return p, perms, true
}

// Unmapped is where a probe's access lands.
func (m *machine) Unmapped(kind int, addr uint64, size int, value int64) bool {
	if m.probing && addr&^(x86.PageSize-1) == probePage && m.probeHit == nil {
		k := x86.Read
		if kind == unicorn.MemWriteUnmapped {
			k = x86.Write
		}
		v := uint64(value)
		if size < 8 {
			v &= 1<<(8*size) - 1
		}
		m.probeHit = &probeAccess{kind: k, va: m.probeVA | addr&(x86.PageSize-1), size: size, value: v}
		return false
	}
	if !m.probing {
		m.fail("an access to physical %#x where there is no memory", addr)
	}
	return false
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
		return m.deliver(acc.va, uint32(o.Fault.Code), pf.eip)
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
	if err := m.walkUnicorn(pf.va, hit.kind, roMem{ucMem{m}}, &w); err != nil {
		return err
	}
	if w.OK() {
		return fmt.Errorf("Unicorn reports a #PF at %#x that the guest tables do not explain", pf.va)
	}
	m.record(engine.Event{Kind: engine.EvLabel, Text: fmt.Sprintf("page fault (%s) at %#x, error %#x: the host delivers it through the guest's IDT", hit.kind, pf.va, uint32(w.Fault.Code))})
	if err := m.deliver(pf.va, uint32(w.Fault.Code), pf.eip); err != nil {
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

// deliver pushes the exception frame and enters the guest's #PF handler,
// as the processor does for an interrupt gate at the same privilege.
func (m *machine) deliver(cr2 uint64, code uint32, eip uint64) error {
	m.observe(Obs{Kind: ObsFault, Addr: cr2, Value: uint64(code), EIP: eip})
	m.run.Faults++
	if m.way == WayEngine {
		if _, err := m.apply(engine.Event{Kind: engine.EvLabel, Text: fmt.Sprintf("page fault at %#x, error %#x: the host delivers it through the guest's IDT", cr2, code)}); err != nil {
			return err
		}
	}
	long := m.long()
	idt := m.uc.TableReg(unicorn.RegIDTR)
	gate := uint64(8)
	if long {
		gate = 16
	}
	if uint64(idt.Limit) < vectorPF*gate+gate-1 {
		return fmt.Errorf("#PF at %#x (error %#x) from %#x, but the guest's IDT (limit %#x) has no vector 14", cr2, code, eip, idt.Limit)
	}
	lo, err := m.guestRead(idt.Base+vectorPF*gate, 8)
	if err != nil {
		return err
	}
	if lo>>47&1 == 0 {
		return fmt.Errorf("#PF at %#x (error %#x) from %#x: the guest's IDT entry 14 is not present", cr2, code, eip)
	}
	target := lo&0xffff | lo>>48<<16
	if long {
		hi, err := m.guestRead(idt.Base+vectorPF*gate+8, 8)
		if err != nil {
			return err
		}
		target |= hi << 32
	}
	cs, flags := m.uc.Reg(unicorn.RegCS), m.uc.Reg(unicorn.RegEFLAGS)
	sp := m.uc.Reg(unicorn.RegESP)
	var frame []uint64
	size := 4
	if long {
		size = 8
		oldSP := sp
		sp &^= 15
		frame = []uint64{m.uc.Reg(unicorn.RegSS), oldSP, flags, cs, eip, uint64(code)}
	} else {
		frame = []uint64{flags, cs, eip, uint64(code)}
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
	if sel := lo >> 16 & 0xffff; sel != cs {
		return fmt.Errorf("#PF handler selector %#x differs from the current CS %#x: a privilege or segment change, which the live source does not model", sel, cs)
	}
	if lo>>40&0xf == 0xe {
		flags &^= 1 << 9 // interrupt gate: IF off
	}
	flags &^= 1<<8 | 1<<14 | 1<<16 | 1<<17 // TF, NT, RF, VM
	if err := m.setCR2(cr2); err != nil {
		return err
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
	if err := m.walkUnicorn(va, kind, ucMem{m}, &w); err != nil {
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
		m.eng.Format().Walk(roMem{m.eng.Memory()}, regs.Root(), x86.GVA(va), regs.Access(kind), &w)
	} else if m.walkUnicorn(va, kind, roMem{ucMem{m}}, &w) != nil {
		return 0, false
	}
	return uint64(w.GPA), w.OK()
}

var errClosed = errors.New("x86live: closed")

func (m *machine) close() {
	if m.uc != nil {
		m.uc.Close()
	}
}
