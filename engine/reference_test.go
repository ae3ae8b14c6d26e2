package engine_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
	"github.com/pgm-explorer/pgm-explorer/traces"
	"github.com/pgm-explorer/pgm-explorer/traces/samples"
)

// The -update flag rewrites testdata/ref/*.jsonl.golden from the
// reference CPU. Other test files of this binary may declare the same
// flag: it is registered once and read by name.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files")
	}
}

func updateGolden() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// refTestdataDir holds the hand-made reference traces and the golden outcomes of
// every trace the golden test replays (samples included).
const refTestdataDir = "testdata/ref"

// refReplayed is a trace run through the reference CPU.
type refReplayed struct {
	outs  []engine.Outcome
	lines []int // trace line of each outcome
	jsonl []byte
}

// refReplayText runs a text trace through a fresh reference CPU. Any trace
// or engine error fails the test: golden traces must replay to the end.
func refReplayText(t testing.TB, name string, data []byte) refReplayed {
	t.Helper()
	tr, err := traces.NewTextReader(bytes.NewReader(data), name)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := engine.NewReference(tr.Header().Config)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var rep refReplayed
	for {
		ev, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return rep
		}
		if err != nil {
			t.Fatal(err)
		}
		o, err := ref.Apply(ev)
		if err != nil {
			t.Fatalf("%s:%d: %v", name, tr.Line(), err)
		}
		rep.outs = append(rep.outs, o)
		rep.lines = append(rep.lines, tr.Line())
		if o.Reported() {
			rep.jsonl = traces.AppendOutcomeJSON(rep.jsonl, &o)
			rep.jsonl = append(rep.jsonl, '\n')
		}
	}
}

type refGoldenTrace struct {
	name string // file name, e.g. modes.txt
	data []byte
	// handChecked traces carry the expected outcome of every reported
	// event in a `# => ...` comment (see refBrief).
	handChecked bool
}

// refGoldenTraces lists every sample trace and every trace in testdata/ref.
func refGoldenTraces(t *testing.T) []refGoldenTrace {
	var list []refGoldenTrace
	seen := map[string]bool{}
	for _, n := range samples.Names() {
		if !strings.HasSuffix(n, ".txt") {
			continue
		}
		data, err := samples.Read(n)
		if err != nil {
			t.Fatal(err)
		}
		list = append(list, refGoldenTrace{name: n, data: data})
		seen[n] = true
	}
	paths, err := filepath.Glob(filepath.Join(refTestdataDir, "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		n := filepath.Base(p)
		if seen[n] {
			t.Fatalf("%s: same name as a sample trace; the golden files would collide", p)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		list = append(list, refGoldenTrace{name: n, data: data, handChecked: true})
	}
	if len(list) < 2 {
		t.Fatalf("only %d traces found", len(list))
	}
	return list
}

func refGoldenPath(traceName string) string {
	return filepath.Join(refTestdataDir, strings.TrimSuffix(traceName, ".txt")+".jsonl.golden")
}

// TestReferenceGolden replays every sample trace and every hand-made
// trace of testdata/ref through the reference CPU and compares the
// `--outcomes=jsonl` output with its golden file (-update rewrites them).
// The hand-made traces also state each outcome in a comment, worked out
// by hand from the x86 rules; those are checked whatever the golden says,
// so that -update cannot silently bless a wrong answer.
func TestReferenceGolden(t *testing.T) {
	for _, gt := range refGoldenTraces(t) {
		t.Run(gt.name, func(t *testing.T) {
			rep := refReplayText(t, gt.name, gt.data)
			golden := refGoldenPath(gt.name)
			if updateGolden() {
				if err := os.WriteFile(golden, rep.jsonl, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./engine -run TestReferenceGolden -update to create it)", err)
			}
			refCompareLines(t, golden, rep.jsonl, want)
			if gt.handChecked {
				refCheckExpectations(t, gt, rep)
			}
		})
	}
}

// refCompareLines reports the first line where got and want differ.
func refCompareLines(t *testing.T, name string, got, want []byte) {
	t.Helper()
	if bytes.Equal(got, want) {
		return
	}
	g := strings.Split(string(got), "\n")
	w := strings.Split(string(want), "\n")
	for i := 0; i < max(len(g), len(w)); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			t.Fatalf("%s: line %d differs:\n got %s\nwant %s", name, i+1, gl, wl)
		}
	}
}

// refBrief is the short form of an outcome the `# => ...` comments use:
// "gpa=G value=V" (reads), "gpa=G" (writes, fetches), "value=V"
// (physical reads), "pf CODE" or "gp".
func refBrief(o *engine.Outcome) string {
	switch {
	case !o.OK && o.Fault.Kind == x86.NonCanonical:
		return "gp"
	case !o.OK:
		return fmt.Sprintf("pf %#x", uint32(o.Fault.Code))
	case o.Event.Kind == engine.EvPhysRead:
		return fmt.Sprintf("value=%#x", o.Value)
	case o.Event.Kind == engine.EvRead:
		return fmt.Sprintf("gpa=%#x value=%#x", uint64(o.GPA), o.Value)
	}
	return fmt.Sprintf("gpa=%#x", uint64(o.GPA))
}

