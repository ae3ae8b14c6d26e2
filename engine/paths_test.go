package engine_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
	"github.com/pgm-explorer/pgm-explorer/traces"
)

// run replays a text trace through a shadow engine (checking invariants
// after every event) and returns the engine and the outcomes.
func run(t *testing.T, trace string) (*engine.Shadow, []engine.Outcome) {
	t.Helper()
	rd, err := traces.NewTextReader(strings.NewReader(trace), "test.txt")
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.NewShadow(rd.Header().Config)
	if err != nil {
		t.Fatal(err)
	}
	var out []engine.Outcome
	for {
		ev, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		o, err := e.Apply(ev)
		if err != nil {
			t.Fatalf("line %d: %v", rd.Line(), err)
		}
		if err := e.Check(); err != nil {
			t.Fatalf("line %d: invariants: %v", rd.Line(), err)
		}
		out = append(out, o)
	}
	return e, out
}

func counter(t *testing.T, e *engine.Shadow, name string) uint64 {
	t.Helper()
	s, ok := e.Stats().Lookup(name)
	if !ok {
		t.Fatalf("no statistic %s", name)
	}
	return s.Value
}

// A 32-bit guest on a PAE host: PD at 1M, PT at 1M+4K, identity pages.
//
//	page 0: accessed and dirty      page 4: user, read-only
//	page 1: accessed and dirty      page 5: supervisor only
//	page 2: not accessed            page 6: not present
//	page 3: accessed, clean         page 8: the page table itself
//	4M and 8M: big pages (8M clean)
const setup32 = `pgmtrace 1
ram 0 16M
host HOST
pw4 0x100000 0x101007
pw4 0x101000 0x00000067
pw4 0x101004 0x00001067
pw4 0x101008 0x00002007
pw4 0x10100c 0x00003027
pw4 0x101010 0x00004025
pw4 0x101014 0x00005063
pw4 0x101020 0x00101063
pw4 0x100004 0x004000e7
pw4 0x100008 0x00800087
cr3 0x100000
cr4 0x10
cr0 0x80010011
`

func TestTrapPaths(t *testing.T) {
	tests := []struct {
		name     string
		events   string
		wantPath string            // of the last event
		counters map[string]uint64 // lower bounds
	}{
		{"first touch creates the page table", "r4 0x0\n", "sync-pt",
			map[string]uint64{"/PGM/RZ/SyncPT/4K": 1, "/PGM/RZ/Trap0e/Time2/SyncPT": 1}},
		{"second touch hits the TLB", "r4 0x0\nr4 0x8\n", "tlb-hit",
			map[string]uint64{"/PGM/TLB/Hits": 1}},
		{"prefetched neighbour hits the shadow tables", "r4 0x0\nr4 0x1000\n", "shadow-hit",
			map[string]uint64{"/PGM/Shadow/Hits": 1}},
		{"not accessed: accessed-bit emulation", "r4 0x0\nr4 0x2000\n", "accessed-trap",
			map[string]uint64{"/PGM/RZ/AccessedPage": 1, "/PGM/RZ/Trap0e/Time2/DirtyAndAccessedBits": 1}},
		{"clean writable page: dirty trap", "r4 0x0\nw4 0x3000 1\n", "dirty-trap",
			map[string]uint64{"/PGM/RZ/DirtyPage/Trap": 1, "/PGM/RZ/DirtyPage/SetDirty": 1, "/PGM/RZ/DirtyPage/Mark": 1}},
		{"not present: guest fault", "r4 0x6000\n", "guest-fault",
			map[string]uint64{"/PGM/RZ/Trap0e/GuestPF": 1, "/PGM/RZ/Trap0e/Time2/GuestTrap": 1, "/PGM/RZ/Trap0e/Err/Supervisor/NPRead": 1}},
		{"user write to a supervisor page: guest fault", "cpl 3\nw4 0x5000 1\n", "guest-fault",
			map[string]uint64{"/PGM/RZ/Trap0e/GuestPF": 1, "/PGM/RZ/Trap0e/Err/User/NPWrite": 1}},
		{"user write to a read-only page: guest fault", "r4 0x4000\ncpl 3\nw4 0x4000 1\n", "guest-fault",
			map[string]uint64{"/PGM/RZ/Trap0e/GuestPF": 1, "/PGM/RZ/Trap0e/Err/User/Write": 1}},
		{"big page: shadowed by a page table", "r4 0x400000\n", "sync-pt",
			map[string]uint64{"/PGM/RZ/SyncPT/4M": 1}},
		{"clean big page: dirty trap on the PDE", "r4 0x800000\nw4 0x800000 1\n", "dirty-trap",
			map[string]uint64{"/PGM/RZ/DirtyPage/MarkBig": 1, "/PGM/RZ/DirtyPage/Trap": 1}},
		{"WP=0 supervisor write to a read-only page is emulated", "cr0 0x80000011\nw4 0x4000 7\n", "wp-emulation",
			map[string]uint64{"/PGM/RZ/Trap0e/WP/InRZ": 1}},
		{"write to a page table page is monitored", "r4 0x0\npw4 0x101018 0x101063\nw4 0x6000 0x2067\n", "pt-write",
			map[string]uint64{"/PGM/Pool/Monitor/RZ/Handled": 1}},
		{"access above RAM is emulated", "pw4 0x10101c 0x09000067\nr4 0x7000\n", "handler",
			map[string]uint64{"/PGM/RZ/Trap0e/Handlers/Invalid": 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, out := run(t, strings.ReplaceAll(setup32, "HOST", "pae")+tc.events)
			if got := out[len(out)-1].Path.String(); got != tc.wantPath {
				t.Errorf("path %s, want %s", got, tc.wantPath)
			}
			for name, want := range tc.counters {
				if got := counter(t, e, name); got < want {
					t.Errorf("%s = %d, want at least %d", name, got, want)
				}
			}
		})
	}
}

