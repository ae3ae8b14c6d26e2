package x86_test

import (
	"encoding/binary"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// fakeMem is a sparse guest-physical memory of 8-byte words. A word never
// written reads as all ones (nothing on the bus); pages marked as ROM keep
// their contents when SetEntryBits is called on them.
type fakeMem struct {
	words map[x86.GPA]uint64 // keyed by 8-byte-aligned address
	rom   map[x86.GPA]bool   // keyed by page address
	sets  []setCall          // every SetEntryBits call, in order
}

type setCall struct {
	addr x86.GPA
	size int
	bits uint64
}

func newFakeMem() *fakeMem {
	return &fakeMem{words: map[x86.GPA]uint64{}, rom: map[x86.GPA]bool{}}
}

func (m *fakeMem) word(addr x86.GPA) uint64 {
	if w, ok := m.words[addr&^7]; ok {
		return w
	}
	return ^uint64(0)
}

// ReadEntry implements x86.Memory.
func (m *fakeMem) ReadEntry(addr x86.GPA, size int) uint64 {
	w := m.word(addr)
	if size == 4 {
		return w >> (8 * (addr & 4)) & 0xffffffff
	}
	return w
}

// write stores a little-endian value of size 4 or 8 bytes.
func (m *fakeMem) write(addr x86.GPA, size int, v uint64) {
	if size == 8 {
		m.words[addr] = v
		return
	}
	sh := 8 * (addr & 4)
	w := m.word(addr)
	m.words[addr&^7] = w&^(0xffffffff<<sh) | (v&0xffffffff)<<sh
}

// SetEntryBits implements x86.Memory.
func (m *fakeMem) SetEntryBits(addr x86.GPA, size int, bits uint64) {
	m.sets = append(m.sets, setCall{addr, size, bits})
	if m.rom[x86.PageDown(addr)] {
		return
	}
	m.write(addr, size, m.ReadEntry(addr, size)|bits)
}

// zeroPage backs the page at p with zeros.
func (m *fakeMem) zeroPage(p x86.GPA) {
	for off := x86.GPA(0); off < 0x1000; off += 8 {
		m.words[p+off] = 0
	}
}

// flatMem is a fast memory for benchmarks and fuzzing: a byte slice at
// GPA 0, all ones beyond it.
type flatMem struct{ b []byte }

func (m *flatMem) ReadEntry(addr x86.GPA, size int) uint64 {
	if uint64(addr)+uint64(size) > uint64(len(m.b)) || uint64(addr)+uint64(size) < uint64(addr) {
		return ^uint64(0) >> (64 - 8*size)
	}
	if size == 4 {
		return uint64(binary.LittleEndian.Uint32(m.b[addr:]))
	}
	return binary.LittleEndian.Uint64(m.b[addr:])
}

func (m *flatMem) SetEntryBits(addr x86.GPA, size int, bits uint64) {
	if uint64(addr)+uint64(size) > uint64(len(m.b)) || uint64(addr)+uint64(size) < uint64(addr) {
		return
	}
	v := m.ReadEntry(addr, size) | bits
	if size == 4 {
		binary.LittleEndian.PutUint32(m.b[addr:], uint32(v))
	} else {
		binary.LittleEndian.PutUint64(m.b[addr:], v)
	}
}

// geometry is the shape of a paging mode, written down here from the SDM
// rather than read from x86.Format, so that the tests check the format.
type geometry struct {
	shifts    []uint // linear-address shift of each level, top first
	idxBits   []uint // index width of each level
	size      int    // entry size in bytes
	pdpteRegs bool   // level 0 is the legacy PAE PDPT (registers)
	rights    []bool // which levels carry RW/US(/NX)
}

func geometryOf(m x86.Mode) geometry {
	switch m {
	case x86.Mode32Bit:
		return geometry{[]uint{22, 12}, []uint{10, 10}, 4, false, []bool{true, true}}
	case x86.ModePAE, x86.ModePAENX:
		return geometry{[]uint{30, 21, 12}, []uint{2, 9, 9}, 8, true, []bool{false, true, true}}
	case x86.ModeAMD64, x86.ModeAMD64NX:
		return geometry{[]uint{39, 30, 21, 12}, []uint{9, 9, 9, 9}, 8, false, []bool{true, true, true, true}}
	case x86.ModeLA57, x86.ModeLA57NX:
		return geometry{[]uint{48, 39, 30, 21, 12}, []uint{9, 9, 9, 9, 9}, 8, false, []bool{true, true, true, true, true}}
	}
	return geometry{}
}

func (g geometry) index(level int, va x86.GVA) uint64 {
	return uint64(va) >> g.shifts[level] & (1<<g.idxBits[level] - 1)
}

// builder lays out guest page tables in a fakeMem, one fresh zeroed page
// per table, starting at 1 MiB.
type builder struct {
	mem  *fakeMem
	g    geometry
	next x86.GPA
	cr3  uint64
	regs [4]uint64 // PDPTE registers as a CR3 load would fill them
}

func newBuilder(m x86.Mode) *builder {
	b := &builder{mem: newFakeMem(), g: geometryOf(m), next: 0x100000}
	b.cr3 = uint64(b.page())
	return b
}

func (b *builder) page() x86.GPA {
	p := b.next
	b.next += 0x1000
	b.mem.zeroPage(p)
	return p
}

// root is the walk root with the current PDPTE registers and WP.
func (b *builder) root(wp bool) x86.Root {
	return x86.Root{CR3: b.cr3, PDPTE: &b.regs, WP: wp}
}

// mapVA builds the path for va: flags[i] are the low/high flag bits of the
// entry at level i (P included by the caller), the walk ends at level
// len(flags)-1 whose entry holds leaf (already encoded: frame bits plus
// PS if big). Existing tables on the path are reused. It returns the
// entry address of each level.
func (b *builder) mapVA(va x86.GVA, flags []uint64, leaf uint64) []x86.GPA {
	addrs := make([]x86.GPA, len(flags))
	table := x86.GPA(b.cr3 &^ 0xfff)
	for i := range flags {
		idx := b.g.index(i, va)
		ea := table + x86.GPA(idx*uint64(b.g.size))
		addrs[i] = ea
		var v uint64
		if i == len(flags)-1 {
			v = leaf | flags[i]
		} else {
			old := b.mem.ReadEntry(ea, b.g.size)
			next := x86.GPA(old &^ 0xfff & (1<<52 - 1))
			if old&1 == 0 || next == 0 {
				next = b.page()
			}
			v = uint64(next) | flags[i]
			table = next
		}
		b.mem.write(ea, b.g.size, v)
		if i == 0 && b.g.pdpteRegs {
			b.regs[idx] = v
		}
	}
	return addrs
}