// refExpectations reads the `# => ...` comments of a trace, by line number.
// Text after a ';' is commentary.
func refExpectations(data []byte) map[int]string {
	m := map[int]string{}
	for i, line := range strings.Split(string(data), "\n") {
		_, comment, ok := strings.Cut(line, "#")
		if !ok {
			continue
		}
		rest, ok := strings.CutPrefix(strings.TrimSpace(comment), "=>")
		if !ok {
			continue
		}
		rest, _, _ = strings.Cut(rest, ";")
		m[i+1] = strings.TrimSpace(rest)
	}
	return m
}

func refCheckExpectations(t *testing.T, gt refGoldenTrace, rep refReplayed) {
	t.Helper()
	want := refExpectations(gt.data)
	used := map[int]bool{}
	for i := range rep.outs {
		o := &rep.outs[i]
		line := rep.lines[i]
		if !o.Reported() {
			continue
		}
		w, ok := want[line]
		if !ok {
			t.Errorf("%s:%d: %s has no expected outcome (# => ...)", gt.name, line, o.Event.Op())
			continue
		}
		used[line] = true
		if got := refBrief(o); got != w {
			t.Errorf("%s:%d: %s: got %q, want %q", gt.name, line, o.Event.Op(), got, w)
		}
		// The path agrees with ok/err.
		switch {
		case !o.OK && o.Path != engine.FaultPath(o.Fault),
			!o.OK && o.Fault.Kind == x86.NonCanonical && o.Path != engine.PathGP:
			t.Errorf("%s:%d: fault %v with path %v", gt.name, line, o.Fault, o.Path)
		}
	}
	for line := range want {
		if !used[line] {
			t.Errorf("%s:%d: expected outcome on a line that is not a reported event", gt.name, line)
		}
	}
}

// TestReferenceGoldenNoStrays fails when a golden file has no trace.
func TestReferenceGoldenNoStrays(t *testing.T) {
	known := map[string]bool{}
	for _, gt := range refGoldenTraces(t) {
		known[refGoldenPath(gt.name)] = true
	}
	paths, _ := filepath.Glob(filepath.Join(refTestdataDir, "*.golden"))
	for _, p := range paths {
		if !known[p] {
			t.Errorf("%s: no trace of that name", p)
		}
	}
}

// Helpers for tests that build events in Go.

func refRAMConfig(specs ...phys.RangeSpec) engine.Config {
	if len(specs) == 0 {
		specs = []phys.RangeSpec{{Type: phys.TypeRAM, Start: 0, Size: 1 << 20, Name: "ram"}}
	}
	return engine.Config{Ranges: specs}
}

