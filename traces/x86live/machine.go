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

// CPUModel is the Unicorn CPU every guest runs on: Icelake-Server, whose
// CPUID has SMEP, SMAP and PKU, which Unicorn 2.1's TCG implements
// (CR4 writes drop the bits of features the model lacks). TCG has no
// PCID and no INVPCID: CR4.PCIDE is stored but CR3's low bits and bit
// 63 are ignored by its walks and every CR3 write flushes its TLB,
// which a well-behaved guest cannot tell from a CPU that keeps
// translations; INVPCID is an invalid opcode, which stops the run with
// UC_ERR_INSN_INVALID (see README).
const CPUModel = unicorn.CPUIcelakeServer

const (
	// probePage is a physical page with nothing behind it in Unicorn: a
	// probe maps the faulting page there, so the access reports its exact
	// address and size to the unmapped-memory hook.
	probePage = 0x7f00000000
	msrEFER   = 0xc0000080
	vectorPF  = 14
	vectorDF  = 8
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
	pendingInt *pendingInt
	cpl        uint8  // CS.RPL as the engine last heard it
	ac         bool   // RFLAGS.AC likewise
	pkru       uint32 // PKRU, from the guest's wrpkru instructions
	delivering bool   // deliver is changing privilege: no polling
	probing    bool
	probeVA    uint64 // the page a probe watches
	probeHit   *probeAccess
	probeInsns int
	mmio       [MMIOSize]byte
	insnLimit  uint64
	timeLimit  time.Duration
	deadline   time.Time // when the run must stop (set by execute)
	clean      []byte    // reference way: the CPU state before any exception
	oldExcOff  int       // where that state keeps QEMU's old_exception (-1: not found yet)
}

type pendingFault struct {
	va   uint64 // exact address, or the page until a probe found it
	kind x86.AccessKind
	eip  uint64
	page bool // va is only the page
}

// pendingInt is a software interrupt (int n) to deliver; eip is the
// instruction after it.
type pendingInt struct {
	vector uint32
	eip    uint64
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
	m.timeLimit = opt.MaxDuration
	if m.timeLimit == 0 {
		m.timeLimit = DefaultMaxDuration
	}
	m.run = &Run{Program: p.Name, Way: way}
	uc, err := unicorn.Open(unicorn.Mode32, m)
	if err != nil {
		return nil, err
	}
	m.uc = uc
	// A model with SMEP, SMAP and protection keys (see CPUModel).
	if err := uc.SetCPUModel(CPUModel); err != nil {
		uc.Close()
		return nil, err
	}
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
		every := m.opt.CheckEvery
		if every == 0 {
			every = engine.DefaultCheckEvery
		}
		if full, err := m.eng.CheckAfter(o.Index+1, every); err != nil {
			return o, fmt.Errorf("after engine event %d %s: invariant violated%s:\n%w", o.Index, ev.Op(), fullNote(full), err)
		}
	}
	return o, nil
}

// fullNote says which check failed.
func fullNote(full bool) string {
	if full {
		return " (full check)"
	}
	return ""
}

// finalCheck is the full check at the end of a checked engine run: what
// no event touched since the last full check is checked here.
func (m *machine) finalCheck() error {
	if !m.opt.Check || m.eng == nil {
		return nil
	}
	if err := m.eng.Check(); err != nil {
		return fmt.Errorf("at the end: invariant violated (full check):\n%w", err)
	}
	return nil
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
	m.deadline = start.Add(m.timeLimit)
	pc := uint64(LoadAddr)
	for {
		err := m.uc.Start(pc, 0, 0)
		if m.err != nil {
			return m.err
		}
		if pi := m.pendingInt; pi != nil {
			m.pendingInt = nil
			if err := m.deliver(int(pi.vector), 0, 0, false, pi.eip); err != nil {
				return err
			}
			pc = m.uc.Reg(unicorn.RegEIP)
			continue
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

var errClosed = errors.New("x86live: closed")

func (m *machine) close() {
	if m.uc != nil {
		m.uc.Close()
	}
}