func TestInvalidatePageCases(t *testing.T) {
	tests := []struct {
		name    string
		events  string
		counter string
	}{
		{"4K page resynced", "r4 0x0\npw4 0x101000 0x7067\ninvlpg 0x0\n", "/PGM/RZ/InvalidatePage/4KBPages"},
		{"unchanged big page skipped", "r4 0x400000\ninvlpg 0x400000\n", "/PGM/RZ/InvalidatePage/4MBPagesSkip"},
		{"changed big page dropped", "r4 0x400000\npw4 0x100004 0x00c000e7\ninvlpg 0x400000\n", "/PGM/RZ/InvalidatePage/PDOutOfSync"},
		{"guest PDE gone", "r4 0x0\npw4 0x100000 0\ninvlpg 0x0\n", "/PGM/RZ/InvalidatePage/PDNPs"},
		{"guest PDE not accessed", "r4 0x0\npw4 0x100000 0x101007\ninvlpg 0x0\n", "/PGM/RZ/InvalidatePage/PDNAs"},
		{"guest PDE changed", "r4 0x0\npw4 0x100000 0x101023\ninvlpg 0x0\n", "/PGM/RZ/InvalidatePage/PDOutOfSync"},
		{"nothing shadowed", "invlpg 0x0\n", "/PGM/RZ/InvalidatePage/Skipped"},
	}
	for _, host := range []string{"32bit", "pae"} {
		for _, tc := range tests {
			t.Run(host+"/"+tc.name, func(t *testing.T) {
				e, _ := run(t, strings.ReplaceAll(setup32, "HOST", host)+tc.events)
				if got := counter(t, e, tc.counter); got != 1 {
					t.Errorf("%s = %d, want 1", tc.counter, got)
				}
			})
		}
	}
}

func TestSyncCR3Cases(t *testing.T) {
	tests := []struct {
		name, events, counter string
	}{
		{"matching PDE kept", "r4 0x0\ncr3 0x100000\n", "/PGM/RZ/SyncCR3/DstChacheHit"},
		{"changed PDE freed", "r4 0x0\npw4 0x100000 0x101005\ncr3 0x100000\n", "/PGM/RZ/SyncCR3/DstFreed"},
		{"vanished PDE freed", "r4 0x0\npw4 0x100000 0\ncr3 0x100000\n", "/PGM/RZ/SyncCR3/DstFreedSrcNP"},
		{"same CR3", "cr3 0x100000\n", "/PGM/RZ/FlushTLB/SameCR3Global"},
		{"new CR3", "pw4 0x102000 0x101007\ncr3 0x102000\n", "/PGM/RZ/FlushTLB/NewCR3Global"},
		{"global pages kept on a non-global sync", "cr4 0x90\nr4 0x400000\ncr3 0x100000\n", "/PGM/RZ/SyncCR3/DstSkippedGlobalPD"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			trace := strings.ReplaceAll(setup32, "HOST", "pae")
			if strings.Contains(tc.name, "global pages") {
				trace = strings.Replace(trace, "pw4 0x100004 0x004000e7", "pw4 0x100004 0x004001e7", 1)
			}
			e, _ := run(t, trace+tc.events)
			if got := counter(t, e, tc.counter); got == 0 {
				t.Errorf("%s = 0, want > 0", tc.counter)
			}
		})
	}
}