func newTestRef(t testing.TB, cfg engine.Config) *engine.Reference {
	t.Helper()
	r, err := engine.NewReference(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func refMustApply(t testing.TB, r *engine.Reference, list ...engine.Event) {
	t.Helper()
	for _, ev := range list {
		if _, err := r.Apply(ev); err != nil {
			t.Fatalf("%s %#x %#x: %v", ev.Op(), ev.Addr, ev.Value, err)
		}
	}
}

func evCR(k engine.EventKind, v uint64) engine.Event { return engine.Event{Kind: k, Value: v} }
func evPW8(a, v uint64) engine.Event {
	return engine.Event{Kind: engine.EvPhysWrite, Size: 8, Addr: a, Value: v}
}
func evPW4(a, v uint64) engine.Event {
	return engine.Event{Kind: engine.EvPhysWrite, Size: 4, Addr: a, Value: v}
}
func evR(size uint8, a uint64) engine.Event {
	return engine.Event{Kind: engine.EvRead, Size: size, Addr: a}
}
func evW(size uint8, a, v uint64) engine.Event {
	return engine.Event{Kind: engine.EvWrite, Size: size, Addr: a, Value: v}
}
func evPR(size uint8, a uint64) engine.Event {
	return engine.Event{Kind: engine.EvPhysRead, Size: size, Addr: a}
}
func evPW(size uint8, a, v uint64) engine.Event {
	return engine.Event{Kind: engine.EvPhysWrite, Size: size, Addr: a, Value: v}
}
func evX(a uint64) engine.Event                       { return engine.Event{Kind: engine.EvExec, Addr: a} }
func evCPL(n uint64) engine.Event                     { return engine.Event{Kind: engine.EvCPL, Value: n} }
func evLabel(s string) engine.Event                   { return engine.Event{Kind: engine.EvLabel, Text: s} }
func evInvlpg(a uint64) engine.Event                  { return engine.Event{Kind: engine.EvInvlpg, Addr: a} }
func evList(e ...engine.Event) []engine.Event         { return e }
func evConcat(a ...[]engine.Event) (r []engine.Event) { return evConcatInto(r, a...) }
func evConcatInto(r []engine.Event, a ...[]engine.Event) []engine.Event {
	for _, s := range a {
		r = append(r, s...)
	}
	return r
}

// Guests in a known mode, with tables at 0x1000.. mapping va 0 to 0x10000.
var (
	refSetup32  = evList(evPW4(0x1000, 0x2007), evPW4(0x2000, 0x10007), evCR(engine.EvCR3, 0x1000), evCR(engine.EvCR0, 0x80000011))
	refSetupPAE = evList(evPW8(0x1000, 0x2001), evPW8(0x2000, 0x3007), evPW8(0x3000, 0x10007),
		evCR(engine.EvCR3, 0x1000), evCR(engine.EvCR4, 0x20), evCR(engine.EvCR0, 0x80000011))
	refSetupLong = evList(evPW8(0x1000, 0x2007), evPW8(0x2000, 0x3007), evPW8(0x3000, 0x4007), evPW8(0x4000, 0x10007),
		evCR(engine.EvCR4, 0x20), evCR(engine.EvEFER, 0x900), evCR(engine.EvCR3, 0x1000), evCR(engine.EvCR0, 0x80000011))
)

// TestReferenceGPIsTraceError: a control-register write the processor
// rejects with #GP is an error from Apply that names the reason, and it
// leaves the state exactly as it was: registers, paging format, event
// count (the next event gets the index the failed one would have had).
func TestReferenceGPIsTraceError(t *testing.T) {
	tests := []struct {
		name  string
		setup []engine.Event
		bad   engine.Event
		why   string
	}{
		{"PG without PE", nil, evCR(engine.EvCR0, 0x80000000), "PG set without PE"},
		{"PG without PE from protected mode", evList(evCR(engine.EvCR0, 0x11)), evCR(engine.EvCR0, 0x80000010), "PG set without PE"},
		{"CR0 bits 63:32", nil, evCR(engine.EvCR0, 1<<32|0x11), "reserved"},
		{"NW without CD", nil, evCR(engine.EvCR0, 1<<29|0x11), "NW set without CD"},
		{"PG with LME and no PAE", evList(evCR(engine.EvEFER, 0x100)), evCR(engine.EvCR0, 0x80000011), "requires CR4.PAE"},
		{"clearing PAE in long mode", refSetupLong, evCR(engine.EvCR4, 0), "clearing PAE in long mode"},
		{"setting LME with paging on", refSetup32, evCR(engine.EvEFER, 0x100), "changing LME while paging is on"},
		{"clearing LME in long mode", refSetupLong, evCR(engine.EvEFER, 0x800), "changing LME while paging is on"},
		{"CR4 bit 23", nil, evCR(engine.EvCR4, 1<<23), "reserved or unsupported"},
		{"PCIDE outside IA-32e mode", refSetupPAE, evCR(engine.EvCR4, 0x20|1<<17), "setting PCIDE outside IA-32e mode"},
		{"PCIDE with CR3[11:0] set", append(append([]engine.Event{}, refSetupLong...), evCR(engine.EvCR3, 0x1008)), evCR(engine.EvCR4, 0x20|1<<17), "CR3[11:0]"},
		{"clearing PG with PCIDE", append(append([]engine.Event{}, refSetupLong...), evCR(engine.EvCR4, 0x20|1<<17)), evCR(engine.EvCR0, 0x11), "clearing PG while CR4.PCIDE"},
		{"CR3 bit 63 without PCIDE", refSetupLong, evCR(engine.EvCR3, 1<<63|0x1000), "above MAXPHYADDR"},
		{"EFER reserved bit", nil, evCR(engine.EvEFER, 1<<20), "reserved bits set"},
		{"CR3 above 4G outside long mode", refSetupPAE, evCR(engine.EvCR3, 1<<32|0x1000), "bits above 31"},
		{"CR3 above MAXPHYADDR in long mode", refSetupLong, evCR(engine.EvCR3, 1<<40|0x1000), "above MAXPHYADDR"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newTestRef(t, refRAMConfig())
			refMustApply(t, r, tc.setup...)
			regs, n, format := r.Regs(), r.Events(), r.Format()
			o, err := r.Apply(tc.bad)
			if err == nil {
				t.Fatalf("Apply(%s %#x) = %+v, want a #GP error", tc.bad.Op(), tc.bad.Value, o)
			}
			var gp *x86.GPError
			if !errors.As(err, &gp) {
				t.Errorf("error %v (%T) is not a *x86.GPError", err, err)
			}
			if !strings.Contains(err.Error(), tc.why) || !strings.Contains(err.Error(), "#GP") {
				t.Errorf("error %q does not say %q", err, tc.why)
			}
			if got := r.Regs(); got != regs {
				t.Errorf("registers changed:\n got %+v\nwant %+v", got, regs)
			}
			if r.Events() != n {
				t.Errorf("Events() = %d after the error, want %d", r.Events(), n)
			}
			if r.Format() != format {
				t.Errorf("paging format changed from %v to %v", format.Mode, r.Format().Mode)
			}
			next, err := r.Apply(evLabel("after"))
			if err != nil || next.Index != n {
				t.Errorf("next event: index %d, err %v; want index %d", next.Index, err, n)
			}
		})
	}
}

// TestReferenceOutsideRAM: pw and pr outside every range are trace
// errors (ErrOutsideRAM) that change nothing; crossing from one range
// into an adjacent one is fine.
func TestReferenceOutsideRAM(t *testing.T) {
	cfg := refRAMConfig(
		phys.RangeSpec{Type: phys.TypeRAM, Start: 0, Size: 1 << 20, Name: "low"},
		phys.RangeSpec{Type: phys.TypeROM, Start: 1 << 20, Size: 64 << 10, Name: "rom"},
		phys.RangeSpec{Type: phys.TypeRAM, Start: 2 << 20, Size: 1 << 20, Name: "high"},
	)
	bad := []struct {
		name string
		ev   engine.Event
	}{
		{"pw past the end", evPW(4, 0x110000, 1)},
		{"pr past the end", evPR(4, 0x110000)},
		{"pw into the gap", evPW(8, 0x10fffc, 0x1122334455667788)},
		{"pr from the gap", evPR(2, 0x1fffff)},
		{"pw far away", evPW(8, 0x4000000000, 1)},
		{"pw at the top of the address space", evPW(8, 0xfffffffffffffff8, 1)},
		{"pw wrapping around", evPW(8, 0xfffffffffffffffc, 1)},
		{"pr past the last range", evPR(1, 3<<20)},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			r := newTestRef(t, cfg)
			refMustApply(t, r, evPW(4, 0xffffc, 0x01020304), evPW(4, 0x2ffffc, 0x05060708), evPW(4, 0x10fffc, 0x0a0b0c0d))
			n := r.Events()
			o, err := r.Apply(tc.ev)
			if !errors.Is(err, engine.ErrOutsideRAM) {
				t.Fatalf("Apply(%s %#x) = %+v, %v; want ErrOutsideRAM", tc.ev.Op(), tc.ev.Addr, o, err)
			}
			if r.Events() != n {
				t.Errorf("Events() = %d after the error, want %d", r.Events(), n)
			}
			// Nothing was written: RAM keeps its bytes, ROM stays zero
			// (the pw to ROM above was dropped), the gap reads all ones.
			for a, want := range map[uint64]uint64{0xffffc: 0x01020304, 0x2ffffc: 0x05060708, 0x10fffc: 0, 0x1ffffc: 0xffffffff} {
				if v := r.Memory().Read(x86.GPA(a), 4); v != want {
					t.Errorf("memory at %#x = %#x, want %#x", a, v, want)
				}
			}
		})
	}
	t.Run("across adjacent ranges", func(t *testing.T) {
		r := newTestRef(t, cfg)
		refMustApply(t, r, evPW(8, 0xffffc, 0x1122334455667788))
		o, err := r.Apply(evPR(8, 0xffffc))
		if err != nil {
			t.Fatal(err)
		}
		// The ROM half of the write was dropped.
		if o.Value != 0x55667788 {
			t.Errorf("pr8 across RAM and ROM = %#x, want 0x55667788", o.Value)
		}
	})
}

