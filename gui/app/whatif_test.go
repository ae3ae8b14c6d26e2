package app

import (
	"bytes"
	"strings"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
	"github.com/pgm-explorer/pgm-explorer/internal/testkit"
	"github.com/pgm-explorer/pgm-explorer/traces/samples"
)

// saveHost keeps what the app saves.
type saveHost struct {
	NopHost
	name string
	data []byte
}

func (h *saveHost) Save(name string, data []byte) (string, error) {
	h.name, h.data = name, data
	return name, nil
}

// TestWhatIf: an edit of the walk's entry branches the replay: the walk
// and the next accesses change in the branch, the original trace is as
// it was (its bytes, and its walk when we go back), and the branch saves
// as a trace with the one physical write more.
func TestWhatIf(t *testing.T) {
	orig, err := samples.Read("modes-tour.txt")
	if err != nil {
		t.Fatal(err)
	}
	orig = bytes.Clone(orig)
	h := &saveHost{}
	tourOff := false
	a, err := New(Options{State: State{Source: Source{Sample: "modes-tour.txt"}, VA: 0x400010, HasVA: true}, Host: h, Tour: &tourOff})
	if err != nil {
		t.Fatal(err)
	}
	a.Settle()
	// Just after paging is on: 0x400010 reaches 0x200010.
	if err := a.GoTo("CR0.PG is set"); err != nil {
		t.Fatal(err)
	}
	a.Settle()
	at := a.p.pos()
	walk := func() x86.Walk { return a.p.eng.GuestWalk(0x400010, x86.Access{Kind: x86.Read}) }
	if w := walk(); !w.OK() || w.GPA != 0x200010 {
		l, _ := a.p.currentLabel()
		t.Fatalf("before, at %d after %q: %+v", a.p.pos(), l.Text, w)
	}
	total := a.p.total

	// By the keys: w, the edit, Enter.
	a.Update(Input{Chars: []rune("w")})
	if a.prompt == nil || a.prompt.kind != promptWhatIf || !strings.Contains(a.prompt.title, "PT entry") {
		t.Fatalf("w opened %+v", a.prompt)
	}
	a.prompt.text = ""
	a.Update(Input{Chars: []rune("frame 0x203000\r")})
	a.Settle()
	if a.prompt != nil {
		t.Fatalf("the edit was refused: %s", a.prompt.err)
	}
	if a.p.src.Events == nil || a.p.total != total+1 || a.p.pos() != at+1 {
		t.Fatalf("branch: %v events, at %d (was %d of %d)", a.p.total, a.p.pos(), at, total)
	}
	if w := walk(); !w.OK() || w.GPA != 0x203010 {
		t.Errorf("in the branch the walk of 0x400010 gives %+v, want 0x203010", w)
	}
	// The next access of the guest (a write to 0x400010) lands on the new page.
	for a.p.pos() < at+4 {
		a.Step(1)
		run(a)
		if o := a.p.last; o.Event.Kind.Access() && o.Event.Addr == 0x400010 {
			if o.GPA != 0x203010 {
				t.Errorf("the branch's access of 0x400010 reached %#x", uint64(o.GPA))
			}
			break
		}
	}
	// Saved, the branch is a trace with one physical write more.
	a.Update(Input{Chars: []rune("k")})
	if !strings.HasSuffix(h.name, "-whatif.txt") {
		t.Fatalf("saved %q", h.name)
	}
	_, evs := testkit.ReadBytes(t, h.name, h.data)
	n := uint64(len(evs))
	var inserted engine.Event
	if at < n {
		inserted = evs[at]
	}
	if n != total+1 || inserted.Kind != engine.EvPhysWrite || inserted.Value&0xfffff000 != 0x203000 {
		t.Errorf("saved branch: %d events (want %d), event %d is %+v", n, total+1, at, inserted)
	}
	// Back to the original: its walk, its trace untouched.
	a.Update(Input{Chars: []rune("W")})
	a.Settle()
	if a.p.src.Sample != "modes-tour.txt" || a.whatFrom != nil {
		t.Fatalf("W: source %+v", a.p.src)
	}
	a.Seek(at)
	a.Settle()
	if w := walk(); !w.OK() || w.GPA != 0x200010 {
		t.Errorf("the original after the branch: %+v", w)
	}
	if now, _ := samples.Read("modes-tour.txt"); !bytes.Equal(now, orig) {
		t.Error("the original trace changed")
	}
	// Flipping P makes the same walk fault.
	if err := a.WhatIf("flip P"); err != nil {
		t.Fatal(err)
	}
	a.Settle()
	if w := walk(); w.OK() || w.Fault.Kind != x86.NotPresent {
		t.Errorf("with P flipped: %+v", w)
	}
	for _, bad := range []string{"flip Q", "frame 0x1234", "jump"} {
		if err := a.WhatIf(bad); err == nil {
			t.Errorf("WhatIf(%q) accepted it", bad)
		}
	}
}
