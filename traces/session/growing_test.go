package session_test

import (
	"errors"
	"io"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/internal/testkit"
	"github.com/pgm-explorer/pgm-explorer/traces/session"
)

// TestGrowing: a growing source says "no events yet" rather than the
// end, until it ends.
func TestGrowing(t *testing.T) {
	h, evs := testkit.Sample(t, "modes.txt")
	g := session.NewGrowing("live", h)
	s, err := session.Open(g.Reader(), session.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := plain(t, h.Config, evs)
	var got []engine.Outcome
	step := func() error {
		o, err := s.Step()
		if err == nil {
			got = append(got, o)
		}
		return err
	}
	if err := step(); !errors.Is(err, session.ErrNoEvents) {
		t.Fatalf("empty: %v, want ErrNoEvents", err)
	}
	half := len(evs) / 2
	g.Append(evs[:half]...)
	for step() == nil {
	}
	if _, known := s.Total(); known || s.Ended() || len(got) != half {
		t.Fatalf("after the first half: %d events, total known %v, ended %v", len(got), known, s.Ended())
	}
	g.Append(evs[half:]...)
	g.End(nil)
	var err2 error
	for err2 = step(); err2 == nil; err2 = step() {
	}
	if !errors.Is(err2, io.EOF) {
		t.Fatalf("at the end: %v, want io.EOF", err2)
	}
	compareOutcomes(t, got, want)
	if n, known := s.Total(); !known || n != uint64(len(evs)) {
		t.Errorf("Total = %d, %v", n, known)
	}
	// Back to the start and forward again, as the window does.
	if err := s.Seek(3); err != nil {
		t.Fatal(err)
	}
	if s.Pos() != 3 {
		t.Errorf("at %d after seek 3", s.Pos())
	}
	// A second reader starts from the first event, whatever the first
	// has read.
	s3, err := session.Open(g.Reader(), session.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if o, err := s3.Step(); err != nil || o.Index != 0 || o.Event != evs[0] {
		t.Errorf("a second reader's first step: %+v %v", o, err)
	}
	// An ending with an error is that error, after the last event.
	g2 := session.NewGrowing("live", h)
	g2.Append(evs[0])
	boom := errors.New("the stub went away")
	g2.End(boom)
	s2, _ := session.Open(g2.Reader(), session.Options{})
	if _, err := s2.Step(); err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Step(); !errors.Is(err, boom) {
		t.Errorf("got %v, want %v", err, boom)
	}
}