// TestReferenceInvalidEvent: a malformed event is an error, never a
// panic, and it consumes no event index.
func TestReferenceInvalidEvent(t *testing.T) {
	tests := []struct {
		name string
		ev   engine.Event
		want string
	}{
		{"read of size 3", engine.Event{Kind: engine.EvRead, Size: 3, Addr: 0x1000}, "access size 3"},
		{"write of size 0", engine.Event{Kind: engine.EvWrite, Size: 0, Addr: 0x1000}, "access size 0"},
		{"pw of size 16", engine.Event{Kind: engine.EvPhysWrite, Size: 16}, "access size 16"},
		{"pr of size 5", engine.Event{Kind: engine.EvPhysRead, Size: 5}, "access size 5"},
		{"kind 0", engine.Event{}, "unknown event kind 0"},
		{"kind 200", engine.Event{Kind: 200}, "unknown event kind 200"},
		{"cpl 4", evCPL(4), "cpl 4 is not 0..3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newTestRef(t, refRAMConfig())
			refMustApply(t, r, evLabel("start"))
			regs := r.Regs()
			_, err := r.Apply(tc.ev)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Apply = %v, want an error saying %q", err, tc.want)
			}
			if r.Events() != 1 || r.Regs() != regs {
				t.Errorf("state changed: %d events, regs %+v", r.Events(), r.Regs())
			}
		})
	}
}

