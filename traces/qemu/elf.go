package qemu

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
)

// Limits on what a core may announce. A real QEMU core has a handful of
// PT_LOAD segments (RAM below 640K, RAM above 768K, device memory, the
// firmware) and two notes per vCPU; the caps keep a hostile file from
// making the reader allocate or loop on numbers it invents.
const (
	MaxSegments  = 4096    // program headers
	MaxCPUs      = 1024    // QEMU notes
	MaxNoteBytes = 4 << 20 // all PT_NOTE segments together
	MaxPhysAddr  = 1 << 52 // the architectural limit of a physical address
)

// Sentinel errors, matched with errors.Is.
var (
	ErrNotELF      = errors.New("not an ELF file")
	ErrNotCore     = errors.New("not an x86 ELF core (ET_CORE, little-endian, EM_386 or EM_X86_64)")
	ErrNoCPUNote   = errors.New("no QEMU vCPU note (take the core with QEMU's dump-guest-memory or `virsh dump --memory-only`)")
	ErrNoteVersion = errors.New("QEMU vCPU note of an unknown version")
	ErrNotBacked   = errors.New("physical address not in any PT_LOAD segment")
)

// FormatError is a malformed core: what is wrong, and where (a byte
// offset in the file).
type FormatError struct {
	Off int64
	Msg string
	Err error // a sentinel, or nil
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("byte %d: %s", e.Off, e.Msg)
}

func (e *FormatError) Unwrap() error { return e.Err }

func formatErr(off int64, sentinel error, format string, a ...any) error {
	return &FormatError{Off: off, Msg: fmt.Sprintf(format, a...), Err: sentinel}
}

// Segment is one PT_LOAD segment: guest-physical memory stored in the
// file. Bytes past FileSize up to MemSize read as zero.
type Segment struct {
	GPA      uint64 // p_paddr: where the segment starts in guest-physical memory
	MemSize  uint64 // bytes of guest-physical memory it covers
	FileSize uint64 // bytes stored in the file (at most MemSize)
	Off      int64  // where they start in the file
}

// End is the first guest-physical address after the segment.
func (s Segment) End() uint64 { return s.GPA + s.MemSize }

// Core is a QEMU guest-memory core opened for reading. It keeps the
// segment table and the vCPU states, never the memory itself: ReadPhys
// reads the file on demand.
type Core struct {
	r        io.ReaderAt
	size     int64
	Class    int    // 32 or 64 (ELFCLASS)
	Machine  uint16 // EM_386 (3) or EM_X86_64 (62); QEMU writes EM_X86_64 when vCPU 0 is in long mode
	Segments []Segment
	CPUs     []CPUState // from the notes named "QEMU", in vCPU order
}

const (
	emI386  = 3
	emAMD64 = 62
	ptLoad  = 1
	ptNote  = 4
	etCore  = 4
	pnXNum  = 0xffff
)

