package phys

import (
	"encoding/binary"
	"fmt"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// Guest-visible accesses. Each byte behaves as the page holding it says:
//
//   - RAM, MMIO2, ROM shadow: read and written; a write first gives the
//     page a private frame (zero, shared, ballooned and write-monitored
//     pages change state, see makeWritable);
//   - ROM: read; writes dropped without a fault;
//   - MMIO: the MMIO device, or all ones / dropped without one;
//   - reserved: zeros; writes dropped;
//   - no range at all: all ones; writes dropped.
//
// Accesses are little-endian and may cross page and range boundaries.
// An MMIO part is handed to the device in one piece of at most 8 bytes as
// long as it stays in one MMIO range. Addresses wrap modulo 2^64.

// Read returns size bytes (1..8) at gpa. An invalid size reads all ones.
func (m *Memory) Read(gpa x86.GPA, size int) uint64 {
	if size < 1 || size > 8 {
		return ^uint64(0)
	}
	// Fast path: the whole access in one page that the page TLB holds.
	// A miss or an MMIO page falls through to the general loop, which
	// counts its own lookups, so each access is counted once.
	if off := x86.PageOffset(gpa); off+uint64(size) <= x86.PageSize {
		key, idx := pageKey(gpa)
		if e := &m.ptlb[idx]; e.key == key && e.bytes != nil && e.plainRead {
			m.st.PageTLBHits++
			return LoadLE(e.bytes[off:off+uint64(size)], size)
		}
	}
	buf := m.takeScratch()
	m.ReadBytes(gpa, buf[:size])
	v := binary.LittleEndian.Uint64(buf[:])
	m.depth--
	return v
}

// takeScratch lends an 8-byte buffer for a slow-path access. A local
// array would escape to the heap through the access-handler interface
// (an allocation per access); handlers may access memory themselves, so
// there is one buffer per nesting level, and a fresh one beyond that.
// The caller decrements m.depth when done.
func (m *Memory) takeScratch() *[8]byte {
	var b *[8]byte
	if m.depth < len(m.scratch) {
		b = &m.scratch[m.depth]
		*b = [8]byte{}
	} else {
		b = new([8]byte)
	}
	m.depth++
	return b
}

// Write stores the low size bytes (1..8) of v at gpa. An invalid size
// writes nothing.
func (m *Memory) Write(gpa x86.GPA, size int, v uint64) {
	if size < 1 || size > 8 {
		return
	}
	if off := x86.PageOffset(gpa); off+uint64(size) <= x86.PageSize {
		key, idx := pageKey(gpa)
		if e := &m.ptlb[idx]; e.key == key && e.writable {
			m.st.PageTLBHits++
			if m.host.frozen != 0 {
				m.host.thaw(e.page.Frame())
			}
			StoreLE(e.bytes[off:off+uint64(size)], size, v)
			return
		}
	}
	buf := m.takeScratch()
	binary.LittleEndian.PutUint64(buf[:], v)
	m.WriteBytes(gpa, buf[:size])
	m.depth--
}

// LoadLE reads a little-endian value of size bytes (1 to 8) from b: the
// data path of accesses to host bytes, here and in the engine's TLB hits.
func LoadLE(b []byte, size int) uint64 {
	switch size {
	case 8:
		return binary.LittleEndian.Uint64(b)
	case 4:
		return uint64(binary.LittleEndian.Uint32(b))
	case 2:
		return uint64(binary.LittleEndian.Uint16(b))
	}
	var v uint64
	for i := size - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

// StoreLE writes the low size bytes of v (1 to 8) to b, little-endian.
func StoreLE(b []byte, size int, v uint64) {
	switch size {
	case 8:
		binary.LittleEndian.PutUint64(b, v)
	case 4:
		binary.LittleEndian.PutUint32(b, uint32(v))
	case 2:
		binary.LittleEndian.PutUint16(b, uint16(v))
	default:
		for i := range size {
			b[i] = byte(v >> (8 * i))
		}
	}
}

// ReadBytes fills dst from gpa on, with the semantics of Read.
func (m *Memory) ReadBytes(gpa x86.GPA, dst []byte) {
	for len(dst) > 0 {
		n := m.readSegment(gpa, dst)
		dst = dst[n:]
		gpa += x86.GPA(n)
	}
}

// WriteBytes stores src from gpa on, with the semantics of Write.
func (m *Memory) WriteBytes(gpa x86.GPA, src []byte) {
	for len(src) > 0 {
		n := m.writeSegment(gpa, src)
		src = src[n:]
		gpa += x86.GPA(n)
	}
}

// segment is how many bytes of an n-byte access at gpa stay in its page.
func segment(gpa x86.GPA, n int) int {
	return int(min(uint64(n), x86.PageSize-x86.PageOffset(gpa)))
}

// mmioSegment is the part of an access an MMIO device gets in one call:
// at most 8 bytes, within one range (possibly across its pages).
func mmioSegment(gpa x86.GPA, n int, r *Range) int {
	return int(min(uint64(n), 8, uint64(r.end-gpa)))
}

func (m *Memory) readSegment(gpa x86.GPA, dst []byte) int {
	n := segment(gpa, len(dst))
	e := m.pageEntry(gpa)
	if e != nil && !e.plainRead && m.handler != nil && !m.bypass {
		if m.handler.PhysRead(gpa, dst[:n]) {
			return n
		}
		// The handler may have changed the page (and dropped the entry).
		e = m.pageEntry(gpa)
	}
	switch {
	case e == nil:
		fill(dst[:n], 0xff)
	case e.bytes == nil:
		n = mmioSegment(gpa, len(dst), e.rng)
		m.readMMIO(gpa, dst[:n])
	default:
		copy(dst[:n], e.bytes[x86.PageOffset(gpa):])
	}
	return n
}

func (m *Memory) writeSegment(gpa x86.GPA, src []byte) int {
	n := segment(gpa, len(src))
	e := m.pageEntry(gpa)
	if e != nil && !e.plainWrite && m.handler != nil && !m.bypass {
		if m.handler.PhysWrite(gpa, src[:n]) {
			return n
		}
		// The handler may have changed the page (and dropped the entry).
		e = m.pageEntry(gpa)
	}
	switch {
	case e == nil:
	case e.bytes == nil:
		n = mmioSegment(gpa, len(src), e.rng)
		m.writeMMIO(gpa, src[:n])
	case e.writable:
		if m.host.frozen != 0 {
			m.host.thaw(e.page.Frame())
		}
		copy(e.bytes[x86.PageOffset(gpa):], src[:n])
	case e.page.Type().Writable():
		p, r := e.page, e.rng
		page := x86.PageDown(gpa)
		if b := m.makeWritable(p, page); b != nil {
			copy(b[x86.PageOffset(gpa):], src[:n])
			// The transition dropped the entry; refill it so the next
			// write to the page takes the fast path.
			key, idx := pageKey(gpa)
			m.fillEntry(&m.ptlb[idx], key, p, r)
		}
	}
	return n
}

func fill(b []byte, v byte) {
	for i := range b {
		b[i] = v
	}
}

func (m *Memory) readMMIO(gpa x86.GPA, dst []byte) {
	if m.mmio != nil {
		if v, ok := m.mmio.ReadMMIO(gpa, len(dst)); ok {
			var buf [8]byte
			binary.LittleEndian.PutUint64(buf[:], v)
			copy(dst, buf[:])
			return
		}
	}
	fill(dst, 0xff)
}

func (m *Memory) writeMMIO(gpa x86.GPA, src []byte) {
	if m.mmio != nil {
		var buf [8]byte
		copy(buf[:], src)
		m.mmio.WriteMMIO(gpa, len(src), binary.LittleEndian.Uint64(buf[:]))
	}
}

// ReadEntry implements x86.Memory: a page-table entry read is a read.
func (m *Memory) ReadEntry(addr x86.GPA, size int) uint64 { return m.Read(addr, size) }

// SetEntryBits implements x86.Memory: a read-modify-write OR with the
// semantics of Write (an entry in ROM stays unchanged). Nothing is
// written when no bit changes, so a zero page is never allocated for it.
// Access handlers are not called: accessed and dirty updates are the
// paging unit's own, and the engine keeps its shadow state consistent
// with them itself.
func (m *Memory) SetEntryBits(addr x86.GPA, size int, bits uint64) {
	old := m.bypass
	m.bypass = true
	if v := m.Read(addr, size); v|bits != v {
		m.Write(addr, size, v|bits)
	}
	m.bypass = old
}

var _ x86.Memory = (*Memory)(nil)

// readView is what a read of page p sees: the zero page when p has no
// frame, nil for MMIO.
func (m *Memory) readView(p Page) *[x86.PageSize]byte {
	switch {
	case p.Type() == TypeMMIO:
		return nil
	case p.Frame() == 0:
		return m.zeroBytes
	}
	return m.host.frameBytes(p.Frame())
}

// PageBytes is a read-only view of the 4 KiB backing the page holding gpa:
// its frame, or the zero page for a page in state Zero. It is nil for
// MMIO, reserved and ballooned pages and outside every range. It is not
// a guest access: no TLB is consulted and nothing is counted.
// Precondition: the caller does not write through the slice, and drops
// it when the page's backing changes (see SetObserver).
func (m *Memory) PageBytes(gpa x86.GPA) []byte {
	p, _, ok := m.Lookup(gpa)
	if !ok || !p.Type().Backed() || p.State() == StateBallooned {
		return nil
	}
	return m.readView(*p)[:]
}

// LoadROM stores data at gpa in ROM or ROM-shadow pages, giving each page
// a private frame: it is how firmware gets into a ROM that guest writes
// cannot change. Every byte must lie in such a page; otherwise nothing
// is written.
func (m *Memory) LoadROM(gpa x86.GPA, data []byte) error {
	if len(data) == 0 {
		return nil
	}
	r, ok := x86.MakeRange(gpa, uint64(len(data)))
	if !ok {
		return fmt.Errorf("phys: ROM image at %v of %d bytes wraps around", gpa, len(data))
	}
	for a := x86.PageDown(r.Start); a < r.End && a >= x86.PageDown(r.Start); a += x86.GPA(x86.PageSize) {
		p, _, ok := m.Lookup(a)
		if !ok || (p.Type() != TypeROM && p.Type() != TypeROMShadow) {
			return fmt.Errorf("phys: ROM image %v: page %v is not ROM", r, a)
		}
	}
	for len(data) > 0 {
		n := segment(gpa, len(data))
		p, _, _ := m.Lookup(gpa)
		b := m.makeWritable(p, x86.PageDown(gpa))
		if b == nil {
			return ErrHostFull
		}
		copy(b[x86.PageOffset(gpa):], data[:n])
		data = data[n:]
		gpa += x86.GPA(n)
	}
	return nil
}