func TestMonitorHeuristics(t *testing.T) {
	// A write that only clears RW of a present entry is a fork: the OS is
	// about to write-protect the whole table, so the shadow page goes.
	e, _ := run(t, strings.ReplaceAll(setup32, "HOST", "pae")+"r4 0x0\npw4 0x101000 0x65\n")
	if got := counter(t, e, "/PGM/Pool/Monitor/R3/FlushPage"); got != 1 {
		t.Errorf("fork: FlushPage = %d, want 1", got)
	}
	// A misaligned write is not an entry update: the page was reused.
	e, _ = run(t, strings.ReplaceAll(setup32, "HOST", "pae")+"r4 0x0\nw2 0x8002 0\n")
	if got := counter(t, e, "/PGM/Pool/Monitor/RZ/FlushPage"); got != 1 {
		t.Errorf("misaligned: FlushPage = %d, want 1", got)
	}
	// Ordinary entry updates are followed one by one.
	e, _ = run(t, strings.ReplaceAll(setup32, "HOST", "pae")+"r4 0x0\npw4 0x101000 0x1067\npw4 0x101000 0x67\n")
	if got := counter(t, e, "/PGM/Pool/Monitor/R3/Handled"); got != 2 {
		t.Errorf("updates: Handled = %d, want 2", got)
	}
}

func TestNoPAERuntimeError(t *testing.T) {
	const trace = "pgmtrace 1\nram 0 4M\ncpu no-pae\ncr0 0x11\ncr4 0x20\ncr3 0x1000\ncr0 0x80000011\n"
	for _, name := range []string{"ref", "shadow"} {
		t.Run(name, func(t *testing.T) {
			rd, err := traces.NewTextReader(strings.NewReader(trace), "t.txt")
			if err != nil {
				t.Fatal(err)
			}
			var e engine.Engine
			if name == "ref" {
				e, err = engine.NewReference(rd.Header().Config)
			} else {
				e, err = engine.NewShadow(rd.Header().Config)
			}
			if err != nil {
				t.Fatal(err)
			}
			var last error
			for {
				ev, err := rd.Next()
				if err != nil {
					break
				}
				if _, last = e.Apply(ev); last != nil {
					break
				}
			}
			if !errors.Is(last, engine.ErrPAEDisabled) {
				t.Fatalf("error %v, want ErrPAEDisabled", last)
			}
			if m := e.Format().Mode; m != x86.ModeProtected || e.Events() != 3 {
				t.Errorf("after the refused write: mode %v, %d events, want Protected and 3", m, e.Events())
			}
		})
	}
}

func TestPrefetchPage(t *testing.T) {
	// The PDE of setup32 is not accessed yet: prefetching does nothing.
	e, _ := run(t, strings.ReplaceAll(setup32, "HOST", "pae"))
	e.PrefetchPage(0x1000)
	if len(e.ShadowWalk(0x1000)) != 0 {
		t.Error("prefetched through a guest PDE that is not accessed")
	}
	e, _ = run(t, strings.ReplaceAll(setup32, "HOST", "pae")+"r4 0x0\n")
	if steps := e.ShadowWalk(0x8000); steps[len(steps)-1].Entry.Present() {
		t.Fatal("page 8 is synced before the prefetch (outside the fault's window)")
	}
	e.PrefetchPage(0x8000) // accessed guest page: synced without an access
	e.PrefetchPage(0x2000) // not accessed: left alone, the guest's A bit untouched
	if err := e.Check(); err != nil {
		t.Fatal(err)
	}
	if steps := e.ShadowWalk(0x8000); !steps[len(steps)-1].Entry.Present() {
		t.Error("prefetched page is not in the shadow tables")
	}
	if steps := e.ShadowWalk(0x2000); steps[len(steps)-1].Entry.Present() {
		t.Error("a page whose guest entry is not accessed was prefetched")
	}
	if a := e.Memory().Read(0x101008, 4); a&uint64(x86.A) != 0 {
		t.Errorf("prefetch set the guest's accessed bit: %#x", a)
	}
	if s, _ := e.Stats().Lookup("/PGM/RZ/Prefetch"); s.Calls != 2 {
		t.Errorf("Prefetch calls %d, want 2", s.Calls)
	}
}

