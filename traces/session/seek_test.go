package session_test

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
	"github.com/pgm-explorer/pgm-explorer/internal/testkit"
	"github.com/pgm-explorer/pgm-explorer/internal/testkit/rguest"
	"github.com/pgm-explorer/pgm-explorer/traces"
	"github.com/pgm-explorer/pgm-explorer/traces/session"
)

// state is e's saved state, the bytes two equal machines share.
func state(t *testing.T, e traces.StateEngine) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := traces.SaveState(&b, e); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
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

// TestStatsFrom: after a seek through a checkpoint the counters count
// from that checkpoint, and StatsFrom says which; a new session's count
// from 0.
func TestStatsFrom(t *testing.T) {
	h, evs := testkit.Sample(t, "multiprocess.txt")
	path := testkit.TempTrace(t, "t.pgmt", h, evs)
	s, err := session.OpenFile(path, session.Options{Seek: &traces.SeekOptions{MinInterval: 256, NoCache: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.StatsFrom() != 0 {
		t.Errorf("a new session counts from %d", s.StatsFrom())
	}
	k := uint64(len(evs)) * 3 / 4
	if err := s.Seek(k); err != nil {
		t.Fatal(err)
	}
	from := s.StatsFrom()
	if from == 0 || from > k {
		t.Fatalf("after a seek to %d the counters count from %d", k, from)
	}
	sum := func(e *engine.Shadow) (n uint64) {
		for _, v := range e.Stats().AppendValues(nil) {
			n += v
		}
		return n
	}
	_, whole := plain(t, h.Config, evs[:k])
	_, since := plain(t, h.Config, evs[:from])
	if got, all := sum(s.Shadow()), sum(whole); got >= all || got == 0 {
		t.Errorf("the counters sum to %d after the seek, %d over the whole replay (%d before the checkpoint)", got, all, sum(since))
	}
}
