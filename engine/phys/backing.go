package phys

import (
	"fmt"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// makeWritable gives the page at gpa a private frame it may write in
// place, and returns that frame's bytes (nil when the host is out of
// frames). This is the seed's allocation point:
//
//   - Zero: a fresh zero-filled frame (ReplacedZero);
//   - Shared: copy on write into a fresh frame, one reference less on the
//     shared frame (ReplacedShared);
//   - Ballooned: a fresh frame; the page leaves the balloon (BalloonWrites);
//   - WriteMonitored: the same frame, written-to set, back to Allocated.
//
// Precondition: p is the descriptor of the page at gpa and has bytes
// (RAM-like or ROM; LoadROM uses it for ROM).
func (m *Memory) makeWritable(p *Page, gpa x86.GPA) *[x86.PageSize]byte {
	old := *p
	switch old.State() {
	case StateAllocated:
		return m.host.writableBytes(old.Frame())
	case StateWriteMonitored:
		m.transition(p, gpa, old.withBacking(StateAllocated, old.Frame())|writtenBit)
		return m.host.writableBytes(old.Frame())
	}
	id, err := m.host.alloc(ownerGuest)
	if err != nil {
		m.st.AllocFailures++
		return nil
	}
	b := m.host.frameBytes(uint64(id))
	switch old.State() {
	case StateShared:
		*b = *m.host.frameBytes(old.Frame())
		m.host.release(uint32(old.Frame()))
		m.st.ReplacedShared++
	case StateBallooned:
		m.st.BalloonWrites++
	default:
		m.st.ReplacedZero++
	}
	m.transition(p, gpa, old.withBacking(StateAllocated, uint64(id)))
	return b
}

// MakeWritable gives the page holding gpa a private frame now, as the
// #PF handler does before it maps a zero or shared page writable. The
// page must be RAM, MMIO2 or ROM shadow.
func (m *Memory) MakeWritable(gpa x86.GPA) error {
	p, _, ok := m.Lookup(gpa)
	switch {
	case !ok:
		return fmt.Errorf("phys: %v is in no range", gpa)
	case !p.Type().Writable():
		return fmt.Errorf("phys: %v is %v, not writable memory", gpa, p.Type())
	}
	if m.makeWritable(p, x86.PageDown(gpa)) == nil {
		return ErrHostFull
	}
	return nil
}

// MonitorWrites puts an allocated page under write monitoring: it keeps
// its frame, must no longer be mapped writable, and the next write sets
// written-to and makes it Allocated again. Sharing skips such pages
// (the seed's way to leave soon-to-change pages alone).
func (m *Memory) MonitorWrites(gpa x86.GPA) error {
	p, _, ok := m.Lookup(gpa)
	switch {
	case !ok:
		return fmt.Errorf("phys: %v is in no range", gpa)
	case !p.Type().Writable():
		return fmt.Errorf("phys: %v is %v, not writable memory", gpa, p.Type())
	case p.State() != StateAllocated:
		return fmt.Errorf("phys: page %v is %v, only allocated pages can be write-monitored", x86.PageDown(gpa), p.State())
	}
	m.transition(p, x86.PageDown(gpa), p.withBacking(StateWriteMonitored, p.Frame()))
	return nil
}