// OpenCore reads the ELF header, the program headers and the notes of a
// QEMU core of size bytes. Every count and length is checked against the
// caps above and the file's size before anything is allocated from it.
func OpenCore(r io.ReaderAt, size int64) (*Core, error) {
	var id [64]byte
	n, _ := r.ReadAt(id[:], 0)
	if n < 20 || string(id[:4]) != "\x7fELF" {
		return nil, formatErr(0, ErrNotELF, "no ELF magic")
	}
	c := &Core{r: r, size: size}
	var hdrSize int
	switch id[4] {
	case 1:
		c.Class, hdrSize = 32, 52
	case 2:
		c.Class, hdrSize = 64, 64
	default:
		return nil, formatErr(4, ErrNotCore, "ELF class %d", id[4])
	}
	le := binary.LittleEndian
	if id[5] != 1 {
		return nil, formatErr(5, ErrNotCore, "not little-endian (data encoding %d)", id[5])
	}
	if n < hdrSize {
		return nil, formatErr(int64(n), nil, "truncated ELF header (%d of %d bytes)", n, hdrSize)
	}
	if t := le.Uint16(id[16:]); t != etCore {
		return nil, formatErr(16, ErrNotCore, "ELF type %d", t)
	}
	c.Machine = le.Uint16(id[18:])
	if c.Machine != emI386 && c.Machine != emAMD64 {
		return nil, formatErr(18, ErrNotCore, "machine %d", c.Machine)
	}
	var phoff, shoff int64
	var phentsize, phnum, shentsize, shnum int
	if c.Class == 64 {
		phoff, shoff = int64(le.Uint64(id[32:])), int64(le.Uint64(id[40:]))
		phentsize, phnum = int(le.Uint16(id[54:])), int(le.Uint16(id[56:]))
		shentsize, shnum = int(le.Uint16(id[58:])), int(le.Uint16(id[60:]))
	} else {
		phoff, shoff = int64(le.Uint32(id[28:])), int64(le.Uint32(id[32:]))
		phentsize, phnum = int(le.Uint16(id[42:])), int(le.Uint16(id[44:]))
		shentsize, shnum = int(le.Uint16(id[46:])), int(le.Uint16(id[48:]))
	}
	wantPh := 56
	if c.Class == 32 {
		wantPh = 32
	}
	if phentsize != wantPh {
		return nil, formatErr(0, nil, "program header size %d (want %d)", phentsize, wantPh)
	}
	if phnum == pnXNum {
		// More than 65534 headers: the real count is in section 0's sh_info.
		if shnum == 0 || shentsize < 40 || shoff <= 0 || shoff > size-int64(shentsize) {
			return nil, formatErr(0, nil, "PN_XNUM program headers without a valid section 0")
		}
		var info [4]byte
		off := shoff + 44
		if c.Class == 32 {
			off = shoff + 28
		}
		if err := readAt(r, info[:], off); err != nil {
			return nil, formatErr(off, nil, "reading section 0: %v", err)
		}
		phnum = int(le.Uint32(info[:]))
	}
	if phnum == 0 || phnum > MaxSegments {
		return nil, formatErr(0, nil, "%d program headers (want 1..%d)", phnum, MaxSegments)
	}
	if phoff <= 0 || phoff > size || int64(phnum)*int64(phentsize) > size-phoff {
		return nil, formatErr(phoff, nil, "%d program headers at byte %d do not fit in the file (%d bytes)", phnum, phoff, size)
	}
	ph := make([]byte, phnum*phentsize)
	if err := readAt(r, ph, phoff); err != nil {
		return nil, formatErr(phoff, nil, "reading program headers: %v", err)
	}
	var notes []Segment
	for i := 0; i < phnum; i++ {
		p := ph[i*phentsize:]
		at := phoff + int64(i*phentsize)
		var typ uint32
		var s Segment
		if c.Class == 64 {
			typ = le.Uint32(p)
			s = Segment{Off: int64(le.Uint64(p[8:])), GPA: le.Uint64(p[24:]), FileSize: le.Uint64(p[32:]), MemSize: le.Uint64(p[40:])}
		} else {
			typ = le.Uint32(p)
			s = Segment{Off: int64(le.Uint32(p[4:])), GPA: uint64(le.Uint32(p[12:])), FileSize: uint64(le.Uint32(p[16:])), MemSize: uint64(le.Uint32(p[20:]))}
		}
		if typ != ptLoad && typ != ptNote {
			continue
		}
		if s.Off < 0 || s.Off > size || s.FileSize > uint64(size-s.Off) {
			return nil, formatErr(at, nil, "segment %d: %d bytes at byte %d run past the end of the file (%d bytes): truncated core or lying size", i, s.FileSize, s.Off, size)
		}
		if typ == ptNote {
			notes = append(notes, s)
			continue
		}
		switch {
		case s.MemSize < s.FileSize:
			return nil, formatErr(at, nil, "segment %d: memory size %#x below file size %#x", i, s.MemSize, s.FileSize)
		case s.GPA >= MaxPhysAddr || s.MemSize > MaxPhysAddr-s.GPA:
			return nil, formatErr(at, nil, "segment %d: [%#x, +%#x) beyond 2^52", i, s.GPA, s.MemSize)
		case s.MemSize == 0:
			continue
		}
		c.Segments = append(c.Segments, s)
	}
	sort.Slice(c.Segments, func(i, j int) bool { return c.Segments[i].GPA < c.Segments[j].GPA })
	for i := 1; i < len(c.Segments); i++ {
		if c.Segments[i].GPA < c.Segments[i-1].End() {
			return nil, formatErr(phoff, nil, "PT_LOAD segments at %#x and %#x overlap", c.Segments[i-1].GPA, c.Segments[i].GPA)
		}
	}
	// Nor may two segments share bytes of the file: QEMU never writes
	// that, and it would let a small file stand for much memory.
	byOff := append([]Segment(nil), c.Segments...)
	sort.Slice(byOff, func(i, j int) bool { return byOff[i].Off < byOff[j].Off })
	for i := 1; i < len(byOff); i++ {
		if byOff[i].FileSize > 0 && uint64(byOff[i].Off) < uint64(byOff[i-1].Off)+byOff[i-1].FileSize {
			return nil, formatErr(phoff, nil, "PT_LOAD segments at %#x and %#x share bytes of the file", byOff[i-1].GPA, byOff[i].GPA)
		}
	}
	if len(c.Segments) == 0 {
		return nil, formatErr(phoff, nil, "no PT_LOAD segment: the core holds no guest memory")
	}
	if err := c.readNotes(notes); err != nil {
		return nil, err
	}
	if len(c.CPUs) == 0 {
		return nil, formatErr(phoff, ErrNoCPUNote, "%v", ErrNoCPUNote)
	}
	return c, nil
}

