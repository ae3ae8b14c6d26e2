package analysis

import (
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

func TestTableCapAndOrder(t *testing.T) {
	tb := NewTable(2)
	add := func(key uint64, ok bool) {
		o := engine.Outcome{Event: engine.Event{Kind: engine.EvRead, Size: 1}, OK: ok, Path: engine.PathSyncPage}
		if !ok {
			o.Fault = x86.Fault{Kind: x86.NotPresent}
			o.Path = engine.PathGuestFault
		}
		tb.at(key).addOutcome(&o)
	}
	add(5, true)
	add(7, false)
	add(7, false)
	add(9, true) // past the cap
	add(5, true)
	add(5, true)
	rows := tb.Top(0, "events")
	if len(rows) != 2 || rows[0].Key != 5 || rows[0].Events != 3 || rows[1].Key != 7 || rows[1].Events != 2 {
		t.Fatalf("by events: %+v", rows)
	}
	if rows := tb.Top(1, "faults"); len(rows) != 1 || rows[0].Key != 7 || rows[0].Faults != 2 {
		t.Fatalf("by faults: %+v", rows)
	}
	if rows := tb.Top(0, "work"); rows[0].Key != 5 || rows[0].Work() != 3 {
		t.Fatalf("by work: %+v", rows)
	}
	if tb.Other.Events != 1 || tb.Len() != 2 {
		t.Errorf("other %d events, %d keys; want 1 and 2", tb.Other.Events, tb.Len())
	}
}

func TestCountsErrs(t *testing.T) {
	var c Counts
	for _, f := range []x86.Fault{{Kind: x86.Protection, Code: 3}, {Kind: x86.NonCanonical}, {Kind: x86.Protection, Code: 3}, {Kind: x86.NotPresent}} {
		c.addOutcome(&engine.Outcome{Event: engine.Event{Kind: engine.EvWrite, Size: 1}, Fault: f})
	}
	got := c.SortedErrs()
	want := []ErrCount{{3, 2}, {0, 1}, {ErrGP, 1}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("got %v, want %v", got, want)
		}
	}
	if ErrName(ErrGP) != "gp" || ErrName(3) != "0x3" {
		t.Errorf("names %s %s", ErrName(ErrGP), ErrName(3))
	}
}

func TestGuestTableOfPTWrite(t *testing.T) {
	o := engine.Outcome{Event: engine.Event{Kind: engine.EvWrite, Size: 8, Addr: 0x7000}, OK: true, GPA: 0x303018, Path: engine.PathMonitorWrite}
	if k, ok := guestTableOf(&o, nil); !ok || k != 0x303000 {
		t.Errorf("pt-write at 0x303018: table %#x %v, want 0x303000", k, ok)
	}
	o.Path = engine.PathTLBHit
	if _, ok := guestTableOf(&o, nil); ok {
		t.Error("a TLB hit has a guest table")
	}
}
