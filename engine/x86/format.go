package x86

import "fmt"

// LevelKind names a level of a paging hierarchy, counted from the leaf.
type LevelKind uint8

const (
	LevelPT   LevelKind = 1
	LevelPD   LevelKind = 2
	LevelPDPT LevelKind = 3
	LevelPML4 LevelKind = 4
	LevelPML5 LevelKind = 5
)

var levelNames = [...]string{"?", "PT", "PD", "PDPT", "PML4", "PML5"}

func (k LevelKind) String() string {
	if int(k) < len(levelNames) {
		return levelNames[k]
	}
	return "level?"
}

// Level is one level of a paging format: where its index sits in the
// linear address, how big its entries are, whether PS may end the walk
// there, and which bits must be zero.
type Level struct {
	Kind      LevelKind
	Shift     uint8 // linear-address bit where this level's index starts
	IndexBits uint8 // 10 (32-bit), 9 (PAE/long), 2 (legacy PAE PDPT)
	EntrySize uint8 // 4 or 8 bytes
	BigPages  bool  // an entry with PS set maps a 1<<Shift page here
	Register  bool  // legacy PAE PDPTE: read from the PDPTE registers, never gets A
	Rights    bool  // RW, US (and NX when enabled) take part in the rights
	PSE36     bool  // 32-bit 4 MiB pages: PDE bits 20:13 hold physical bits 39:32

	RsvdTable uint64 // must-be-zero bits of an entry that points at a table
	RsvdBig   uint64 // must-be-zero bits of an entry that maps a big page
	FrameMask uint64 // physical-address bits of the next table
}

// Entries is the number of entries in a table of this level.
func (l *Level) Entries() int { return 1 << l.IndexBits }

// Index is the index that va selects in a table of this level.
// NXMask is the NX bit when it is architectural in the format, else 0:
// what RightsMasked takes.
func (f *Format) NXMask() Entry {
	if f.NX {
		return Entry(NX)
	}
	return 0
}

func (l *Level) Index(va GVA) uint64 {
	return uint64(va) >> l.Shift & (1<<l.IndexBits - 1)
}

// Covers is the number of bytes of linear space one entry covers.
func (l *Level) Covers() uint64 { return 1 << l.Shift }

// Big reports whether e, present at this level, maps a page rather than a
// table.
func (l *Level) Big(e Entry) bool { return l.BigPages && e.Big() }

// Reserved returns the must-be-zero bits set in the present entry e.
func (l *Level) Reserved(e Entry) uint64 {
	if l.Big(e) {
		return uint64(e) & l.RsvdBig
	}
	return uint64(e) & l.RsvdTable
}

// Table is the physical address of the table e points at.
func (l *Level) Table(e Entry) GPA { return GPA(uint64(e) & l.FrameMask) }

// PageBase is the physical base of the big page (or, at the PT level, the
// 4 KiB page) that e maps. Reserved bits must already have been checked.
func (l *Level) PageBase(e Entry) GPA {
	if l.PSE36 {
		return GPA(uint64(e)&0xffc00000 | (uint64(e)>>13&0xff)<<32)
	}
	return GPA(uint64(e) & l.FrameMask &^ (l.Covers() - 1))
}

// Format is a paging mode as data: its levels from the top down and the
// facts the walker needs. Build one with NewFormat; it is immutable.
type Format struct {
	Mode     Mode
	Levels   [5]Level // Levels[0] is the top level, Levels[N-1] the PT
	N        int
	VABits   uint8  // 32 (legacy: addresses truncated), 48 or 57 (canonical)
	NX       bool   // EFER.NXE: the NX bit is architectural
	FetchBit bool   // the I/D bit is reported in #PF error codes
	MaxPhys  uint8  // MAXPHYADDR
	RootMask uint64 // CR3 bits that locate the top table
}

// Level returns the level of kind k, or nil.
func (f *Format) Level(k LevelKind) *Level {
	for i := 0; i < f.N; i++ {
		if f.Levels[i].Kind == k {
			return &f.Levels[i]
		}
	}
	return nil
}

// bits returns a mask of bits hi..lo inclusive.
func bits(hi, lo uint) uint64 {
	if hi < lo {
		return 0
	}
	return (^uint64(0) >> (63 - hi)) &^ (1<<lo - 1)
}

// MinMaxPhys and MaxMaxPhys bound the MAXPHYADDR a trace may choose.
const (
	MinMaxPhys     = 32
	MaxMaxPhys     = 52
	DefaultMaxPhys = 40
)

