package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/traces"
)

// longTrace writes a trace of n guest accesses in real mode (every one
// of them has an outcome line) and returns its path.
func longTrace(t *testing.T, name string, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	h := traces.Header{Config: engine.Config{Ranges: []phys.RangeSpec{{Type: phys.TypeRAM, Start: 0, Size: 0xa0000, Name: "low"}}}}
	w, err := traces.Create(path, h)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		a := uint64(i*0x38) % 0x9f000
		ev := engine.Event{Kind: engine.EvWrite, Size: 4, Addr: a, Value: uint64(i)}
		if i%3 == 1 {
			ev = engine.Event{Kind: engine.EvRead, Size: 4, Addr: a}
		}
		if err := w.WriteEvent(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestReplayInterrupted: when the context ends (Ctrl-C) the replay stops
// between two events, the outcomes of the events done are all written,
// the message says how far it got, and the exit status is 130.
func TestReplayInterrupted(t *testing.T) {
	const n = 20_000
	for _, name := range []string{"t.pgmt", "t.txt"} {
		t.Run(name, func(t *testing.T) {
			path := longTrace(t, name, n)
			for _, stats := range []bool{false, true} {
				ctx, cancel := context.WithCancel(context.Background())
				o := replayOptions{engine: "shadow", outcomes: "jsonl", out: "-", stats: stats,
					afterEvent: func(k uint64) {
						if k == 1000 {
							cancel()
						}
					}}
				var out, errOut bytes.Buffer
				err := replay(ctx, path, o, &out, &errOut)
				cancel()
				var ee *exitError
				if !errors.As(err, &ee) || ee.code != 130 {
					t.Fatalf("replay: %v; want exit status 130", err)
				}
				var done int
				if _, serr := fmt.Sscanf(err.Error(), "interrupted after %d events", &done); serr != nil || done < 1000 || done >= n {
					t.Fatalf("message %q: want \"interrupted after N events\" with 1000 <= N < %d", err, n)
				}
				if !strings.Contains(err.Error(), "outcomes of those events were written") {
					t.Errorf("message %q does not say the outcomes were written", err)
				}
				if lines := strings.Count(out.String(), "\n"); lines != done {
					t.Fatalf("%d outcome lines for %d events done", lines, done)
				}
				if !strings.HasPrefix(out.String(), `{"i":0,`) || !strings.Contains(out.String(), fmt.Sprintf(`{"i":%d,`, done-1)) {
					t.Fatalf("the outcomes do not run from event 0 to event %d", done-1)
				}
				if stats != strings.Contains(errOut.String(), fmt.Sprint(done)) {
					t.Errorf("--stats=%v, stderr:\n%s", stats, errOut.String())
				}
			}
		})
	}
}

// TestReplayNotInterrupted: a context that never ends changes nothing.
func TestReplayNotInterrupted(t *testing.T) {
	path := longTrace(t, "t.pgmt", 3000)
	var out, errOut bytes.Buffer
	o := replayOptions{engine: "ref", outcomes: "jsonl", out: "-"}
	if err := replay(context.Background(), path, o, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(out.String(), "\n"); lines != 3000 || errOut.Len() != 0 {
		t.Fatalf("%d outcome lines, stderr %q; want 3000 and nothing", lines, errOut.String())
	}
}

// TestProgressEstimate: without a count in the header, the progress
// line's total follows the share of the file read.
func TestProgressEstimate(t *testing.T) {
	var b bytes.Buffer
	now := time.Unix(0, 0)
	p := startProgress(&b, "replay t.txt", "events", 0, func() time.Time { return now })
	p.estimate(1000, 25, 100)
	if p.total != 4000 {
		t.Fatalf("total %d; want 4000", p.total)
	}
	p.estimate(5000, 100, 100) // the reader's buffer ran ahead
	if p.total != 5000 {
		t.Fatalf("total %d; want 5000", p.total)
	}
	var nilp *progress
	nilp.estimate(1, 1, 1) // quiet progress: no effect, no panic
}

// TestReplayCheckEvery: --check with full checks at any period, after
// every event included, replays the goldens of the engine's hand-made
// traces (dirty page tables, big pages in halves) without a violation;
// a period below 1 is a usage error.
func TestReplayCheckEvery(t *testing.T) {
	traces, err := filepath.Glob("../../engine/testdata/ref/*.txt")
	if err != nil || len(traces) == 0 {
		t.Fatalf("no traces (%v)", err)
	}
	for _, every := range []string{"1", "7", "10000"} {
		for _, tr := range append(traces, sampleTrace) {
			t.Run(every+"/"+filepath.Base(tr), func(t *testing.T) {
				code, out, errOut := explorer(t, "replay", "--check", "--check-every="+every, tr)
				if code != 0 || out != "" || errOut != "" {
					t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
				}
			})
		}
	}
	code, _, errOut := explorer(t, "replay", "--check", "--check-every=0", sampleTrace)
	if code != 2 || !strings.Contains(errOut, "--check-every 0: want 1 or more") {
		t.Errorf("--check-every=0: exit %d, stderr %q", code, errOut)
	}
}

// TestReplaySnapshotMemory: snapshots of unchanged pages cost their
// pages once, and a save over --snapshot-memory stops the replay with an
// error that names the event and the flag.
func TestReplaySnapshotMemory(t *testing.T) {
	var b strings.Builder
	b.WriteString("pgmtrace 1\nram 0x0 64M\n")
	for i := range 3000 {
		fmt.Fprintf(&b, "pw8 %#x %#x\n", i<<12, i+1)
	}
	for _, name := range []string{"a", "b", "c", "d"} {
		b.WriteString("save " + name + "\n")
	}
	path := filepath.Join(t.TempDir(), "snaps.txt")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	// Four snapshots of 12 MB of pages fit in 16 MB: they share them.
	if code, _, errOut := explorer(t, "replay", "--snapshot-memory", "16M", path); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	code, _, errOut := explorer(t, "replay", "--snapshot-memory", "8M", path)
	if code != 1 || !strings.Contains(errOut, path+":3003: save a: ") || !strings.Contains(errOut, "the limit is 8M") ||
		!strings.Contains(errOut, "--snapshot-memory raises the limit") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}
