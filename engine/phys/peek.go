package phys

import (
	"encoding/binary"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// Peeking: reading guest memory to show or check it, not as the guest.
// A read (Read, ReadBytes) is a guest access: it consults and fills the
// page TLB, counts its hits and misses in the statistics, calls access
// handlers and lets an MMIO device answer. A peek does none of that, so
// inspecting a machine, drawing it or checking its invariants changes
// nothing a later access or statistic could show. RAM, ROM and unbacked
// pages peek as they read; MMIO pages and addresses outside every range
// peek as all ones (a device register is not read behind the guest's
// back).

// PeekBytes fills dst from gpa on as described above.
func (m *Memory) PeekBytes(gpa x86.GPA, dst []byte) {
	for len(dst) > 0 {
		n := segment(gpa, len(dst))
		p, _, ok := m.Lookup(gpa) // remembers the range, nothing observable
		if !ok || p.Type() == TypeMMIO {
			fill(dst[:n], 0xff)
		} else {
			copy(dst[:n], m.readView(*p)[x86.PageOffset(gpa):])
		}
		dst = dst[n:]
		gpa += x86.GPA(n)
	}
}

// Peek returns the size bytes (1..8) at gpa, little-endian, as PeekBytes
// sees them. An invalid size peeks all ones.
func (m *Memory) Peek(gpa x86.GPA, size int) uint64 {
	if size < 1 || size > 8 {
		return ^uint64(0)
	}
	var buf [8]byte
	m.PeekBytes(gpa, buf[:size])
	return binary.LittleEndian.Uint64(buf[:])
}

// Peeker is guest memory as an x86.Memory for walks that must change
// nothing: entries are peeked and SetEntryBits does nothing, so a walk
// through it sets no accessed or dirty bit either.
type Peeker struct{ m *Memory }

// Peeker returns m's read-only view.
func (m *Memory) Peeker() Peeker { return Peeker{m} }

// ReadEntry implements x86.Memory.
func (p Peeker) ReadEntry(addr x86.GPA, size int) uint64 { return p.m.Peek(addr, size) }

// SetEntryBits implements x86.Memory: nothing is written.
func (Peeker) SetEntryBits(x86.GPA, int, uint64) {}

var _ x86.Memory = Peeker{}
