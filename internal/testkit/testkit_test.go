package testkit_test

import (
	"runtime"
	"slices"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/internal/testkit"
	"github.com/pgm-explorer/pgm-explorer/traces"
)

// TestRoundTrip: a sample written to a file of either form reads back
// the same, and replays to the outcomes ReplaySample gives.
func TestRoundTrip(t *testing.T) {
	h, evs := testkit.Sample(t, "modes.txt")
	if len(evs) == 0 {
		t.Fatal("no events in modes.txt")
	}
	_, want := testkit.ReplaySample(t, "modes.txt")
	for _, name := range []string{"t.txt", "t.pgmt"} {
		t.Run(name, func(t *testing.T) {
			path := testkit.TempTrace(t, name, h, evs)
			h2, evs2 := testkit.ReadTrace(t, path)
			if !slices.Equal(evs2, evs) || h2.Config.PoolPages != h.Config.PoolPages {
				t.Fatalf("read back %d events, want %d", len(evs2), len(evs))
			}
			got := testkit.Replay(t, testkit.Shadow(t, h2.Config), evs2)
			for i := range got {
				if g, w := traces.AppendOutcomeJSON(nil, &got[i]), traces.AppendOutcomeJSON(nil, &want[i]); string(g) != string(w) {
					t.Fatalf("event %d: %s, want %s", i, g, w)
				}
			}
		})
	}
}

// TestReplayRefused: Replay fails the test at an event the engine
// refuses (a #GP), naming it.
func TestReplayRefused(t *testing.T) {
	h, _ := testkit.Sample(t, "modes.txt")
	var ft fakeT
	done := make(chan struct{})
	go func() {
		defer close(done)
		testkit.Replay(&ft, testkit.Shadow(t, h.Config), []engine.Event{{Kind: engine.EvCR0, Value: 0x80000000}})
	}()
	<-done
	if !ft.failed {
		t.Error("a refused event did not fail the test")
	}
}

// fakeT records a failure; Fatal ends the goroutine as testing.T does.
type fakeT struct {
	testing.TB
	failed bool
}

func (f *fakeT) Helper() {}
func (f *fakeT) Fatalf(string, ...any) {
	f.failed = true
	runtime.Goexit()
}
