package app

import (
	"math"
	"testing"
	"time"

	"github.com/pgm-explorer/pgm-explorer/internal/testkit"
	"github.com/pgm-explorer/pgm-explorer/traces/session"
)

// TestLiveSource: a window on a guest followed live plays its events as
// they arrive, waits (playing, not at an end) when it has applied all of
// them, and reaches the end only when the source ends.
func TestLiveSource(t *testing.T) {
	h, evs := testkit.Sample(t, "modes.txt")
	g := session.NewGrowing("live", h)
	half := len(evs) / 2
	g.Append(evs[:half]...)
	a, err := New(Options{State: State{Source: Source{Events: &EventList{Name: "live", Title: "a live guest", Header: h, Live: g}}},
		Play: true, Speed: math.Inf(1)})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Settle(); err != nil {
		t.Fatal(err)
	}
	tick := func() {
		for i := 0; i < 5; i++ {
			a.Update(Input{})
			time.Sleep(time.Millisecond)
		}
	}
	tick()
	if st := a.Status(); st.Event != uint64(half) || !st.Playing || st.Ended || st.Total != 0 {
		t.Fatalf("after the first half arrived: %+v", st)
	}
	if got := a.statusWord(); got != "following: waiting for the guest's next stop" {
		t.Errorf("the bar says %q", got)
	}
	if a.Busy() {
		t.Error("waiting for a live guest counts as busy: a screenshot would never be taken")
	}
	// Another configuration reopens the guest from its first event and
	// comes back to the same moment.
	if err := a.Reconfigure(Overrides{Pool: 64}); err != nil {
		t.Fatal(err)
	}
	tick()
	if st := a.Status(); st.Event != uint64(half) || st.Pool != 64 || !st.Playing {
		t.Fatalf("after reconfiguring: %+v", st)
	}
	g.Append(evs[half:]...)
	tick()
	if st := a.Status(); st.Event != uint64(len(evs)) || !st.Playing || st.Ended {
		t.Fatalf("after the rest arrived: %+v", st)
	}
	g.End(nil)
	tick()
	if st := a.Status(); !st.Ended || st.Playing || st.Total != uint64(len(evs)) {
		t.Fatalf("after the end: %+v", st)
	}
	// Going back replays what arrived.
	a.Seek(3)
	if err := a.Settle(); err != nil {
		t.Fatal(err)
	}
	if a.p.pos() != 3 {
		t.Errorf("at %d after seeking to 3", a.p.pos())
	}
}
