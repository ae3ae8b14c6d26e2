package session_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
	"github.com/pgm-explorer/pgm-explorer/internal/testkit"
	"github.com/pgm-explorer/pgm-explorer/internal/testkit/rguest"
	"github.com/pgm-explorer/pgm-explorer/traces"
	"github.com/pgm-explorer/pgm-explorer/traces/samples"
	"github.com/pgm-explorer/pgm-explorer/traces/session"
	"github.com/pgm-explorer/pgm-explorer/traces/workload"
)

// plain replays evs on a new shadow engine of cfg: the oracle.
func plain(t *testing.T, cfg engine.Config, evs []engine.Event) ([]engine.Outcome, *engine.Shadow) {
	t.Helper()
	eng := testkit.Shadow(t, cfg)
	return testkit.Replay(t, eng, evs), eng
}

// drain steps s to its end.
func drain(t *testing.T, s *session.Session) []engine.Outcome {
	t.Helper()
	var out []engine.Outcome
	for {
		o, err := s.Step()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, o)
	}
}

func state(t *testing.T, e traces.StateEngine) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := traces.SaveState(&b, e); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestOverridesApply(t *testing.T) {
	base := engine.Config{Host: engine.HostAMD64, Paging: engine.PagingShadow, PoolPages: 1024}
	for _, tc := range []struct {
		name string
		o    session.Overrides
		want engine.Config
		err  bool
	}{
		{"none", session.Overrides{}, base, false},
		{"host", session.Overrides{Host: engine.HostPAE}, engine.Config{Host: engine.HostPAE, Paging: engine.PagingShadow, PoolPages: 1024}, false},
		{"paging", session.Overrides{Paging: engine.PagingNested, PagingSet: true}, engine.Config{Host: engine.HostAMD64, Paging: engine.PagingNested, PoolPages: 1024}, false},
		{"paging unset is ignored", session.Overrides{Paging: engine.PagingEPT}, base, false},
		{"pool", session.Overrides{Pool: engine.MinPoolPages}, engine.Config{Host: engine.HostAMD64, Paging: engine.PagingShadow, PoolPages: engine.MinPoolPages}, false},
		{"pool too small", session.Overrides{Pool: engine.MinPoolPages - 1}, base, true},
		{"pool too large", session.Overrides{Pool: engine.MaxPoolPages + 1}, base, true},
		{"dirty-pt", session.Overrides{DirtyPT: true, DirtySet: true}, engine.Config{Host: engine.HostAMD64, Paging: engine.PagingShadow, PoolPages: 1024, DirtyPT: true}, false},
		{"snapshot limit is not configuration", session.Overrides{SnapshotLimit: 1 << 20}, base, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.o.Apply(base)
			var pe *session.PoolError
			if tc.err != errors.As(err, &pe) || (err != nil && pe == nil) {
				t.Fatalf("err = %v, want a *PoolError: %v", err, tc.err)
			}
			if err == nil && !equalConfig(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func equalConfig(a, b engine.Config) bool {
	return a.Host == b.Host && a.Paging == b.Paging && a.PoolPages == b.PoolPages && a.DirtyPT == b.DirtyPT
}

// TestSourcesReplayAlike: every kind of source, through a session with
// and without overrides, gives the outcomes a plain replay of the same
// events on the overridden configuration gives.
func TestSourcesReplayAlike(t *testing.T) {
	h, evs := testkit.Sample(t, "devices.txt")
	dir := t.TempDir()
	txt, bin := filepath.Join(dir, "t.txt"), filepath.Join(dir, "t.pgmt")
	testkit.WriteTrace(t, txt, h, evs)
	testkit.WriteTrace(t, bin, h, evs)
	data, _ := samples.Read("devices.txt")
	sources := map[string]func() (session.Source, error){
		"sample":      func() (session.Source, error) { return session.Sample("devices.txt") },
		"bytes":       func() (session.Source, error) { return session.Bytes("devices.txt", data) },
		"text file":   func() (session.Source, error) { return session.File(txt) },
		"binary file": func() (session.Source, error) { return session.File(bin) },
		"events":      func() (session.Source, error) { return session.Events("list", h, evs), nil },
	}
	for _, ovr := range []struct {
		name string
		o    session.Overrides
	}{
		{"header", session.Overrides{}},
		{"nested small pool", session.Overrides{Paging: engine.PagingNested, PagingSet: true, Pool: engine.MinPoolPages}},
		{"pae host dirty-pt", session.Overrides{Host: engine.HostPAE, DirtyPT: true, DirtySet: true}},
	} {
		cfg, err := ovr.o.Apply(h.Config)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := plain(t, cfg, evs)
		for name, open := range sources {
			t.Run(ovr.name+"/"+name, func(t *testing.T) {
				src, err := open()
				if err != nil {
					t.Fatal(err)
				}
				s, err := session.Open(src, session.Options{Overrides: ovr.o})
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				if !equalConfig(s.Engine().Config(), cfg) {
					t.Fatalf("engine config %+v, want %+v", s.Engine().Config(), cfg)
				}
				got := drain(t, s)
				compareOutcomes(t, got, want)
				if n, ok := s.Total(); !ok || n != uint64(len(evs)) {
					t.Errorf("Total = %d, %v; want %d, true", n, ok, len(evs))
				}
				// The end is permanent.
				if _, err := s.Step(); !errors.Is(err, io.EOF) {
					t.Errorf("a step after the end: %v, want io.EOF", err)
				}
			})
		}
	}
}

func compareOutcomes(t *testing.T, got, want []engine.Outcome) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d outcomes, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := traces.AppendOutcomeJSON(nil, &got[i]), traces.AppendOutcomeJSON(nil, &want[i])
		if !bytes.Equal(g, w) {
			t.Fatalf("event %d: outcome\n%s\nwant\n%s", i, g, w)
		}
	}
}

// TestWorkloadSource: a live model through a session makes the run
// workload.Run makes, and starts again the same.
func TestWorkloadSource(t *testing.T) {
	const n = 3000
	w, err := workload.New("multiprocess", 7, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	eng, err := engine.NewShadow(w.Header().Config)
	if err != nil {
		t.Fatal(err)
	}
	var want []engine.Outcome
	if _, err := workload.Run(context.Background(), w, eng, n, func(_ engine.Event, o *engine.Outcome) error {
		want = append(want, *o)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	src, err := session.Workload("multiprocess", 7, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := session.Open(src, session.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for round := 0; round < 2; round++ {
		var got []engine.Outcome
		for len(got) < n {
			o, err := s.Step()
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, o)
		}
		compareOutcomes(t, got, want)
		if err := s.Reset(); err != nil {
			t.Fatal(err)
		}
	}
	if _, known := s.Total(); known {
		t.Error("a live workload that has not ended knows its total")
	}
}

// TestPeekThenStep: Step applies the event Peek read.
func TestPeekThenStep(t *testing.T) {
	h, evs := testkit.Sample(t, "modes.txt")
	s, err := session.Open(session.Events("list", h, evs), session.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		ev, err := s.Peek()
		if err != nil {
			t.Fatal(err)
		}
		ev2, _ := s.Peek()
		o, err := s.Step()
		if err != nil {
			t.Fatal(err)
		}
		if ev != evs[i] || ev2 != evs[i] || o.Event != evs[i] || o.Index != uint64(i) {
			t.Fatalf("event %d: peeked %v, %v, applied %v, want %v", i, ev, ev2, o.Event, evs[i])
		}
	}
}

// TestStepError: a refused event names the position and the event, and
// leaves the session before it.
func TestStepError(t *testing.T) {
	const text = "pgmtrace 1\nram 0x0 16M\ncr0 0x11\nr4 0x1000\ncr0 0x80000010\nr4 0x2000\n"
	src, err := session.Bytes("bad.txt", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	s, err := session.Open(src, session.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var serr *session.StepError
	for {
		_, err = s.Step()
		if err != nil {
			break
		}
	}
	if !errors.As(err, &serr) {
		t.Fatalf("got %v, want a *StepError", err)
	}
	if !strings.HasPrefix(err.Error(), "bad.txt:") || serr.Index != s.Pos() {
		t.Errorf("error %q at index %d, session at %d", err, serr.Index, s.Pos())
	}
	if _, err2 := s.Step(); err2 == nil || err2.Error() != err.Error() {
		t.Errorf("stepping again: %v, want the same refusal", err2)
	}
}

// TestSnapshotLimit: the override reaches the engine.
func TestSnapshotLimit(t *testing.T) {
	h, evs := testkit.Sample(t, "multiprocess.txt")
	evs = append(evs[:len(evs):len(evs)], engine.Event{Kind: engine.EvSave, Text: "s"})
	for _, tc := range []struct {
		limit uint64
		fails bool
	}{{0, false}, {4096, true}} {
		s, err := session.Open(session.Events("list", h, evs), session.Options{Overrides: session.Overrides{SnapshotLimit: tc.limit}})
		if err != nil {
			t.Fatal(err)
		}
		err = s.Seek(uint64(len(evs)))
		if got := errors.Is(err, engine.ErrSnapshotMemory); got != tc.fails {
			t.Errorf("limit %d: %v, want ErrSnapshotMemory: %v", tc.limit, err, tc.fails)
		}
	}
}

// TestSeekMatchesReplay: seeking to any event, forwards and backwards,
// through checkpoints or by replaying, reaches the state a plain replay
// of that many events reaches, and stepping on from there gives the
// guest-visible outcomes of the plain replay.
func TestSeekMatchesReplay(t *testing.T) {
	h, base := testkit.Sample(t, "multiprocess.txt")
	// A save and a restore, so that checkpoints carry a named snapshot
	// and the engine must be kept across loads.
	evs := append([]engine.Event{}, base[:len(base)/3]...)
	evs = append(evs, engine.Event{Kind: engine.EvSave, Text: "third"})
	evs = append(evs, base[len(base)/3:]...)
	evs = append(evs, engine.Event{Kind: engine.EvRestore, Text: "third"})
	evs = append(evs, base[len(base)/3:len(base)/3+500]...)
	dir := t.TempDir()
	bin := filepath.Join(dir, "t.pgmt")
	testkit.WriteTrace(t, bin, h, evs)
	wantOut, _ := plain(t, h.Config, evs)
	rng := rand.New(rand.NewPCG(1, 2))
	n := uint64(len(evs))
	targets := []uint64{0, n, n / 2, 1, n - 1, 0}
	for range 12 {
		targets = append(targets, rng.Uint64N(n+1))
	}
	opens := map[string]func() (*session.Session, error){
		"checkpoints": func() (*session.Session, error) {
			return session.OpenFile(bin, session.Options{Seek: &traces.SeekOptions{MinInterval: 256, NoCache: true}})
		},
		"file": func() (*session.Session, error) { return session.OpenFile(bin, session.Options{}) },
		"events": func() (*session.Session, error) {
			return session.Open(session.Events("list", h, evs), session.Options{})
		},
	}
	for name, open := range opens {
		t.Run(name, func(t *testing.T) {
			s, err := open()
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if name == "checkpoints" && !s.Checkpointed() {
				t.Fatal("no checkpoints")
			}
			for _, k := range targets {
				if err := s.Seek(k); err != nil {
					t.Fatalf("seek %d: %v", k, err)
				}
				_, ref := plain(t, h.Config, evs[:k])
				if got, want := state(t, s.Engine().(traces.StateEngine)), state(t, ref); !bytes.Equal(got, want) {
					t.Fatalf("seek %d: the state differs from a plain replay's", k)
				}
				for i := k; i < min(k+20, n); i++ {
					o, err := s.Step()
					if err != nil {
						t.Fatalf("seek %d, step %d: %v", k, i, err)
					}
					if o.OK != wantOut[i].OK || o.Fault != wantOut[i].Fault || o.GPA != wantOut[i].GPA || o.Value != wantOut[i].Value {
						t.Fatalf("seek %d, event %d: %+v, want %+v", k, i, o, wantOut[i])
					}
				}
			}
			if err := s.Seek(n + 1); !errors.Is(err, traces.ErrSeekRange) || !errors.Is(err, io.EOF) {
				t.Errorf("seek past the end: %v", err)
			}
		})
	}
}

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

// TestSeekRandomGuests: random well-behaved guests (testkit/rguest) in
// binary files, through checkpointed sessions under overrides: a seek to
// any event reaches the state a plain replay of that configuration
// reaches.
func TestSeekRandomGuests(t *testing.T) {
	modes := []x86.Mode{x86.Mode32Bit, x86.ModePAENX, x86.ModeAMD64NX, x86.ModeLA57NX}
	for _, tc := range []struct {
		name string
		o    session.Overrides
	}{
		{"shadow", session.Overrides{}},
		{"nested small pool", session.Overrides{Paging: engine.PagingNested, PagingSet: true, Pool: engine.MinPoolPages}},
		{"pae host dirty-pt", session.Overrides{Host: engine.HostPAE, DirtyPT: true, DirtySet: true, Pool: 64}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := traces.Header{Config: engine.Config{Ranges: rguest.Ranges()}}
			evs := rguest.New(11, modes).Events(3000)
			path := testkit.TempTrace(t, "guest.pgmt", h, evs)
			s, err := session.OpenFile(path, session.Options{Overrides: tc.o, Seek: &traces.SeekOptions{MinInterval: 200, NoCache: true}})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			cfg, _ := tc.o.Apply(s.Header().Config)
			rng := rand.New(rand.NewPCG(3, 4))
			for range 8 {
				k := rng.Uint64N(uint64(len(evs)) + 1)
				if err := s.Seek(k); err != nil {
					t.Fatalf("seek %d: %v", k, err)
				}
				_, ref := plain(t, cfg, evs[:k])
				if !bytes.Equal(state(t, s.Engine().(traces.StateEngine)), state(t, ref)) {
					t.Fatalf("seek %d: the state differs from a plain replay's", k)
				}
			}
		})
	}
}