func TestPhysicalHandlers(t *testing.T) {
	// Page 9 maps an MMIO register file, page 10 a write-watched frame
	// buffer page (in RAM), page 11 a fully watched RAM page.
	devices := `phys-handler mmio 0x1000000 4K uart
phys-handler write 0x200000 8K fb
phys-handler all 0x300000 4K watch
pw4 0x101024 0x01000063
pw4 0x101028 0x00200063
pw4 0x10102c 0x00300063
`
	trace := strings.Replace(strings.ReplaceAll(setup32, "HOST", "pae"), "ram 0 16M\n", "ram 0 16M\nmmio 0x1000000 64K devices\n", 1)
	trace = strings.Replace(trace, "cr3 0x100000\n", devices+"cr3 0x100000\n", 1)
	events := `w4 0x9000 0x41
r4 0x9000
r4 0x9004
w4 0xa010 7
r4 0xa010
phys-handler-off 0x200000 0x200000
w4 0xa010 8
phys-handler-reset 0x200000
w4 0xa014 9
r4 0xb000
phys-unhandler 0x300000
r4 0xb000
`
	e, out := run(t, trace+events)
	n := len(out)
	want := []struct {
		path, handler string
		value         uint64
	}{
		{"handler", "uart", 0}, {"handler", "uart", 0x41}, {"handler", "uart", 0xffffffff},
		{"handler", "fb", 0}, {"", "", 7}, {"", "", 0}, {"", "", 0}, {"", "", 0}, {"handler", "fb", 0},
		{"handler", "watch", 0}, {"", "", 0}, {"", "", 0},
	}
	for i, w := range want {
		o := out[n-len(want)+i]
		if w.path != "" && o.Path.String() != w.path {
			t.Errorf("event %d (%s): path %s, want %s", i, o.Event.Op(), o.Path, w.path)
		}
		if o.Handler != w.handler {
			t.Errorf("event %d (%s): handler %q, want %q", i, o.Event.Op(), o.Handler, w.handler)
		}
		if o.Event.Kind == engine.EvRead && w.value != 0 && o.Value != w.value {
			t.Errorf("event %d (%s): value %#x, want %#x", i, o.Event.Op(), o.Value, w.value)
		}
	}
	hs := e.Handlers() // in address order: fb, uart
	if len(hs) != 2 || hs[0].Name != "fb" || hs[0].Writes != 2 || hs[1].Name != "uart" || hs[1].Reads != 2 {
		for _, h := range hs {
			t.Errorf("handler %+v", *h)
		}
	}
	// The reference CPU calls the same handlers and sees the same guest.
	rd, _ := traces.NewTextReader(strings.NewReader(trace+events), "t")
	ref, _ := engine.NewReference(rd.Header().Config)
	for i := 0; ; i++ {
		ev, err := rd.Next()
		if err != nil {
			break
		}
		o, err := ref.Apply(ev)
		if err != nil {
			t.Fatal(err)
		}
		if got := out[i]; got.OK != o.OK || got.Value != o.Value || got.Handler != o.Handler {
			t.Errorf("event %d %s: shadow %s %q, reference %s %q", i, ev.Op(), traces.AppendOutcomeJSON(nil, &got), got.Handler, traces.AppendOutcomeJSON(nil, &o), o.Handler)
		}
	}
	// Overlapping and misplaced registrations are errors.
	if err := e.RegisterPhysHandler(engine.PhysWrite, 0x201000, 0x2000, "x"); !errors.Is(err, engine.ErrHandlerConflict) {
		t.Errorf("overlap: %v", err)
	}
	if err := e.RegisterPhysHandler(engine.PhysWrite, 0xfff000, 0x2000, "x"); !errors.Is(err, engine.ErrHandlerNoRAM) {
		t.Errorf("across ranges: %v", err)
	}
	if err := e.DeregisterPhysHandler(0x5000); !errors.Is(err, engine.ErrNoHandler) {
		t.Errorf("no handler: %v", err)
	}
	if err := e.ModifyPhysHandler(0x200000, 0x400000, 0x3000); err != nil || e.Handlers()[0].Range.Start != 0x400000 {
		t.Errorf("modify: %v", err)
	}
	if err := e.Check(); err != nil {
		t.Error(err)
	}
}

// A nested TLB entry filled by a read of a clean page must not let a
// later write skip the guest's dirty bit (found by the workload tests).
func TestNestedWriteAfterReadSetsDirty(t *testing.T) {
	e, out := run(t, `pgmtrace 1
ram 0 4M
paging nested
cr0 0x11
pw4 0x100000 0x101003
pw4 0x10100c 0x00003003
pw4 0x101014 0x00003003
cr3 0x100000
cr0 0x80000011
w4 0x3000 0x1
r4 0x5000
w4 0x5004 0x2
pr4 0x101014
`)
	if got := out[len(out)-1].Value; got != 0x3063 {
		t.Errorf("PTE after read then write: %#x, want 0x3063 (accessed and dirty)", got)
	}
	_ = e
}