// TestReferenceOutcomeIndexes: every applied event gets the next index,
// and non-access events complete with no path (physical ones: phys).
func TestReferenceOutcomeIndexes(t *testing.T) {
	r := newTestRef(t, refRAMConfig())
	all := evConcat(refSetupLong, evList(evCPL(3), evR(4, 0), evW(8, 0x8, 1), evX(0), evInvlpg(0), evLabel("x"),
		evPR(4, 0x10000), evR(4, 0x800000000000), evCPL(0)))
	for i, ev := range all {
		o, err := r.Apply(ev)
		if err != nil {
			t.Fatal(err)
		}
		if o.Index != uint64(i) || o.Event != ev {
			t.Errorf("event %d (%s): outcome index %d, event %+v", i, ev.Op(), o.Index, o.Event)
		}
		switch k := ev.Kind; {
		case k == engine.EvPhysRead || k == engine.EvPhysWrite:
			if o.Path != engine.PathPhys || !o.OK {
				t.Errorf("event %d (%s): path %v ok %v", i, ev.Op(), o.Path, o.OK)
			}
		case !k.Access():
			if o.Path != engine.PathNone || !o.OK {
				t.Errorf("event %d (%s): path %v ok %v", i, ev.Op(), o.Path, o.OK)
			}
		}
		if ev.Kind == engine.EvLabel && o.Notes&engine.NoteLabel == 0 {
			t.Errorf("label without NoteLabel")
		}
	}
	if r.Events() != uint64(len(all)) {
		t.Errorf("Events() = %d, want %d", r.Events(), len(all))
	}
	if r.Format().Mode != x86.ModeAMD64NX {
		t.Errorf("mode %v, want AMD64+NX", r.Format().Mode)
	}
}

// TestReferenceNotes: control-register writes report mode changes, CR3
// loads and flushes.
func TestReferenceNotes(t *testing.T) {
	r := newTestRef(t, refRAMConfig())
	steps := []struct {
		ev   engine.Event
		want engine.Notes
	}{
		{evCR(engine.EvCR0, 0x11), engine.NoteModeChange | engine.NoteTLBFlushAll},
		{evCR(engine.EvCR3, 0x1000), engine.NoteCR3Load | engine.NoteTLBFlush},
		{evCR(engine.EvCR0, 0x80000011), engine.NoteModeChange | engine.NoteTLBFlushAll},
		{evCR(engine.EvCR3, 0x1000), engine.NoteCR3Load | engine.NoteTLBFlush},
		{evCR(engine.EvCR4, 0x80), engine.NoteTLBFlushAll},
		{evCR(engine.EvCR0, 0x80010011), engine.NoteTLBFlushAll},
		{evR(4, 0), 0},
		{evLabel("l"), engine.NoteLabel},
	}
	for i, s := range steps {
		o, err := r.Apply(s.ev)
		if err != nil {
			t.Fatal(err)
		}
		if o.Notes != s.want {
			t.Errorf("step %d (%s %#x): notes %#x, want %#x", i, s.ev.Op(), s.ev.Value, uint32(o.Notes), uint32(s.want))
		}
	}
}