// NewFormat builds the paging format of guest mode m. cr4 matters for
// 32-bit paging (CR4.PSE enables 4 MiB pages); maxPhys is MAXPHYADDR.
// Non-paging modes yield a format with no levels (identity translation).
func NewFormat(m Mode, cr4 uint64, maxPhys uint8) (*Format, error) {
	if maxPhys < MinMaxPhys || maxPhys > MaxMaxPhys {
		return nil, fmt.Errorf("x86: MAXPHYADDR %d outside %d..%d", maxPhys, MinMaxPhys, MaxMaxPhys)
	}
	M := uint(maxPhys)
	f := &Format{Mode: m, NX: m.NX(), FetchBit: m.NX(), MaxPhys: maxPhys, VABits: 32}
	phys := bits(M-1, 12)
	var nxRsvd uint64
	if !f.NX {
		nxRsvd = uint64(NX)
	}
	switch {
	case m == Mode32Bit:
		f.RootMask = 0xfffff000
		pd := Level{Kind: LevelPD, Shift: 22, IndexBits: 10, EntrySize: 4, Rights: true, FrameMask: 0xfffff000}
		if cr4&CR4PSE != 0 {
			m40 := min(M, 40)
			pd.BigPages, pd.PSE36 = true, true
			pd.RsvdBig = 1<<21 | bits(20, 13+m40-32)
		}
		f.Levels[0] = pd
		f.Levels[1] = Level{Kind: LevelPT, Shift: 12, IndexBits: 10, EntrySize: 4, Rights: true, FrameMask: 0xfffff000}
		f.N = 2
	case m == ModePAE || m == ModePAENX:
		f.RootMask = 0xffffffe0
		hi := bits(62, M) | nxRsvd
		f.Levels[0] = Level{Kind: LevelPDPT, Shift: 30, IndexBits: 2, EntrySize: 8, Register: true,
			RsvdTable: bits(63, M) | bits(8, 5) | bits(2, 1), FrameMask: phys}
		f.Levels[1] = Level{Kind: LevelPD, Shift: 21, IndexBits: 9, EntrySize: 8, Rights: true, BigPages: true,
			RsvdTable: hi, RsvdBig: hi | bits(20, 13), FrameMask: phys}
		f.Levels[2] = Level{Kind: LevelPT, Shift: 12, IndexBits: 9, EntrySize: 8, Rights: true, RsvdTable: hi, FrameMask: phys}
		f.N = 3
	case m.Long():
		f.RootMask = phys
		f.VABits = 48
		hi := bits(51, M) | nxRsvd
		n := 0
		if m == ModeLA57 || m == ModeLA57NX {
			f.VABits = 57
			f.Levels[n] = Level{Kind: LevelPML5, Shift: 48, IndexBits: 9, EntrySize: 8, Rights: true,
				RsvdTable: hi | uint64(PS), FrameMask: phys}
			n++
		}
		f.Levels[n] = Level{Kind: LevelPML4, Shift: 39, IndexBits: 9, EntrySize: 8, Rights: true,
			RsvdTable: hi | uint64(PS), FrameMask: phys}
		f.Levels[n+1] = Level{Kind: LevelPDPT, Shift: 30, IndexBits: 9, EntrySize: 8, Rights: true, BigPages: true,
			RsvdTable: hi, RsvdBig: hi | bits(29, 13), FrameMask: phys}
		f.Levels[n+2] = Level{Kind: LevelPD, Shift: 21, IndexBits: 9, EntrySize: 8, Rights: true, BigPages: true,
			RsvdTable: hi, RsvdBig: hi | bits(20, 13), FrameMask: phys}
		f.Levels[n+3] = Level{Kind: LevelPT, Shift: 12, IndexBits: 9, EntrySize: 8, Rights: true, RsvdTable: hi, FrameMask: phys}
		f.N = n + 4
	case m == ModeReal || m == ModeProtected:
		f.NX, f.FetchBit = false, false
	default:
		return nil, fmt.Errorf("x86: %v is not a guest paging mode", m)
	}
	return f, nil
}

// Canonical reports whether va is canonical in f (always true for legacy
// formats, which truncate instead).
func (f *Format) Canonical(va GVA) bool {
	if f.VABits >= 64 || !f.Mode.Long() {
		return true
	}
	top := int64(va) >> (f.VABits - 1)
	return top == 0 || top == -1
}

// Linear applies the format's address-size rule: legacy modes keep the low
// 32 bits of a linear address.
func (f *Format) Linear(va GVA) GVA {
	if f.Mode.Long() {
		return va
	}
	return va & 0xffffffff
}
