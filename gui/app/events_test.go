package app

import (
	"strings"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/internal/testkit"
	"github.com/pgm-explorer/pgm-explorer/viz"
)

// sampleList decodes a sample trace into an EventList, as the desktop
// window's live x86 guests hand theirs over.
func sampleList(t *testing.T, name string) *EventList {
	t.Helper()
	h, evs := testkit.Sample(t, name)
	return &EventList{Name: "mp", Title: name + ", held in memory", Header: h, Events: evs}
}

// TestEventList opens a list of events in memory and drives it like any
// source: it must replay exactly as the trace it was decoded from.
func TestEventList(t *testing.T) {
	list := sampleList(t, "multiprocess.txt")
	src := Source{Events: list}
	a, err := New(Options{State: State{Source: src, Event: 500, View: viz.ViewWalk}})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Settle(); err != nil {
		t.Fatal(err)
	}
	ref := newTest(t, State{Source: Source{Sample: "multiprocess.txt"}, Event: 500, View: viz.ViewWalk})

	st := a.Status()
	if st.Source != list.Title || st.Event != 500 || st.Total != uint64(len(list.Events)) || st.View != "walk" || st.Error != "" {
		t.Fatalf("opened at %+v, want %q at event 500 of %d, walk view", st, list.Title, len(list.Events))
	}
	same := func(what string) {
		t.Helper()
		for a.Busy() || ref.Busy() {
			a.Update(Input{})
			ref.Update(Input{})
		}
		if a.p.pos() != ref.p.pos() || a.p.last != ref.p.last || a.Status().Walk != ref.Status().Walk {
			t.Fatalf("%s: the list is at %d (%+v), the trace at %d (%+v)", what, a.p.pos(), a.p.last, ref.p.pos(), ref.p.last)
		}
	}
	same("opening")
	for _, c := range []struct {
		what string
		do   func(*App)
	}{
		{"a step back", func(x *App) { x.Step(-1) }},
		{"three steps", func(x *App) { x.Step(3) }},
		{"the next fault", func(x *App) { x.StepUntil(UntilFault) }},
		{"the next label", func(x *App) { x.StepUntil(UntilLabel) }},
		{"a seek back", func(x *App) { x.Seek(42) }},
		{"the end", func(x *App) { x.Seek(1 << 40) }},
	} {
		c.do(a)
		c.do(ref)
		same(c.what)
	}
	if st := a.Status(); st.Event != uint64(len(list.Events)) {
		t.Errorf("at the end: %+v", st)
	}

	// Another configuration replays the same list.
	if err := a.Reconfigure(Overrides{Paging: engine.PagingNested, PagingSet: true}); err != nil {
		t.Fatal(err)
	}
	if err := a.Settle(); err != nil {
		t.Fatal(err)
	}
	if st := a.Status(); st.Source != list.Title || st.Paging != "nested" || st.Event != uint64(len(list.Events)) || st.Error != "" {
		t.Errorf("reconfigured: %+v", st)
	}

	// A link names the list but cannot bring it back: decoding says so.
	loc := a.State().Encode()
	if !strings.HasPrefix(loc, "events=mp&") {
		t.Errorf("link %q does not name the list", loc)
	}
	if _, err := DecodeState(loc); err == nil || !strings.Contains(err.Error(), "cannot be reopened") {
		t.Errorf("decoding %q: %v", loc, err)
	}
	if b := a.exportBase(); !strings.HasPrefix(b, "mp-") {
		t.Errorf("exports are named %q", b)
	}

	// A list and a sample at once is no source.
	if err := (Source{Events: list, Sample: "boot.txt"}).Validate(); err == nil {
		t.Error("a list and a sample validated")
	}

	// Options other than the state still apply.
	a, err = New(Options{State: State{Source: src}, Play: true, Speed: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if st := a.Status(); !st.Playing || st.Speed != speedName(1000) || st.Source != list.Title {
		t.Errorf("opened playing at 1000 events/s: %+v", st)
	}
}