// refRandomGuest builds a random but architecturally ordered workload
// over a small machine (256K of RAM, a ROM, an MMIO range and holes).
// Page tables for every format are laid out first with physical writes
// and then mutated at random (entries with random flags, big pages,
// NX, now and then a reserved bit or a frame anywhere); the guest
// switches modes in the order the processor requires (paging off, EFER,
// CR4, CR3, paging on) and also writes arbitrary control-register
// values, which may #GP; accesses mostly hit the mapped windows, the
// rest go anywhere (non-canonical, page-crossing, unbacked). A few
// malformed events and physical accesses outside every range are mixed
// in: they must be errors.
//
// Tables: 32-bit PD 0x1000 -> PTs 0x2000, 0x3000; PAE PDPT 0x4000 ->
// PD 0x5000 -> PTs 0x6000, 0x7000; long PML4 0x8000 -> PDPT 0x9000 ->
// the same PD. Data pages: 0x10000..0x3ffff.
func refRandomGuest(rng *rand.Rand, n int) (engine.Config, []engine.Event) {
	cfg := engine.Config{Ranges: []phys.RangeSpec{
		{Type: phys.TypeRAM, Start: 0, Size: 256 << 10, Name: "ram"},
		{Type: phys.TypeROM, Start: 256 << 10, Size: 16 << 10, Name: "rom"},
		{Type: phys.TypeMMIO, Start: 320 << 10, Size: 4 << 10, Name: "mmio"},
	}}
	if rng.IntN(4) == 0 {
		cfg.MaxPhys = uint8(32 + rng.IntN(21))
	}
	var out []engine.Event
	add := func(e ...engine.Event) { out = append(out, e...) }
	chance := func(percent int) bool { return rng.IntN(100) < percent }
	dataFrame := func() uint64 {
		switch {
		case chance(85):
			return uint64(16+rng.IntN(48)) << 12 // RAM
		case chance(40):
			return 0x40000 + uint64(rng.IntN(4))<<12 // ROM
		case chance(50):
			return 0x50000 // MMIO
		}
		return uint64(rng.IntN(1<<20)) << 12 // mostly nothing there
	}
	// flags are random rights and A/D, mostly present.
	flags := func(wide bool) uint64 {
		f := uint64(rng.IntN(128)) &^ uint64(x86.P) // RW US PWT PCD A D
		if chance(93) {
			f |= uint64(x86.P)
		}
		if chance(70) {
			f |= uint64(x86.RW | x86.US)
		}
		if wide && chance(6) {
			f |= uint64(x86.NX)
		}
		if wide && chance(2) {
			f |= 1 << (12 + rng.IntN(51)) // a reserved bit, or a frame bit
		}
		return f
	}
	type table struct {
		base  uint64
		wide  bool
		next  []uint64 // tables its entries point at; none for a PT
		big   bool     // entries may map big pages
		pdpte bool     // legacy PDPT: only P and the frame
	}
	tables := []table{
		{base: 0x1000, next: []uint64{0x2000, 0x3000}, big: true},
		{base: 0x2000}, {base: 0x3000},
		{base: 0x4000, wide: true, next: []uint64{0x5000}, pdpte: true},
		{base: 0x5000, wide: true, next: []uint64{0x6000, 0x7000}, big: true},
		{base: 0x6000, wide: true}, {base: 0x7000, wide: true},
		{base: 0x8000, wide: true, next: []uint64{0x9000}},
		{base: 0x9000, wide: true, next: []uint64{0x5000}, big: true},
	}
	writeEntry := func(tb table, idx int) {
		var v uint64
		switch {
		case tb.pdpte:
			v = tb.next[0] | uint64(x86.P)
			if chance(10) {
				v |= flags(true) // reserved bits in a legacy PDPTE
			}
		case len(tb.next) > 0 && tb.big && chance(25):
			// A big page at a frame aligned for its level (4M, 2M, 1G).
			frame := map[uint64]uint64{0x1000: uint64(rng.IntN(2)) << 22, 0x5000: uint64(rng.IntN(2)) << 21}[tb.base]
			v = frame | flags(tb.wide) | uint64(x86.PS)
		case len(tb.next) > 0:
			v = tb.next[rng.IntN(len(tb.next))] | flags(tb.wide)
		default:
			v = dataFrame() | flags(tb.wide)
		}
		if chance(3) {
			v = rng.Uint64() // anything at all
		}
		if tb.wide {
			add(evPW8(tb.base+uint64(idx)*8, v))
		} else {
			add(evPW4(tb.base+uint64(idx)*4, v&0xffffffff))
		}
	}
	for _, tb := range tables {
		entries := 32
		if len(tb.next) > 0 {
			entries = 4
		}
		for i := range entries {
			writeEntry(tb, i)
		}
	}
	gva := func() uint64 {
		window := []uint64{0, 1 << 21, 1 << 22, 1 << 30, 3 << 30}[rng.IntN(5)]
		switch {
		case chance(85):
			return window + uint64(rng.IntN(32<<12))
		case chance(25):
			return rng.Uint64()
		case chance(33):
			return 0xffff800000000000 + uint64(rng.IntN(1<<16))
		case chance(50):
			return 0x7ffffffff000 + uint64(rng.IntN(4096))
		}
		return window + uint64(rng.IntN(32))<<12 + 0xff8 + uint64(rng.IntN(8)) // crossing
	}
	size := func() uint8 { return []uint8{1, 2, 4, 8}[rng.IntN(4)] }
	toMode := func() {
		add(evCR(engine.EvCR0, 0x11))
		target := 2 + rng.IntN(6) // 32-bit, PAE, long; now and then real or protected
		if target >= 5 {
			target = rng.IntN(5)
		}
		switch target {
		case 0:
			add(evCR(engine.EvCR0, 0x10))
			return
		case 1:
			return
		}
		efer, cr4, cr3 := uint64(0), uint64(0), uint64(0)
		if chance(50) {
			efer |= x86.EFERNXE
		}
		if chance(50) {
			cr4 |= x86.CR4PGE
		}
		switch target {
		case 2:
			cr3 = 0x1000
			if chance(70) {
				cr4 |= x86.CR4PSE
			}
		case 3:
			cr3 = 0x4000
			cr4 |= x86.CR4PAE
		default:
			cr3 = 0x8000
			cr4 |= x86.CR4PAE
			efer |= x86.EFERLME
		}
		if chance(10) {
			cr3 = uint64(rng.IntN(16))<<12 | uint64(rng.IntN(128))*32
		}
		wp := uint64(0)
		if chance(50) {
			wp = x86.CR0WP
		}
		add(evCR(engine.EvEFER, efer), evCR(engine.EvCR4, cr4), evCR(engine.EvCR3, cr3), evCR(engine.EvCR0, 0x80000011|wp))
	}
	toMode()
	for len(out) < n {
		switch p := rng.IntN(100); {
		case p < 30:
			add(evR(size(), gva()))
		case p < 45:
			add(evW(size(), gva(), rng.Uint64()))
		case p < 52:
			add(evX(gva()))
		case p < 64:
			tb := tables[rng.IntN(len(tables))]
			idx := rng.IntN(32)
			if len(tb.next) > 0 {
				idx = rng.IntN(4)
			}
			writeEntry(tb, idx)
		case p < 68:
			s := size()
			add(evPW(s, uint64(16+rng.IntN(48))<<12+uint64(rng.IntN(4096)), rng.Uint64()>>(64-8*uint(s))))
		case p < 74:
			add(evPR(size(), uint64(rng.IntN(256<<10))))
		case p < 79:
			add(evCPL(uint64(rng.IntN(4))))
		case p < 82:
			add(evInvlpg(gva()))
		case p < 88:
			toMode()
		case p < 91:
			add(evCR(engine.EvCR3, []uint64{0x1000, 0x4000, 0x8000}[rng.IntN(3)]))
		case p < 93:
			k := []engine.EventKind{engine.EvCR0, engine.EvCR3, engine.EvCR4, engine.EvEFER}[rng.IntN(4)]
			add(evCR(k, rng.Uint64()&[]uint64{0xffffffff, 0x1ffff, 0x7fffff, ^uint64(0)}[rng.IntN(4)]))
		case p < 96:
			add(evLabel("l"))
		case p < 97:
			add(evPR(size(), uint64(rng.IntN(1<<20)))) // may be outside every range
		default:
			// Arbitrary kind and size: malformed ones must be errors.
			add(engine.Event{Kind: engine.EventKind(rng.IntN(14)), Size: uint8(rng.IntN(10)), Addr: gva(), Value: uint64(rng.IntN(5))})
		}
	}
	return cfg, out
}

