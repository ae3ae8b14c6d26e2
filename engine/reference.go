package engine

import (
	"fmt"

	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// Engine applies events and exposes the guest-visible state.
type Engine interface {
	// Apply performs one event. An error is a trace error (a #GP on a
	// control-register write, a physical access outside every range, a
	// malformed event): the state is unchanged and the replay must stop.
	Apply(ev Event) (Outcome, error)
	// ApplyTo is Apply writing the outcome over *o: the form for replay
	// loops, which keep one outcome instead of copying one per event.
	ApplyTo(ev *Event, o *Outcome) error
	Config() Config
	Regs() x86.Regs
	Format() *x86.Format
	Events() uint64
}

// Reference is the oracle CPU: it walks the guest tables on every access,
// has no TLB and keeps no shadow state, and sets accessed and dirty bits
// as hardware does. It is deliberately simple; correctness, not speed.
type Reference struct {
	guest
	walk x86.Walk
}

// NewReference builds a reference CPU in the power-on state (real mode).
func NewReference(cfg Config) (*Reference, error) {
	r := &Reference{}
	if err := r.init(cfg); err != nil {
		return nil, err
	}
	return r, nil
}

// Apply performs one event.
func (r *Reference) Apply(ev Event) (Outcome, error) {
	var o Outcome
	err := r.ApplyTo(&ev, &o)
	return o, err
}

// ApplyTo performs one event and writes its outcome over *o.
func (r *Reference) ApplyTo(ev *Event, o *Outcome) error {
	r.startOutcome(o, ev)
	if !ev.validAccess() {
		if err := ev.validate(); err != nil {
			return err
		}
	}
	r.counted()
	var err error
	switch k := ev.Kind; {
	case k == EvCR0 || k == EvCR3 || k == EvCR4 || k == EvEFER:
		_, err = r.writeReg(*ev, o)
	case k == EvCPL:
		r.setCPL(*ev)
	case k == EvAC:
		r.setAC(*ev)
	case k == EvPKRU:
		r.setPKRU(*ev)
	case k == EvInvpcid:
		// No TLB to invalidate: only the #GP checks and virtual handlers.
		var typ uint8
		var pcid uint16
		var va x86.GVA
		if typ, pcid, va, err = r.invpcidArgs(*ev); err == nil {
			r.invpcidVirt(typ, pcid, va)
		}
	case k == EvPhysWrite || k == EvPhysRead:
		err = r.physAccess(*ev, o)
	case k.Access():
		r.access(ev, o)
	case k == EvInvlpg:
		// No TLB to invalidate; virtual handlers follow the remap.
		r.virtInvlpg(r.format.Linear(x86.GVA(ev.Addr)))
	case k == EvLabel:
		o.Notes |= NoteLabel
	case k == EvReset:
		err = r.reset()
	case k == EvMappingsFix, k == EvMappingsUnfix:
		// No hypervisor in the reference CPU: nothing is mapped.
	case k == EvSave:
		err = r.saveSnapshot(ev.Text)
	case k == EvRestore:
		err = r.restore(ev.Text, func(st *State) error { return r.applyState(st, false) })
	default:
		var ok bool
		if ok, err = r.hyper(*ev, o); !ok {
			err = fmt.Errorf("event kind %v not handled", k)
		}
	}
	r.endOutcome(o)
	if err != nil {
		r.next--
	}
	return err
}

// access translates every page piece first; only when all succeed are
// accessed/dirty bits set and data moved, so that a faulting access
// leaves no trace (no data, no dirty bit).
func (r *Reference) access(ev *Event, o *Outcome) {
	acc := r.accessOf(ev.Kind)
	ps, n := r.splitAccess(ev)
	if !r.canonical(ps, n) {
		o.OK, o.Fault, o.Path = false, x86.NonCanonicalFault(), PathGP
		return
	}
	var walks [2]x86.Walk
	for i := 0; i < n; i++ {
		w := &walks[i]
		r.format.Walk(r.mem, r.regs.Root(), ps[i].va, acc, w)
		if !w.OK() {
			o.OK, o.Fault, o.Path = false, w.Fault, FaultPath(w.Fault)
			return
		}
		ps[i].gpa = w.GPA
		o.MemRefs += uint16(w.N)
	}
	o.Path = PathWalk
	if !r.format.Mode.Paging() {
		o.Path = PathIdentity
	}
	for i := 0; i < n; i++ {
		walks[i].SetAccessedDirty(r.mem, acc.Kind == x86.Write)
		r.virtHit(ps[i].gpa, acc)
	}
	r.transfer(ev, ps, n, o)
}

// reset is a machine reset: RAM back to zero pages, the CPU in real mode.
// Handlers (devices) stay registered.
func (r *Reference) reset() error {
	r.mem.Reset()
	r.regs.Reset(r.cfg.MaxPhys)
	if err := r.refreshFormat(); err != nil {
		return err
	}
	r.virtUpdate(true)
	return nil
}
