package gdb

import (
	"testing"
	"time"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/traces/qemu"
)

// twoProcesses lays out two 4-level address spaces sharing a kernel
// half: process A (CR3 0x1000) maps 0x400000 -> 0x5000; process B (CR3
// 0x10000) maps 0x400000 -> 0x15000; both map 0xffff888000000000 as a
// 2 MiB page at 0x200000.
func twoProcesses(s *fakeStub) {
	const p, w, u, a, ps, nx = 1, 2, 4, 0x20, 0x80, 1 << 63
	m := s.mem
	put64(m, 0x1000, 0x2000|p|w|u|a)
	put64(m, 0x1000+273*8, 0x7000|p|w|a)
	put64(m, 0x2000, 0x3000|p|w|u|a)
	put64(m, 0x3000+2*8, 0x4000|p|w|u|a)
	put64(m, 0x4000, 0x5000|p|u|a)
	put64(m, 0x7000, 0x8000|p|w|a)
	put64(m, 0x8000, 0x200000|p|w|a|ps|nx)
	put64(m, 0x10000, 0x11000|p|w|u|a)
	put64(m, 0x10000+273*8, 0x7000|p|w|a)
	put64(m, 0x11000, 0x12000|p|w|u|a)
	put64(m, 0x12000+2*8, 0x13000|p|w|u|a)
	put64(m, 0x13000, 0x15000|p|u|a)
}

// TestFollowFake: the follower records a CR3 switch and the entries the
// guest changed between two stops, and the trace replays to the new
// translations on every engine.
func TestFollowFake(t *testing.T) {
	s := newFake()
	twoProcesses(s)
	resumes := 0
	s.onResume = func(s *fakeStub) {
		resumes++
		switch resumes {
		case 1: // A maps a second page
			put64(s.mem, 0x4008, 0x6000|1|2|4|0x20)
		case 2: // the scheduler switches to B
			s.regs["cr3"] = 0x10000
			s.regs["rip"] = 0x400010
		}
	}
	c, err := dialFake(t, s)
	if err != nil {
		t.Fatal(err)
	}
	f, err := qemu.Follow(c.Target(), qemu.FollowOptions{Period: 20 * time.Millisecond, Options: qemu.Options{Source: "fake"}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		why, err := f.Step()
		if err != nil || why != "interrupted" {
			t.Fatalf("stop %d: %q %v", i+1, why, err)
		}
	}
	if f.Stops != 2 || f.Switches != 1 || f.Changed < 5 {
		t.Errorf("stops %d, switches %d, entries changed %d", f.Stops, f.Switches, f.Changed)
	}
	h, events := f.Trace()
	eng, err := engine.NewReference(h.Config)
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	check := func(va, gpa uint64, when string) {
		t.Helper()
		o, err := eng.Apply(engine.Event{Kind: engine.EvRead, Size: 8, Addr: va})
		if err != nil || !o.OK || uint64(o.GPA) != gpa {
			t.Errorf("%s: %#x -> %+v %v, want %#x", when, va, o, err, gpa)
		}
	}
	for _, e := range events {
		if e.Kind == engine.EvLabel {
			labels = append(labels, e.Text)
			switch len(labels) {
			case 6: // stop 1 (the snapshot had 5 labels): process A, one page
				check(0x400000, 0x5000, "snapshot")
			case 7: // stop 2
				check(0x401000, 0x6000, "after A mapped a page")
			}
		}
		if _, err := eng.Apply(e); err != nil {
			t.Fatalf("%s: %v", e.Op(), err)
		}
	}
	check(0x400000, 0x15000, "after the switch to B")
	eng.Apply(engine.Event{Kind: engine.EvCPL, Value: 0})
	check(0xffff888000001000, 0x201000, "the shared kernel half")
	if len(labels) != 7 || labels[6] != "stop 2 (interrupted) at RIP 0x400010 CPL 3, CR3 switch to 0x10000, 5 entries changed" {
		t.Errorf("labels %q", labels)
	}
	if err := c.Detach(); err != nil {
		t.Error(err)
	}
}
