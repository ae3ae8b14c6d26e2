// Package testkit is what the project's tests share: reading and
// replaying the embedded samples and trace files, writing a trace to a
// temporary file, and finding the Unicorn library (NeedUnicorn).
// Random well-behaved guests for differential tests are in
// testkit/rguest.
//
// Every helper takes the test and fails it (t.Fatal) on an error it does
// not expect, so a test reads as what it checks. Nothing here skips a
// test except NeedUnicorn, and that only when the library is absent: a
// test that finds a bug fails.
//
// Packages whose own tests are in the package itself (package engine,
// package traces) cannot use it, as it imports them.
package testkit

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/internal/safeout"
	"github.com/pgm-explorer/pgm-explorer/traces"
	"github.com/pgm-explorer/pgm-explorer/traces/samples"
)

// Sample is an embedded sample trace's header and events.
func Sample(t testing.TB, name string) (traces.Header, []engine.Event) {
	t.Helper()
	data, err := samples.Read(name)
	if err != nil {
		t.Fatal(err)
	}
	return ReadBytes(t, name, data)
}

// ReadBytes reads a whole trace of either form held in memory.
func ReadBytes(t testing.TB, name string, data []byte) (traces.Header, []engine.Event) {
	t.Helper()
	rd, _, err := traces.NewReader(bytes.NewReader(data), name)
	if err != nil {
		t.Fatal(err)
	}
	return readAll(t, rd)
}

// ReadTrace reads a whole trace file of either form (or a core).
func ReadTrace(t testing.TB, path string) (traces.Header, []engine.Event) {
	t.Helper()
	f, err := traces.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return readAll(t, f)
}

func readAll(t testing.TB, rd traces.Reader) (traces.Header, []engine.Event) {
	t.Helper()
	var evs []engine.Event
	for {
		ev, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return rd.Header(), evs
		}
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
}

// Replay applies evs to eng and returns the outcomes; an event the
// engine refuses fails the test, naming its index.
func Replay(t testing.TB, eng engine.Engine, evs []engine.Event) []engine.Outcome {
	t.Helper()
	out := make([]engine.Outcome, 0, len(evs))
	for i, ev := range evs {
		o, err := eng.Apply(ev)
		if err != nil {
			t.Fatalf("event %d (%s): %v", i, traces.AppendEvent(nil, ev), err)
		}
		out = append(out, o)
	}
	return out
}

// Shadow is a new shadow engine of cfg.
func Shadow(t testing.TB, cfg engine.Config) *engine.Shadow {
	t.Helper()
	eng, err := engine.NewShadow(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

// ReplaySample replays an embedded sample on a new shadow engine of its
// header's configuration.
func ReplaySample(t testing.TB, name string) (*engine.Shadow, []engine.Outcome) {
	t.Helper()
	h, evs := Sample(t, name)
	eng := Shadow(t, h.Config)
	return eng, Replay(t, eng, evs)
}

// WriteTrace writes a whole trace to path, in the form its name says
// (".txt": text, else binary).
func WriteTrace(t testing.TB, path string, h traces.Header, evs []engine.Event) {
	t.Helper()
	err := safeout.WriteFile(path, nil, nil, func(w io.Writer) error { return traces.Encode(w, traces.FormOf(path), h, evs) })
	if err != nil {
		t.Fatal(err)
	}
}

// TempTrace writes a whole trace to a file called name in a new
// temporary directory of the test, and returns its path.
func TempTrace(t testing.TB, name string, h traces.Header, evs []engine.Event) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	WriteTrace(t, path, h, evs)
	return path
}
