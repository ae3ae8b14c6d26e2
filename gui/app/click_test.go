package app

import (
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/viz"
)

// outcomeRows finds the event log's rows in the frame: where to click
// each, by event index.
func outcomeRows(a *App) map[uint64][2]int {
	a.dirty = true
	l, _ := a.Frame()
	rows := map[uint64][2]int{}
	for _, r := range l.Regions {
		if r.ID.Kind == viz.HitOutcome {
			rows[r.ID.Event] = [2]int{r.R.X + r.R.W/2, r.R.Y + r.R.H/2}
		}
	}
	return rows
}

func click(a *App, x, y int) {
	a.Update(Input{MouseX: x, MouseY: y, MouseIn: true, Pressed: true, Down: true})
	a.Update(Input{MouseX: x, MouseY: y, MouseIn: true, Released: true})
}

// TestClickEventRows: a row of the event log that names a virtual
// address (an access, invlpg) selects it; a cr3, cpl or label row has
// none and leaves the selection alone.
func TestClickEventRows(t *testing.T) {
	// The tour off: its steps choose addresses of their own.
	tourOff := false
	a, err := New(Options{State: State{Source: Source{Sample: "modes-tour.txt"}}, Tour: &tourOff})
	if err != nil {
		t.Fatal(err)
	}
	a.Settle()
	a.Resize(1920, 1080)
	var access, other int
	for pos := uint64(4); pos <= a.p.total; pos += 4 {
		a.Seek(pos)
		a.Settle()
		testRows(t, a, &access, &other)
	}
	if access == 0 || other == 0 {
		t.Fatalf("rows: %d accesses, %d others", access, other)
	}
}

func testRows(t *testing.T, a *App, access, other *int) {
	for ev, at := range outcomeRows(a) {
		o := a.recentOutcome(ev)
		if o == nil {
			t.Fatalf("row of event %d not in Recent", ev)
		}
		a.Unselect()
		click(a, at[0], at[1])
		st := a.Status()
		if hasVA(o.Event.Kind) {
			*access++
			if !st.Selected || a.va != xva(o.Event.Addr) {
				t.Errorf("clicking the %s row of event %d: selected %v %s", o.Event.Op(), ev, st.Selected, st.VA)
			}
		} else {
			*other++
			if st.Selected {
				t.Errorf("clicking the %s row of event %d selected %s", o.Event.Op(), ev, st.VA)
			}
		}
	}
}

// TestWalkSaysAddressCut: an address wider than the mode translates is
// not shown as another one without a word.
func TestWalkSaysAddressCut(t *testing.T) {
	st := State{Source: Source{Sample: "boot.txt"}, View: viz.ViewWalk, VA: 0xffffc90000000508, HasVA: true}
	var err error
	if st.Paging, err = engine.ParsePaging("nested"); err != nil {
		t.Fatal(err)
	}
	st.PagingSet = true
	a := newTest(t, st)
	if !hasText(a, "0xffffc90000000508 cut to the 32 bits") {
		t.Errorf("at event 0 the walk of 0xffffc90000000508 does not say it is cut: %q", texts(a))
	}
	a.Seek(1122)
	a.Settle()
	if hasText(a, "cut to the 32 bits") || !hasText(a, "0xffffc90000000508") {
		t.Errorf("in long mode the walk names another address")
	}
}

// fileHost records the file pickers asked for.
type fileHost struct {
	NopHost
	picks int
}

func (h *fileHost) PickFile() bool { h.picks++; return true }

// buttonAt is where to click the control bar's button labelled s.
func buttonAt(t *testing.T, a *App, s string) (int, int) {
	t.Helper()
	a.dirty = true
	l, _ := a.Frame()
	for i := range l.Prims {
		p := &l.Prims[i]
		if p.Op == viz.OpText && string(l.TextOf(p)) == s && l.Panels[p.Panel].Name == "controls" {
			return int(p.X) + 2, int(p.Y) + 2
		}
	}
	t.Fatalf("no button %q", s)
	return 0, 0
}

// TestQueuedClicks: presses the platform queued reach the app whatever
// the button's state at the tick (a click shorter than a tick), in
// order; and the bar's "open a trace…" asks the platform for a file.
func TestQueuedClicks(t *testing.T) {
	h := &fileHost{}
	a, err := New(Options{State: State{Source: Source{Sample: "boot.txt"}}, Host: h})
	if err != nil {
		t.Fatal(err)
	}
	a.Settle()
	x, y := buttonAt(t, a, "►")
	a.Update(Input{Clicks: []Point{{x, y}, {x, y}}})
	run(a)
	if got := a.p.pos(); got != 2 {
		t.Errorf("two queued clicks on ►: at event %d, want 2", got)
	}
	x, y = buttonAt(t, a, "open a trace…")
	a.Update(Input{Clicks: []Point{{x, y}}})
	if h.picks != 1 {
		t.Errorf("open a trace…: %d pickers", h.picks)
	}
}

// TestKeyboardFocus: Tab moves a visible ring over what the mouse can
// click, and Enter does what the click does: here the ► button, then a
// row of Recent events.
func TestKeyboardFocus(t *testing.T) {
	a := newTest(t, State{Source: Source{Sample: "boot.txt"}, Event: 700})
	x, y := buttonAt(t, a, "►")
	found := false
	for i := 0; i < 200 && !found; i++ {
		a.Update(Input{Keys: []Key{KeyTab}})
		a.dirty = true
		l, _ := a.Frame()
		ringed := false
		for _, p := range l.Panels {
			ringed = ringed || p.Name == "focus"
		}
		if !ringed {
			t.Fatal("Tab drew no focus ring")
		}
		found = a.focusR.Contains(x, y)
	}
	if !found {
		t.Fatal("Tab never reached ►")
	}
	a.Update(Input{Keys: []Key{KeyEnter}})
	run(a)
	if a.p.pos() != 701 {
		t.Errorf("Enter on ►: at %d", a.p.pos())
	}
	// Shift+Tab back to an access row of Recent events, Enter selects its address.
	for i := 0; i < 200; i++ {
		a.Update(Input{Keys: []Key{KeyTab}, Shift: true})
		a.dirty = true
		a.Frame()
		id, ok := a.list.HitTest(a.mx, a.my)
		if !ok || id.Kind != viz.HitOutcome {
			continue
		}
		if o := a.recentOutcome(id.Event); o != nil && hasVA(o.Event.Kind) {
			a.Update(Input{Keys: []Key{KeyEnter}})
			if !a.hasVA || a.va != xva(o.Event.Addr) {
				t.Errorf("Enter on the row of event %d: selected %v %#x", id.Event, a.hasVA, uint64(a.va))
			}
			return
		}
	}
	t.Error("Shift+Tab never reached an access row")
}
