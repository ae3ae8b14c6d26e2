package qemu

import (
	"encoding/binary"
	"fmt"
)

// CPUState is QEMU's QEMUCPUState, version 1: what dump-guest-memory
// writes for each vCPU in a note named "QEMU". It has the general
// registers, the segment registers with their descriptor flags, the
// descriptor tables and CR0-CR4, but neither EFER nor PKRU (Regs says
// how those are inferred).
type CPUState struct {
	Version uint32
	Size    uint32
	GPR     [16]uint64 // RAX RBX RCX RDX RSI RDI RSP RBP R8..R15 (QEMU's order)
	RIP     uint64
	RFLAGS  uint64
	// CS DS ES FS GS SS LDT TR GDT IDT, in QEMU's order.
	Seg          [10]SegmentReg
	CR           [5]uint64
	KernelGSBase uint64 // only when Size >= 440 (QEMU 5.2 and later)
}

// SegmentReg is a segment register as QEMU caches it: Flags holds the
// descriptor's second dword (type, S, DPL, P, AVL, L, D/B, G).
type SegmentReg struct {
	Selector uint32
	Limit    uint32
	Flags    uint32
	Base     uint64
}

// Indexes into CPUState.Seg.
const (
	SegCS = iota
	SegDS
	SegES
	SegFS
	SegGS
	SegSS
	SegLDT
	SegTR
	SegGDT
	SegIDT
)

const (
	cpuStateV1Size   = 432 // without kernel_gs_base
	cpuStateV1GSSize = 440 // with it
	descL            = 1 << 21
	rspIndex         = 6
)

func decodeCPUState(b []byte) (CPUState, error) {
	var s CPUState
	le := binary.LittleEndian
	if len(b) < 8 {
		return s, fmt.Errorf("note of %d bytes is too short for a QEMUCPUState", len(b))
	}
	s.Version, s.Size = le.Uint32(b), le.Uint32(b[4:])
	if s.Version != 1 {
		return s, fmt.Errorf("%w: version %d (this reader knows version 1)", ErrNoteVersion, s.Version)
	}
	if s.Size < cpuStateV1Size || uint64(s.Size) > uint64(len(b)) {
		return s, fmt.Errorf("QEMUCPUState says %d bytes in a note of %d (version 1 has %d or %d)", s.Size, len(b), cpuStateV1Size, cpuStateV1GSSize)
	}
	p := 8
	u64 := func() uint64 { v := le.Uint64(b[p:]); p += 8; return v }
	for i := range s.GPR {
		s.GPR[i] = u64()
	}
	s.RIP, s.RFLAGS = u64(), u64()
	for i := range s.Seg {
		g := &s.Seg[i]
		g.Selector, g.Limit, g.Flags = le.Uint32(b[p:]), le.Uint32(b[p+4:]), le.Uint32(b[p+8:])
		p += 16
		g.Base = u64()
	}
	for i := range s.CR {
		s.CR[i] = u64()
	}
	if s.Size >= cpuStateV1GSSize {
		s.KernelGSBase = u64()
	}
	return s, nil
}

// RSP is the stack pointer.
func (s *CPUState) RSP() uint64 { return s.GPR[rspIndex] }

// Regs is the paging-relevant state of one vCPU, from a core or a
// gdbstub: what a trace needs to reproduce its address space.
type Regs struct {
	CR0, CR3, CR4, EFER uint64
	CPL                 uint8
	RIP, RSP            uint64
	AC                  bool // RFLAGS.AC (SMAP lets the supervisor at user pages when set)
	// EFERKnown: EFER was read (gdbstub); false: LME was inferred from
	// the mode and NXE is left to the snapshot's option (a core).
	EFERKnown bool
}

// EFER bits (the engine's x86 package has the same; repeated here so
// that the decoder reads on its own).
const (
	eferLME  = 1 << 8
	eferLMA  = 1 << 10
	eferNXE  = 1 << 11
	cr0PG    = 1 << 31
	cr0PE    = 1
	cr4PAE   = 1 << 5
	rflagsAC = 1 << 18
)

// Regs derives the paging state of the vCPU. A core has no EFER:
// long mode is taken to be active when CR0.PG and CR4.PAE are set and
// either CS.L is (64-bit code) or the core is an EM_X86_64 one (QEMU
// writes that machine only when vCPU 0 is in long mode; a vCPU in a
// 32-bit compatibility-mode process has CS.L clear). LME and LMA are
// set then; NXE is left clear for the snapshot to infer or be told.
// The CPL is CS's RPL in protected mode, 0 in real mode.
func (c *Core) Regs(cpu int) (Regs, error) {
	if cpu < 0 || cpu >= len(c.CPUs) {
		return Regs{}, fmt.Errorf("no vCPU %d (the core has %d)", cpu, len(c.CPUs))
	}
	s := &c.CPUs[cpu]
	r := Regs{CR0: s.CR[0], CR3: s.CR[3], CR4: s.CR[4], RIP: s.RIP, RSP: s.RSP(), AC: s.RFLAGS&rflagsAC != 0}
	if r.CR0&cr0PE != 0 {
		r.CPL = uint8(s.Seg[SegCS].Selector & 3)
	}
	long := s.Seg[SegCS].Flags&descL != 0 || c.Machine == emAMD64
	if r.CR0&cr0PG != 0 && r.CR4&cr4PAE != 0 && long {
		r.EFER = eferLME | eferLMA
	}
	return r, nil
}