// readNotes decodes the notes: the ones named "QEMU" are vCPU states;
// others (CORE's NT_PRSTATUS, which holds only general registers) are
// skipped.
func (c *Core) readNotes(notes []Segment) error {
	total := uint64(0)
	for _, s := range notes {
		total += s.FileSize
		if total > MaxNoteBytes {
			return formatErr(s.Off, nil, "notes of more than %d bytes", MaxNoteBytes)
		}
		b := make([]byte, s.FileSize)
		if err := readAt(c.r, b, s.Off); err != nil {
			return formatErr(s.Off, nil, "reading notes: %v", err)
		}
		le := binary.LittleEndian
		for p := 0; p < len(b); {
			at := s.Off + int64(p)
			if len(b)-p < 12 {
				return formatErr(at, nil, "truncated note header")
			}
			namesz, descsz := uint64(le.Uint32(b[p:])), uint64(le.Uint32(b[p+4:]))
			nameEnd := uint64(p) + 12 + namesz
			descOff := (nameEnd + 3) &^ 3
			descEnd := descOff + descsz
			if namesz > uint64(len(b)) || descsz > uint64(len(b)) || descEnd > uint64(len(b)) {
				return formatErr(at, nil, "note of name size %d and data size %d runs past its segment", namesz, descsz)
			}
			name := string(b[p+12 : nameEnd])
			if name == "QEMU\x00" || name == "QEMU" {
				if len(c.CPUs) >= MaxCPUs {
					return formatErr(at, nil, "more than %d vCPU notes", MaxCPUs)
				}
				st, err := decodeCPUState(b[descOff:descEnd])
				if err != nil {
					return &FormatError{Off: at, Msg: fmt.Sprintf("vCPU %d: %v", len(c.CPUs), err), Err: errors.Unwrap(err)}
				}
				c.CPUs = append(c.CPUs, st)
			}
			p = int((descEnd + 3) &^ 3)
		}
	}
	return nil
}

// ReadPhys fills b with guest-physical memory from gpa. The whole range
// must lie in one segment (QEMU's segments cover RAM in page-aligned
// pieces and page-table reads never cross a page).
func (c *Core) ReadPhys(gpa uint64, b []byte) error {
	i := sort.Search(len(c.Segments), func(i int) bool { return c.Segments[i].End() > gpa })
	if i == len(c.Segments) || gpa < c.Segments[i].GPA || uint64(len(b)) > c.Segments[i].End()-gpa {
		return fmt.Errorf("%w: %#x (+%d)", ErrNotBacked, gpa, len(b))
	}
	s := c.Segments[i]
	rel := gpa - s.GPA
	clear(b)
	if rel >= s.FileSize {
		return nil
	}
	n := min(uint64(len(b)), s.FileSize-rel)
	if err := readAt(c.r, b[:n], s.Off+int64(rel)); err != nil {
		return fmt.Errorf("reading %#x at byte %d: %w", gpa, s.Off+int64(rel), err)
	}
	return nil
}

// readAt reads exactly len(b) bytes at off; io.EOF with a full read is
// not an error (io.ReaderAt allows it at the end of the file).
func readAt(r io.ReaderAt, b []byte, off int64) error {
	n, err := r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}
