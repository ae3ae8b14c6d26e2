//go:build !js && !wasip1

package x86live

import (
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
	"github.com/pgm-explorer/pgm-explorer/traces/x86live/unicorn"
)

// Unicorn's TLB: in the engine way each miss is answered by the engine,
// in the reference way by a walk of Unicorn's own RAM.

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

// How walkUnicorn checks an access.
type walkAs uint8

const (
	asGuest      walkAs = iota // at the guest's CPL, with SMEP, SMAP and keys
	asSupervisor               // the processor's own accesses (IDT, TSS, the stack it pushes on)
	asTables                   // the decoder's reads: where a page is, no rights checked
)

// walkUnicorn walks the guest tables in Unicorn's RAM with the current
// control registers (the reference way's view).
func (m *machine) walkUnicorn(va uint64, kind x86.AccessKind, mem x86.Memory, w *x86.Walk, as walkAs) error {
	var r x86.Regs
	r.Reset(x86.DefaultMaxPhys)
	r.CR0, r.CR3, r.CR4, r.EFER = m.uc.Reg(unicorn.RegCR0), m.uc.Reg(unicorn.RegCR3), m.uc.Reg(unicorn.RegCR4), m.uc.MSR(msrEFER)
	if as == asGuest {
		r.CPL = uint8(m.uc.Reg(unicorn.RegCS) & 3)
		r.AC = m.uc.Reg(unicorn.RegEFLAGS)&eflagsAC != 0
		r.PKRU = m.pkru
	}
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
	root := r.Root()
	if as == asTables {
		root = r.TableRoot()
	}
	f.Walk(mem, root, x86.GVA(va), r.Access(kind), w)
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
			err = m.walkUnicorn(vaddr, acc, roMem{ucMem{m}}, &w, asGuest)
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
	m.pollState()
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
