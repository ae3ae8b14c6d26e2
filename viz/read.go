package viz

import (
	"encoding/binary"

	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// peek reads guest memory for display without side effects: drawing a
// frame must not change what the next frame shows, so viz reads page
// bytes directly (Memory.PageBytes: no TLB, no counting, no handler),
// keeping the last page for the many entries of one table. Pages with no
// bytes (MMIO, ballooned, outside RAM) read as all ones, as on a bus
// with nothing behind it. Walks use the engine's GuestWalk, which peeks
// the same way.
type peek struct {
	mem  *phys.Memory
	page x86.GPA // page of bytes, valid when bytes != nil
	data []byte
}

func (p *peek) reset(mem *phys.Memory) { p.mem, p.data = mem, nil }

// ReadEntry implements x86.Memory.
func (p *peek) ReadEntry(addr x86.GPA, size int) uint64 {
	pg := x86.PageDown(addr)
	if p.data == nil || pg != p.page {
		p.page, p.data = pg, p.mem.PageBytes(pg)
		if p.data == nil {
			p.page = ^x86.GPA(0)
			return ^uint64(0) >> (64 - 8*size)
		}
	}
	off := x86.PageOffset(addr)
	if off+uint64(size) > x86.PageSize {
		return ^uint64(0) >> (64 - 8*size)
	}
	if size == 4 {
		return uint64(binary.LittleEndian.Uint32(p.data[off:]))
	}
	return binary.LittleEndian.Uint64(p.data[off:])
}

// SetEntryBits implements x86.Memory: display walks never set A or D.
func (p *peek) SetEntryBits(x86.GPA, int, uint64) {}

// pageOf is the descriptor of the page holding gpa, or nil. (Lookup
// only remembers the range it found: nothing observable changes.)
func pageOf(mem *phys.Memory, gpa x86.GPA) *phys.Page {
	p, _, ok := mem.Lookup(gpa)
	if !ok {
		return nil
	}
	return p
}
