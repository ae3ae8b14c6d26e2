//go:build !js

package gdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/traces"
	"github.com/pgm-explorer/pgm-explorer/traces/qemu"
	"github.com/pgm-explorer/pgm-explorer/traces/session"
)

// saver keeps what Live saves, as a file would.
type saver struct {
	mu     sync.Mutex
	n      int
	events []engine.Event
}

func (s *saver) save(_ traces.Header, evs []engine.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	s.events = slices.Clone(evs)
	return nil
}

// stepUntil steps ss, waiting while the live source has nothing yet,
// until done says so; it fails after a few seconds.
func stepUntil(t *testing.T, ss *session.Session, done func(o *engine.Outcome) bool) error {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		o, err := ss.Step()
		if errors.Is(err, session.ErrNoEvents) {
			time.Sleep(2 * time.Millisecond)
			continue
		}
		if err != nil {
			return err
		}
		if done(&o) {
			return nil
		}
	}
	t.Fatalf("the live source did not deliver in time (%d events applied)", ss.Pos())
	return nil
}

// TestLiveFake: a session on a guest followed live applies each stop's
// events as they arrive (waiting, not ending, in between); Stop lets the
// guest run on, saves the trace and ends the session.
func TestLiveFake(t *testing.T) {
	s := newFake()
	twoProcesses(s)
	resumes := 0
	s.onResume = func(s *fakeStub) {
		resumes++
		switch resumes {
		case 1:
			put64(s.mem, 0x4008, 0x6000|1|2|4|0x20)
		case 2:
			s.regs["cr3"] = 0x10000
		}
	}
	c, err := dialFake(t, s)
	if err != nil {
		t.Fatal(err)
	}
	var sv saver
	l, err := Attach(c, LiveOptions{FollowOptions: qemu.FollowOptions{Period: 5 * time.Millisecond, Options: qemu.Options{Source: "fake"}}, Save: sv.save})
	if err != nil {
		t.Fatal(err)
	}
	ss, err := session.Open(l.Source().Reader(), session.Options{Engine: session.Reference})
	if err != nil {
		t.Fatal(err)
	}
	if got := ss.Config().Ranges[0].Size; got != 4<<30 {
		t.Errorf("the window's RAM is %#x, want 4 GiB", got)
	}
	err = stepUntil(t, ss, func(o *engine.Outcome) bool { return o.Event.Kind == engine.EvCR3 && o.Event.Value == 0x10000 })
	if err != nil {
		t.Fatal(err)
	}
	if ss.Ended() {
		t.Fatal("the session ended while the guest runs")
	}
	// The switch to B is applied: B's mapping translates.
	o, err := ss.Engine().Apply(engine.Event{Kind: engine.EvRead, Size: 8, Addr: 0x400000})
	if err != nil || !o.OK || o.GPA != 0x15000 {
		t.Errorf("after the switch: %+v %v, want GPA 0x15000", o, err)
	}
	if err := l.Stop(); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	running := s.running
	s.mu.Unlock()
	if !running {
		t.Error("the guest was left stopped")
	}
	// The end comes after the last event that arrived.
	for {
		_, err := ss.Step()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	arrived := l.Source().Arrived()
	if n, _ := ss.Total(); n != uint64(len(arrived))+1 { // +1: the read the test applied
		t.Errorf("total %d, %d events arrived", n, len(arrived))
	}
	sv.mu.Lock()
	defer sv.mu.Unlock()
	if sv.n < 3 || !slices.Equal(sv.events, arrived) {
		t.Errorf("saved %d times, %d events; %d arrived", sv.n, len(sv.events), len(arrived))
	}
	if in := l.Info(); in.Stops < 2 || in.Switches != 1 || in.Events != len(arrived) {
		t.Errorf("info %+v", in)
	}
}

// TestLiveRunaway: a guest that stops answering ends the live source
// with the error after what was recorded, which is saved.
func TestLiveRunaway(t *testing.T) {
	s := newFake()
	twoProcesses(s)
	resumes := 0
	s.onResume = func(s *fakeStub) {
		resumes++
		if resumes == 2 {
			s.noStop = true
		}
	}
	c, err := dialFake(t, s)
	if err != nil {
		t.Fatal(err)
	}
	var sv saver
	l, err := Attach(c, LiveOptions{FollowOptions: qemu.FollowOptions{Period: 5 * time.Millisecond, StopTimeout: 50 * time.Millisecond,
		Options: qemu.Options{Source: "fake"}}, Save: sv.save})
	if err != nil {
		t.Fatal(err)
	}
	ss, err := session.Open(l.Source().Reader(), session.Options{Engine: session.Reference})
	if err != nil {
		t.Fatal(err)
	}
	err = stepUntil(t, ss, func(*engine.Outcome) bool { return false })
	if err == nil || !strings.Contains(err.Error(), "did not stop") {
		t.Fatalf("the session ended with %v, want the runaway guest's error", err)
	}
	if serr := l.Stop(); serr == nil || !strings.Contains(serr.Error(), "did not stop") {
		t.Errorf("Stop: %v, want the runaway guest's error", serr)
	}
	if ss.Pos() != uint64(len(l.Source().Arrived())) {
		t.Errorf("applied %d of %d events before the error", ss.Pos(), len(l.Source().Arrived()))
	}
	sv.mu.Lock()
	defer sv.mu.Unlock()
	if !slices.Equal(sv.events, l.Source().Arrived()) {
		t.Errorf("saved %d events, %d arrived", len(sv.events), len(l.Source().Arrived()))
	}
}

// TestLiveLinux follows the real guest live, as explorer gui --attach
// does: a shadow session with a small pool applies each stop's events as
// they arrive (the invariant checker passing on what each touched, and
// on everything at the end); Stop
// leaves the VM running and everything that arrived saved.
func TestLiveLinux(t *testing.T) {
	m, port := bootLinux(t)
	c, err := Dial(context.Background(), fmt.Sprintf("127.0.0.1:%d", port), false)
	if err != nil {
		t.Fatal(err)
	}
	var sv saver
	l, err := Attach(c, LiveOptions{FollowOptions: qemu.FollowOptions{Period: 100 * time.Millisecond, Options: qemu.Options{Source: "linux-guest"}},
		Save: sv.save})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Stop()
	ss, err := session.Open(l.Source().Reader(), session.Options{Overrides: session.Overrides{Pool: engine.MinPoolPages}})
	if err != nil {
		t.Fatal(err)
	}
	err = stepUntil(t, ss, func(*engine.Outcome) bool {
		if err := ss.Shadow().CheckTouched(); err != nil {
			t.Fatalf("after event %d: %v", ss.Pos()-1, err)
		}
		in := l.Info()
		return in.Stops >= 5 && ss.Pos() == uint64(in.Events)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := ss.Shadow().Check(); err != nil {
		t.Fatal(err)
	}
	if err := l.Stop(); err != nil {
		t.Fatal(err)
	}
	if st, err := m.QMP.HMP("info status"); err != nil || !strings.Contains(st, "running") {
		t.Errorf("after Stop the VM says %q (%v), want running", st, err)
	}
	sv.mu.Lock()
	defer sv.mu.Unlock()
	if arrived := l.Source().Arrived(); !slices.Equal(sv.events, arrived) {
		t.Errorf("saved %d events, %d arrived", len(sv.events), len(arrived))
	}
	t.Logf("%+v", l.Info())
}