// refRunGuest applies list to a fresh reference CPU, checking on the way
// that an error leaves registers and event count alone. It returns every
// outcome and every error message (empty when none).
func refRunGuest(t *testing.T, cfg engine.Config, list []engine.Event) ([]engine.Outcome, []string, *engine.Reference) {
	t.Helper()
	r, err := engine.NewReference(cfg)
	if err != nil {
		t.Fatal(err)
	}
	outs := make([]engine.Outcome, len(list))
	errs := make([]string, len(list))
	for i, ev := range list {
		regs, n := r.Regs(), r.Events()
		o, err := r.Apply(ev)
		outs[i] = o
		if err != nil {
			errs[i] = err.Error()
			if r.Regs() != regs || r.Events() != n {
				t.Fatalf("event %d (%+v): error %v changed the state", i, ev, err)
			}
			continue
		}
		if o.Index != n {
			t.Fatalf("event %d: index %d, want %d", i, o.Index, n)
		}
		if o.Event.Kind.Access() {
			switch {
			case o.OK && o.Path != engine.PathWalk && o.Path != engine.PathIdentity,
				!o.OK && o.Fault.Kind == x86.NonCanonical && o.Path != engine.PathGP,
				!o.OK && o.Fault.Kind != x86.NonCanonical && (o.Path != engine.FaultPath(o.Fault) || !o.Fault.IsPF()):
				t.Fatalf("event %d (%+v): inconsistent outcome %+v", i, ev, o)
			}
		}
	}
	return outs, errs, r
}

// TestReferenceRandomGuests: random guests replay twice to identical
// outcomes, errors and guest memory (the engine is deterministic), the
// engine never panics, errors never change the state, and physical memory
// passes its own consistency check at the end.
func TestReferenceRandomGuests(t *testing.T) {
	guests, events := 250, 600
	if testing.Short() {
		guests = 30
	}
	counts := map[string]int{}
	for seed := range uint64(guests) {
		cfg, list := refRandomGuest(rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)), events)
		first, firstErrs, r := refRunGuest(t, cfg, list)
		for i := range first {
			o := &first[i]
			switch {
			case firstErrs[i] != "":
				counts["error"]++
			case !o.Event.Kind.Access():
			case o.OK:
				counts[o.Path.String()]++
			default:
				counts[o.Fault.Kind.String()]++
			}
		}
		second, secondErrs, r2 := refRunGuest(t, cfg, list)
		for i := range list {
			if first[i] != second[i] || firstErrs[i] != secondErrs[i] {
				t.Fatalf("seed %d, event %d (%+v): replays differ:\n%+v %q\n%+v %q",
					seed, i, list[i], first[i], firstErrs[i], second[i], secondErrs[i])
			}
		}
		if err := r.Memory().Check(); err != nil {
			t.Fatalf("seed %d: memory check: %v", seed, err)
		}
		for gpa := x86.GPA(0); gpa < 272<<10; gpa += x86.GPA(x86.PageSize) {
			if !bytes.Equal(r.Memory().PageBytes(gpa), r2.Memory().PageBytes(gpa)) {
				t.Fatalf("seed %d: guest memory differs between the replays at %v", seed, gpa)
			}
		}
	}
	t.Logf("%d guests of %d events: %v", guests, events, counts)
}

