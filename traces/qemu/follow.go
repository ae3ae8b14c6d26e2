package qemu

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
	"github.com/pgm-explorer/pgm-explorer/traces"
)

// Target is a running guest the explorer can stop and read: a gdbstub
// (package gdb), or a fake in tests.
type Target interface {
	PhysReader
	// Regs reads the stopped vCPU's paging registers (with EFER).
	Regs() (Regs, error)
	// Continue resumes the guest.
	Continue() error
	// WaitStop waits up to d for the guest to stop by itself (a
	// breakpoint); false when it is still running.
	WaitStop(d time.Duration) (bool, error)
	// Interrupt stops the guest, or fails when it does not stop in d.
	Interrupt(d time.Duration) error
}

// FollowOptions say how a guest is followed.
type FollowOptions struct {
	Options
	// Period: how long the guest runs between two stops (unless a
	// breakpoint stops it first).
	Period time.Duration
	// StopTimeout bounds the wait for the guest to stop after an
	// interrupt (0: 5 s).
	StopTimeout time.Duration
	// Ranges are the guest's RAM; nil: one range from 0 up to the
	// highest page the trace writes, rounded up to 16 MiB (a gdbstub
	// does not say where RAM is).
	Ranges []phys.RangeSpec
}

// Follower turns a guest that runs into a growing trace: a snapshot
// when it starts, then at each stop the control-register changes
// (CR3 switches above all) and every page-table entry that changed
// since it was last written, as physical writes.
type Follower struct {
	t      Target
	o      FollowOptions
	regs   Regs
	header traces.Header
	events []engine.Event
	known  map[uint64][]byte // table pages as the trace last wrote them
	top    uint64            // highest address written, +1
	Stops  int               // stops recorded after the first snapshot
	// Switches counts the stops whose CR3 differed from the previous one.
	Switches int
	// Changed counts the entries written at stops after the first.
	Changed int
}

// Follow takes the first snapshot of a stopped target.
func Follow(t Target, o FollowOptions) (*Follower, error) {
	r, err := t.Regs()
	if err != nil {
		return nil, err
	}
	ranges := o.Ranges
	if ranges == nil {
		ranges = []phys.RangeSpec{{Type: phys.TypeRAM, Size: 1 << 40, Name: "ram"}} // refined when saved
	}
	o.NoData = true // reading memory that is not a table could reach a device
	s, err := Build(t, ranges, r, o.Options)
	if err != nil {
		return nil, err
	}
	f := &Follower{t: t, o: o, regs: s.Regs, header: s.Header, events: s.Events, known: map[uint64][]byte{}}
	f.header.Meta["source"] = "qemu-gdbstub"
	for _, tb := range s.Tables.Pages {
		f.remember(tb.GPA, tb.Raw)
	}
	for _, e := range s.Events {
		f.note(e)
	}
	return f, nil
}

func (f *Follower) remember(gpa uint64, raw []byte) {
	f.known[gpa] = append([]byte(nil), raw...)
}

// note tracks the highest physical address the trace writes.
func (f *Follower) note(e engine.Event) {
	if e.Kind == engine.EvPhysWrite {
		f.top = max(f.top, e.Addr+uint64(e.Size))
	}
}

// Trace is the trace so far: the header (with the RAM range refined to
// cover every write) and the events. The slices are the follower's own.
func (f *Follower) Trace() (traces.Header, []engine.Event) {
	h := f.header
	if f.o.Ranges == nil {
		top := max((f.top+16<<20-1)&^(16<<20-1), 16<<20)
		h.Config.Ranges = []phys.RangeSpec{{Type: phys.TypeRAM, Size: top, Name: "ram"}}
	}
	return h, f.events
}

