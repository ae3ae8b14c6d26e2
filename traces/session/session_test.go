package session_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/internal/testkit"
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
