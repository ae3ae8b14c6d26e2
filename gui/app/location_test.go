package app

import "testing"

func TestApplyLocation(t *testing.T) {
	a := newTest(t, State{Source: Source{Sample: "modes-tour.txt"}})
	p := a.p
	if err := a.ApplyLocation("#trace=modes-tour.txt&event=60&va=0x400010&view=walk"); err != nil {
		t.Fatal(err)
	}
	a.Settle()
	if st := a.Status(); st.Event != 60 || st.VA != "0x400010" || !st.Selected || st.View != "walk" {
		t.Errorf("same source: %+v", st)
	}
	if a.p != p {
		t.Errorf("a new position of the same source reopened it")
	}
	if err := a.ApplyLocation("trace=boot.txt&event=30&view=memory"); err != nil {
		t.Fatal(err)
	}
	a.Settle()
	if st := a.Status(); st.Source != "boot.txt" || st.Event != 30 || st.Selected || st.View != "memory" {
		t.Errorf("another source: %+v", st)
	}
	want := a.State().Encode()
	for _, bad := range []string{"#trace=boot.txt&event=zz", "#file=mine.pgmt&event=3", "#trace=nope.txt"} {
		if err := a.ApplyLocation(bad); err == nil {
			t.Errorf("%s: accepted", bad)
		}
		if got := a.State().Encode(); got != want {
			t.Errorf("%s changed the state to %s", bad, got)
		}
		a.err = ""
	}
	// An empty fragment is the page's default.
	if err := a.ApplyLocation(""); err != nil || a.Status().Source != DefaultSample {
		t.Errorf("empty fragment: %v, source %s", err, a.Status().Source)
	}
}
