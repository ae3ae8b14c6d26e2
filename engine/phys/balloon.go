package phys

import (
	"fmt"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// Freeing points other than sharing: ballooning and reset.

// dropBacking releases whatever frame p holds.
func (m *Memory) dropBacking(p Page) {
	if f := p.Frame(); f != 0 {
		m.host.release(uint32(f))
	}
}

// Balloon inflates (the guest hands the page at gpa back to the host:
// its frame is freed, reads see zeros) or deflates (the page returns to
// the zero page). Reporting a page ballooned twice is an error, the
// seed's guard against unbalancing the host's accounting, as is
// deflating a page that is not ballooned. Only RAM can be ballooned;
// gpa must be page aligned.
func (m *Memory) Balloon(gpa x86.GPA, inflate bool) error {
	if !x86.IsPageAligned(gpa) {
		return fmt.Errorf("phys: balloon address %v is not page aligned", gpa)
	}
	p, _, ok := m.Lookup(gpa)
	switch {
	case !ok:
		return fmt.Errorf("phys: balloon page %v is in no range", gpa)
	case p.Type() != TypeRAM:
		return fmt.Errorf("phys: balloon page %v is %v, not RAM", gpa, p.Type())
	case inflate && p.State() == StateBallooned:
		return fmt.Errorf("phys: page %v is already ballooned", gpa)
	case !inflate && p.State() != StateBallooned:
		return fmt.Errorf("phys: page %v is %v, not ballooned", gpa, p.State())
	}
	if inflate {
		m.dropBacking(*p)
		m.transition(p, gpa, p.withBacking(StateBallooned, 0))
	} else {
		m.transition(p, gpa, p.withBacking(StateZero, 0))
	}
	return nil
}

// Reset returns guest memory to its power-on state: every RAM, MMIO2 and
// ROM-shadow page (ballooned ones included) goes back to the zero page
// and its frame is freed. ROM keeps its image; handler states and
// tracking are kept, since they belong to other parts of the engine,
// which hear of each change through the observer.
func (m *Memory) Reset() {
	for _, r := range m.ranges {
		if !r.Spec.Type.Writable() {
			continue
		}
		// Only the pages in use (see inuse.go): what is on the zero page
		// already is where reset puts it.
		r.EachInUse(func(i int) {
			p := &r.Pages[i]
			m.dropBacking(*p)
			m.transition(p, r.GPA(i), p.withBacking(StateZero, 0))
		})
	}
}
