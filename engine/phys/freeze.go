package phys

import (
	"fmt"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// Freezing: keeping a page's bytes as they are now without copying them.
// A snapshot of a machine with many pages written would otherwise cost a
// copy of each page, so that the snapshot and the live machine together
// hold twice the guest's memory. A frozen frame stays shared between the
// live machine and whoever froze it until the live machine is about to
// write it; only then are its bytes copied, and the copy goes to the
// Frozen value, so that the live frame keeps its bytes where every cache
// (the page TLB here, the engine's TLB) already points.
//
// Every path that writes a frame's bytes in place therefore thaws the
// frame first: Write's fast path and writeSegment through a writable page
// TLB entry, makeWritable for a frame the page already owns (so every
// slow-path write, WriteNoHandler, accessed and dirty bit updates and
// LoadROM), and, outside this package, whoever writes through bytes it
// got from Host.Bytes (the engine's TLB hits), which must call
// BeforeWrite. Sharing, ballooning and reset never write bytes in place:
// a shared frame is copied on write anyway, and a frame freed keeps no
// Frozen (its value keeps the bytes).

// Frozen is a page's bytes as they were when frozen; they never change.
// The zero value holds no bytes.
type Frozen struct {
	b  *[x86.PageSize]byte
	id uint32 // the frame still sharing b, 0 when b is a copy of its own
}

// Bytes is the frozen content (4 KiB). The caller must not write it.
func (f *Frozen) Bytes() []byte {
	if f == nil || f.b == nil {
		return nil
	}
	return f.b[:]
}

// Freeze returns the bytes of the page holding gpa as they are now, kept
// without a copy: a later write to the page copies them first. Freezing a
// page whose frame was not written since it was last frozen returns the
// same value, so callers can tell unchanged pages by pointer. It fails for
// pages without a frame of their own or a shared one (zero, ballooned,
// MMIO and reserved pages, addresses in no range). Freezing changes no
// page, counter or cached translation.
func (m *Memory) Freeze(gpa x86.GPA) (*Frozen, error) {
	p, _, ok := m.Lookup(gpa)
	if !ok || !p.Type().Backed() || p.Frame() == 0 {
		return nil, fmt.Errorf("phys: page %v has no frame to freeze", x86.PageDown(gpa))
	}
	h := m.host
	c, i := h.slot(p.Frame())
	if c.frozen[i] == nil {
		c.frozen[i] = &Frozen{b: c.bytes[i], id: uint32(p.Frame())}
		h.frozen++
	}
	return c.frozen[i], nil
}

// BeforeWrite must be called before writing, in place, the bytes of the
// frame holding hpa that Host.Bytes returned: a frozen frame is copied
// first (see Freeze). It costs a comparison while nothing is frozen.
func (m *Memory) BeforeWrite(hpa x86.HPA) {
	if m.host.frozen != 0 {
		m.host.thaw(x86.PageNumber(hpa))
	}
}

// Frozen reports how many frames are frozen now (shared with a Frozen
// value that has not had to copy them yet).
func (m *Memory) Frozen() int { return m.host.frozen }

// thaw gives the Frozen value of frame id, if any, its own copy of the
// bytes, so that the frame may be written in place.
func (h *Host) thaw(id uint64) {
	c, i := h.slot(id)
	if c == nil || c.frozen[i] == nil {
		return
	}
	cp := new([x86.PageSize]byte)
	*cp = *c.bytes[i]
	c.frozen[i].b, c.frozen[i].id = cp, 0
	c.frozen[i] = nil
	h.frozen--
}

// Unfreeze says that nobody keeps f any more: its frame need not be
// copied at its next write, and its bytes may go. f holds no bytes after.
func (m *Memory) Unfreeze(f *Frozen) {
	if f == nil {
		return
	}
	if f.id != 0 {
		if c, i := m.host.slot(uint64(f.id)); c != nil && c.frozen[i] == f {
			c.frozen[i] = nil
			m.host.frozen--
		}
	}
	f.b, f.id = nil, 0
}

// writableBytes is the bytes of frame id, thawed: the one way this
// package gets a frame's bytes to write them in place.
func (h *Host) writableBytes(id uint64) *[x86.PageSize]byte {
	if h.frozen != 0 {
		h.thaw(id)
	}
	return h.frameBytes(id)
}
