package qemu

import (
	"bytes"
	"encoding/binary"
)

// synth describes a small core the tests build: ELF64, one PT_NOTE with
// a CORE and a QEMU note per vCPU, and PT_LOAD segments.
type synth struct {
	machine  uint16 // default EM_X86_64
	cpus     []CPUState
	segs     []synthSeg
	version  uint32 // QEMU note version (default 1)
	noteSize uint32 // QEMUCPUState size (default 440)
	class32  bool   // ELFCLASS32, as QEMU writes for a guest not in long mode
}

type synthSeg struct {
	gpa     uint64
	data    []byte // stored bytes
	memSize uint64 // 0: len(data)
}

// longModeGuest is a 4-level guest with NX in use:
//
//	PML4 0x1000, PDPT 0x2000 (user), PD 0x3000, PT 0x4000
//	0x400000     -> 0x5000  user, read-only, executable   (4 KiB)
//	0x401000     -> 0x6000  user, writable, NX            (4 KiB)
//	PML4[273] -> PDPT 0x7000 -> PD 0x8000:
//	0xffff888000000000 -> 0x200000 kernel, writable, NX, global (2 MiB)
//
// RAM is 4 MiB: the first 64 KiB stored, the rest zero (MemSize >
// FileSize). The vCPU is at CPL 3 in 64-bit code.
func longModeGuest() synth {
	ram := make([]byte, 64<<10)
	put := func(a, v uint64) { binary.LittleEndian.PutUint64(ram[a:], v) }
	const p, w, u, a, ps, g, nx = 1, 2, 4, 0x20, 0x80, 0x100, 1 << 63
	put(0x1000, 0x2000|p|w|u|a)
	put(0x1000+273*8, 0x7000|p|w|a)
	put(0x2000, 0x3000|p|w|u|a)
	put(0x3000+2*8, 0x4000|p|w|u|a)
	put(0x4000, 0x5000|p|u|a)
	put(0x4008, 0x6000|p|w|u|a|nx)
	put(0x7000, 0x8000|p|w|a)
	put(0x8000, 0x200000|p|w|a|ps|g|nx)
	put(0x5000, 0x9090909090909090) // code at 0x400000
	put(0x6ff8, 0x1234)             // the stack top at 0x401ff8
	var st CPUState
	st.Version, st.Size = 1, 440
	st.CR[0] = 0x80050033
	st.CR[3] = 0x1000
	st.CR[4] = 0x6b0 // PAE PGE PSE OSFXSR OSXMMEXCPT
	st.RIP = 0x400000
	st.GPR[rspIndex] = 0x401ff8
	st.Seg[SegCS] = SegmentReg{Selector: 0x33, Limit: 0xffffffff, Flags: 0x00affb00}
	return synth{cpus: []CPUState{st}, segs: []synthSeg{{gpa: 0, data: ram, memSize: 4 << 20}}}
}

// bytes builds the core.
func (s synth) bytes() []byte {
	le := binary.LittleEndian
	machine := s.machine
	if machine == 0 {
		machine = emAMD64
	}
	var notes bytes.Buffer
	note := func(name string, typ uint32, desc []byte) {
		var h [12]byte
		le.PutUint32(h[0:], uint32(len(name)+1))
		le.PutUint32(h[4:], uint32(len(desc)))
		le.PutUint32(h[8:], typ)
		notes.Write(h[:])
		notes.WriteString(name)
		notes.WriteByte(0)
		for notes.Len()%4 != 0 {
			notes.WriteByte(0)
		}
		notes.Write(desc)
		for notes.Len()%4 != 0 {
			notes.WriteByte(0)
		}
	}
	for _, c := range s.cpus {
		note("CORE", 1, make([]byte, 336))
		note("QEMU", 0, s.cpuState(c))
	}
	phnum := 1 + len(s.segs)
	ehSize, phSize := 64, 56
	if s.class32 {
		ehSize, phSize = 52, 32
	}
	off := uint64(ehSize + phSize*phnum)
	var ph bytes.Buffer
	phdr := func(typ uint32, off, paddr, filesz, memsz uint64) {
		if s.class32 {
			var b [32]byte
			le.PutUint32(b[0:], typ)
			le.PutUint32(b[4:], uint32(off))
			le.PutUint32(b[8:], uint32(paddr))
			le.PutUint32(b[12:], uint32(paddr))
			le.PutUint32(b[16:], uint32(filesz))
			le.PutUint32(b[20:], uint32(memsz))
			ph.Write(b[:])
			return
		}
		var b [56]byte
		le.PutUint32(b[0:], typ)
		le.PutUint64(b[8:], off)
		le.PutUint64(b[16:], paddr)
		le.PutUint64(b[24:], paddr)
		le.PutUint64(b[32:], filesz)
		le.PutUint64(b[40:], memsz)
		ph.Write(b[:])
	}
	phdr(ptNote, off, 0, uint64(notes.Len()), uint64(notes.Len()))
	off += uint64(notes.Len())
	for _, sg := range s.segs {
		mem := sg.memSize
		if mem == 0 {
			mem = uint64(len(sg.data))
		}
		phdr(ptLoad, off, sg.gpa, uint64(len(sg.data)), mem)
		off += uint64(len(sg.data))
	}
	var out bytes.Buffer
	var eh [64]byte
	copy(eh[:], "\x7fELF\x02\x01\x01")
	le.PutUint16(eh[16:], etCore)
	le.PutUint16(eh[18:], machine)
	le.PutUint32(eh[20:], 1)
	if s.class32 {
		eh[4] = 1
		le.PutUint32(eh[28:], 52) // phoff
		le.PutUint16(eh[40:], 52)
		le.PutUint16(eh[42:], 32)
		le.PutUint16(eh[44:], uint16(phnum))
		out.Write(eh[:52])
	} else {
		le.PutUint64(eh[32:], 64) // phoff
		le.PutUint16(eh[52:], 64)
		le.PutUint16(eh[54:], 56)
		le.PutUint16(eh[56:], uint16(phnum))
		out.Write(eh[:])
	}
	out.Write(ph.Bytes())
	out.Write(notes.Bytes())
	for _, sg := range s.segs {
		out.Write(sg.data)
	}
	return out.Bytes()
}