// Step lets the guest run for the period (or to a breakpoint), stops it,
// and records what changed. why says how it stopped.
func (f *Follower) Step() (why string, err error) {
	if err := f.t.Continue(); err != nil {
		return "", err
	}
	stopped, err := f.t.WaitStop(f.o.Period)
	if err != nil {
		return "", err
	}
	why = "breakpoint"
	if !stopped {
		why = "interrupted"
		d := f.o.StopTimeout
		if d == 0 {
			d = 5 * time.Second
		}
		if err := f.t.Interrupt(d); err != nil {
			return "", err
		}
	}
	return why, f.record(why)
}

// record reads the stopped guest and appends its changes.
func (f *Follower) record(why string) error {
	r, err := f.t.Regs()
	if err != nil {
		return err
	}
	f.Stops++
	var ev []engine.Event
	add := func(e engine.Event) { ev = append(ev, e) }
	old := f.regs
	switched := r.CR3 != old.CR3
	if switched {
		f.Switches++
	}
	for _, c := range []struct {
		kind     engine.EventKind
		old, new uint64
	}{{engine.EvCR4, old.CR4, r.CR4}, {engine.EvEFER, old.EFER &^ eferLMA, r.EFER &^ eferLMA}, {engine.EvCR3, old.CR3, r.CR3}, {engine.EvCR0, old.CR0, r.CR0}} {
		if c.old != c.new {
			add(engine.Event{Kind: c.kind, Value: c.new})
		}
	}
	mode := x86.GuestMode(r.CR0, r.CR4, r.EFER)
	changed := 0
	if mode.Paging() {
		t, err := ReadTables(f.t, mode, r.CR3, r.CR4, f.header.Config.MaxPhys)
		if err != nil {
			return err
		}
		var writes []engine.Event
		for _, tb := range t.Pages {
			prev := f.known[tb.GPA]
			for i := 0; i < tb.Len(); i++ {
				e := uint64(tb.Entry(i))
				was := uint64(0)
				if prev != nil {
					was = entryAt(prev, i, tb.size)
				}
				if e != was {
					writes = append(writes, engine.Event{Kind: engine.EvPhysWrite, Size: tb.size, Addr: tb.GPA + uint64(i)*uint64(tb.size), Value: e})
				}
			}
			f.remember(tb.GPA, tb.Raw)
		}
		changed = len(writes)
		ev = append(writes, ev...)
		if changed > 0 {
			// The guest flushed what it changed before using it; the trace
			// cannot tell which addresses, so it flushes everything: CR4.PGE
			// off and on drops global entries too, as Linux's flush_tlb_all.
			if r.CR4&x86.CR4PGE != 0 {
				add(engine.Event{Kind: engine.EvCR4, Value: r.CR4 &^ x86.CR4PGE})
				add(engine.Event{Kind: engine.EvCR4, Value: r.CR4})
			} else {
				add(engine.Event{Kind: engine.EvCR3, Value: r.CR3})
			}
		}
	}
	f.Changed += changed
	what := ""
	if switched {
		what = fmt.Sprintf(", CR3 switch to %#x", r.CR3)
	}
	label := fmt.Sprintf("stop %d (%s) at RIP %#x CPL %d%s, %d entries changed", f.Stops, why, r.RIP, r.CPL, what, changed)
	f.events = append(f.events, engine.Event{Kind: engine.EvLabel, Text: label})
	f.events = append(f.events, ev...)
	if r.AC != old.AC {
		ac := uint64(0)
		if r.AC {
			ac = 1
		}
		f.events = append(f.events, engine.Event{Kind: engine.EvAC, Value: ac})
	}
	if r.CPL != old.CPL {
		f.events = append(f.events, engine.Event{Kind: engine.EvCPL, Value: uint64(r.CPL)})
	}
	f.events = append(f.events, engine.Event{Kind: engine.EvExec, Addr: r.RIP})
	for _, e := range ev {
		f.note(e)
	}
	f.regs = r
	return nil
}

func entryAt(raw []byte, i int, size uint8) uint64 {
	if size == 4 {
		return uint64(binary.LittleEndian.Uint32(raw[i*4:]))
	}
	return binary.LittleEndian.Uint64(raw[i*8:])
}