// refBenchGuest is a long-mode NX guest with 512 pages mapped at va 0 (to
// 1M..3M), the first 256 user-writable, the rest supervisor read-only and
// no-execute; PML4 entry 1 is not present.
func refBenchGuest() []engine.Event {
	e := evList(evPW8(0x1000, 0x2007), evPW8(0x2000, 0x3007), evPW8(0x3000, 0x4007))
	for i := uint64(0); i < 512; i++ {
		flags := uint64(x86.P | x86.RW | x86.US | x86.A | x86.D)
		if i >= 256 {
			flags = uint64(x86.P|x86.A) | uint64(x86.NX)
		}
		e = append(e, evPW8(0x4000+8*i, (0x100000+i<<12)|flags))
	}
	return append(e, evCR(engine.EvCR4, 0x20), evCR(engine.EvEFER, 0x900), evCR(engine.EvCR3, 0x1000),
		evCR(engine.EvCR0, 0x80010011))
}

// refTLBFriendlyTrace touches 16 pages over and over: reads, writes and
// fetches that all succeed, the pattern a TLB serves best.
func refTLBFriendlyTrace(n int) []engine.Event {
	e := refBenchGuest()
	for i := 0; len(e) < n; i++ {
		va := uint64(i%16)<<12 | uint64(i*8)&0xff8
		switch i % 8 {
		case 0, 1, 2, 3:
			e = append(e, evR(8, va))
		case 4, 5:
			e = append(e, evW(4, va, uint64(i)))
		case 6:
			e = append(e, evX(va))
		default:
			e = append(e, evR(4, va+4))
		}
	}
	return e
}

// refFaultHeavyTrace mostly faults: protection (writes and fetches on the
// read-only no-execute pages, user accesses), not-present entries at
// different levels and non-canonical addresses.
func refFaultHeavyTrace(n int) []engine.Event {
	e := append(refBenchGuest(), evCPL(3))
	for i := 0; len(e) < n; i++ {
		off := uint64(i*8) & 0xff8
		switch i % 8 {
		case 0:
			e = append(e, evW(4, (256+uint64(i%256))<<12|off, 1)) // read-only, supervisor
		case 1:
			e = append(e, evX((256+uint64(i%256))<<12|off)) // no-execute
		case 2:
			e = append(e, evR(8, 0x200000+uint64(i%512)<<12|off)) // PD entry 1 not present
		case 3:
			e = append(e, evR(4, 0x8000000000+uint64(i%512)<<12)) // PML4 entry 1 not present
		case 4:
			e = append(e, evW(8, 0x800000000000+uint64(i)<<12, 1)) // non-canonical
		case 5:
			e = append(e, evR(4, uint64(i%256)<<12|off)) // a hit, now and then
		case 6:
			e = append(e, evR(2, (256+uint64(i%256))<<12|off)) // user read of a supervisor page
		default:
			e = append(e, evW(2, 0x40000000+uint64(i%512)<<12, 1)) // PDPT entry 1 not present
		}
	}
	return e
}

// BenchmarkReferenceReplay is the reference CPU's replay speed: a fresh
// guest per iteration, every event applied, events per second reported.
func BenchmarkReferenceReplay(b *testing.B) {
	const n = 100_000
	cfg := refRAMConfig(phys.RangeSpec{Type: phys.TypeRAM, Start: 0, Size: 4 << 20, Name: "ram"})
	for _, bc := range []struct {
		name   string
		events []engine.Event
	}{
		{"tlb-friendly", refTLBFriendlyTrace(n)},
		{"fault-heavy", refFaultHeavyTrace(n)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			faults := 0
			b.ReportAllocs()
			for b.Loop() {
				r, err := engine.NewReference(cfg)
				if err != nil {
					b.Fatal(err)
				}
				faults = 0
				for _, ev := range bc.events {
					o, err := r.Apply(ev)
					if err != nil {
						b.Fatal(err)
					}
					if !o.OK {
						faults++
					}
				}
			}
			b.ReportMetric(float64(len(bc.events))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(faults)/float64(len(bc.events)), "faults/event")
		})
	}
}