func (s synth) cpuState(c CPUState) []byte {
	le := binary.LittleEndian
	size := s.noteSize
	if size == 0 {
		size = 440
	}
	version := s.version
	if version == 0 {
		version = 1
	}
	b := make([]byte, max(size, 440))
	le.PutUint32(b[0:], version)
	le.PutUint32(b[4:], size)
	p := 8
	u64 := func(v uint64) { le.PutUint64(b[p:], v); p += 8 }
	for _, r := range c.GPR {
		u64(r)
	}
	u64(c.RIP)
	u64(c.RFLAGS)
	for _, g := range c.Seg {
		le.PutUint32(b[p:], g.Selector)
		le.PutUint32(b[p+4:], g.Limit)
		le.PutUint32(b[p+8:], g.Flags)
		p += 16
		u64(g.Base)
	}
	for _, cr := range c.CR {
		u64(cr)
	}
	u64(c.KernelGSBase)
	return b[:size]
}

// compact splits every segment into one segment per 4 KiB page that
// holds non-zero bytes, storing only up to the last of them (the rest
// of the page reads as zeros): the same guest in a few KiB, a seed the
// fuzzer can afford to mutate.
func (s synth) compact() synth {
	var segs []synthSeg
	for _, sg := range s.segs {
		for off := 0; off < len(sg.data); off += 4096 {
			page := sg.data[off:min(off+4096, len(sg.data))]
			last := len(page)
			for last > 0 && page[last-1] == 0 {
				last--
			}
			if last == 0 {
				continue
			}
			segs = append(segs, synthSeg{gpa: sg.gpa + uint64(off), data: page[:(last+7)&^7], memSize: 4096})
		}
	}
	s.segs = segs
	return s
}

// paeGuest is a legacy PAE guest (no long mode) in an ELF32 core:
//
//	PDPT 0x1020 (32 bytes, as CR3 may point inside a page), PD 0x2000, PT 0x3000
//	0x400000 -> 0x5000 user, writable, NX (EFER.NXE must be inferred)
//	0xc0000000 -> 0x200000 a 2 MiB kernel page (PDPT[3] -> PD 0x4000)
func paeGuest() synth {
	ram := make([]byte, 64<<10)
	put := func(a, v uint64) { binary.LittleEndian.PutUint64(ram[a:], v) }
	put(0x1020, 0x2000|1)
	put(0x1038, 0x4000|1)
	put(0x2000+2*8, 0x3000|0x27)
	put(0x3000, 0x5000|0x27|1<<63)
	put(0x4000, 0x200000|0xa3)
	var st CPUState
	st.Version, st.Size = 1, 440
	st.CR[0], st.CR[3], st.CR[4] = 0x80000011, 0x1020, 0x20
	st.RIP, st.GPR[rspIndex] = 0xc0001000, 0xc0002000
	st.Seg[SegCS] = SegmentReg{Selector: 0x10, Limit: 0xffffffff, Flags: 0x00cf9b00}
	return synth{machine: emI386, class32: true, cpus: []CPUState{st}, segs: []synthSeg{{gpa: 0, data: ram, memSize: 4 << 20}}}
}
