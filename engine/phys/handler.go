package phys

import (
	"fmt"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// AccessHandler sees the accesses that pages' handler states ask for:
// writes to pages whose physical handler state is write or all, reads of
// pages whose state is all. It is called once per page segment of an
// access, before the default access; returning true means the handler
// performed (or deliberately dropped) the access and the default must
// not happen. This is how the engine's physical access handlers and the
// write monitoring of guest page tables see writes from every source:
// emulated guest instructions, DMA and loaders (pw), saved-state loads.
//
// Precondition: a handler may read and write memory itself; its own
// accesses to the same page go through the handler again only if it
// uses Write rather than WriteNoHandler.
type AccessHandler interface {
	PhysRead(gpa x86.GPA, dst []byte) bool
	PhysWrite(gpa x86.GPA, src []byte) bool
}

// SetAccessHandler installs the handler dispatcher (nil: none).
func (m *Memory) SetAccessHandler(h AccessHandler) { m.handler = h }

// SetHandlerState sets the physical and virtual handler states of the
// page holding gpa, keeping the page TLB coherent. Use it rather than
// Page.SetPhysHandler on a live page.
func (m *Memory) SetHandlerState(gpa x86.GPA, physState, virtState HandlerState) error {
	p, _, ok := m.Lookup(gpa)
	if !ok {
		return fmt.Errorf("phys: no page at %v", gpa)
	}
	if physState > HandlerAll || virtState > HandlerAll {
		return fmt.Errorf("phys: handler state %d/%d out of range", physState, virtState)
	}
	p.SetPhysHandler(physState)
	p.SetVirtHandler(virtState)
	m.invalidate(gpa)
	return nil
}

// WriteNoHandler writes like WriteBytes but calls no access handler: the
// handler's own default write, or the engine writing on the guest's
// behalf after it has dealt with the consequences.
func (m *Memory) WriteNoHandler(gpa x86.GPA, src []byte) {
	old := m.bypass
	m.bypass = true
	m.WriteBytes(gpa, src)
	m.bypass = old
}

// ReadNoHandler reads like ReadBytes but calls no access handler.
func (m *Memory) ReadNoHandler(gpa x86.GPA, dst []byte) {
	old := m.bypass
	m.bypass = true
	m.ReadBytes(gpa, dst)
	m.bypass = old
}
