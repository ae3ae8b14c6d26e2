package engine_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
	"github.com/pgm-explorer/pgm-explorer/traces"
)

// A guest whose page directory grows into the floating mapping: the
// mapping moves, the guest notices nothing.
func TestMappingConflictRelocates(t *testing.T) {
	for _, host := range []string{"32bit", "pae"} {
		t.Run(host, func(t *testing.T) {
			trace := strings.Replace(strings.ReplaceAll(setup32, "HOST", host), "ram 0 16M\n", "ram 0 16M\nmapping hma 8M\n", 1)
			e, _ := run(t, trace+"r4 0x0\n")
			m := e.Mappings()[0]
			old := m.Base
			if old != 0xff400000 {
				t.Fatalf("mapping placed at %#x, want 0xff400000 (from the top, the last 4 MiB free)", uint64(old))
			}
			// The guest maps a page table right where the mapping is, then
			// uses it: a monitored PD write, then an access.
			pde := uint64(old>>22) * 4
			events := "pw4 " + hex(0x100000+pde) + " 0x101007\nr4 " + hex(uint64(old)) + "\n"
			e2, out := run(t, trace+"r4 0x0\n"+events)
			m = e2.Mappings()[0]
			if m.Base == old {
				t.Fatal("the mapping did not move")
			}
			if last := out[len(out)-1]; !last.OK || last.GPA != 0 {
				t.Errorf("the guest's access through its own table: %s", traces.AppendOutcomeJSON(nil, &last))
			}
			if got := counter(t, e2, "/PGM/R3/DetectedConflicts"); got == 0 {
				t.Error("no conflict counted")
			}
			if _, calls := e2.Stats().Lookup("/PGM/R3/ResolveConflict"); !calls {
				t.Error("no ResolveConflict statistic")
			}
			if hpa, ok := e2.IntermediateWalk(x86.Mode32Bit, m.Base); !ok || hpa == 0 {
				t.Error("the intermediate context does not follow the mapping")
			}
		})
	}
}

// A fixed mapping the guest touches: the access is reflected as a
// not-present page fault, even though the guest's own tables map it.
func TestFixedMappingGuestFault(t *testing.T) {
	trace := strings.Replace(strings.ReplaceAll(setup32, "HOST", "pae"), "ram 0 16M\n", "ram 0 16M\nmapping hma 4M\n", 1)
	trace = strings.Replace(trace, "cr3 0x100000\n", "mappings-fix 0xc00000 4M\ncr3 0x100000\n", 1)
	e, out := run(t, trace+"pw4 0x10000c 0x00c000e7\nr4 0xc00000\nr4 0x0\n")
	if fixed, r := e.MappingsFixed(); !fixed || r.Start != 0xc00000 {
		t.Fatalf("mappings fixed %v at %v", fixed, r)
	}
	hit := out[len(out)-2]
	if hit.OK || hit.Fault.Code != 0 {
		t.Errorf("access inside the fixed mapping: %s, want a not-present fault", traces.AppendOutcomeJSON(nil, &hit))
	}
	if got := counter(t, e, "/PGM/RZ/Trap0e/GuestPF/InMapping"); got != 1 {
		t.Errorf("GuestPF/InMapping = %d", got)
	}
	if !out[len(out)-1].OK {
		t.Error("an access elsewhere failed")
	}
	// Fixing where the guest has tables is refused.
	if err := e.MappingsFix(0, 4<<20); err == nil {
		t.Error("fixed mappings over the guest's own page table")
	}
	e.MappingsUnfix()
	if fixed, _ := e.MappingsFixed(); fixed {
		t.Error("still fixed")
	}
	if err := e.Check(); err != nil {
		t.Error(err)
	}
}

// The intermediate context maps the switcher identity and at its
// hypervisor address, with the same frame, in all three formats.
func TestIntermediateContext(t *testing.T) {
	for _, maps := range []string{"", "mapping hma 8M\n"} {
		trace := strings.Replace(strings.ReplaceAll(setup32, "HOST", "amd64-nx"), "ram 0 16M\n", "ram 0 16M\n"+maps, 1)
		e, _ := run(t, trace)
		code, hyper := e.SwitcherAddr()
		for _, m := range []x86.Mode{x86.Mode32Bit, x86.ModePAE, x86.ModeAMD64} {
			id, ok1 := e.IntermediateWalk(m, x86.GVA(code))
			hv, ok2 := e.IntermediateWalk(m, hyper)
			if !ok1 || !ok2 || id != code || hv != code {
				t.Errorf("%v (%q): identity %v %v, hypervisor %v %v, want %v", m, maps, id, ok1, hv, ok2, code)
			}
			if uint64(e.IntermediateCR3(m)) >= 1<<32 {
				t.Errorf("%v: root above 4 GiB", m)
			}
			// Long mode repeats the low 4 GiB in every 512 GiB slot.
			if m.Long() {
				if far, ok := e.IntermediateWalk(m, hyper+1<<39); !ok || far != code {
					t.Errorf("%v: the 4 GiB do not repeat", m)
				}
			}
			n := 0
			e.VisitIntermediate(m, func(engine.EntryView) bool { n++; return true })
			if n == 0 {
				t.Errorf("%v: nothing to visit", m)
			}
		}
	}
}

func hex(v uint64) string { return "0x" + strings.TrimLeft(strings.ToLower(fmtHex(v)), "0") }

func fmtHex(v uint64) string {
	const digits = "0123456789abcdef"
	var b [16]byte
	for i := 15; i >= 0; i-- {
		b[i] = digits[v&15]
		v >>= 4
	}
	return string(b[:])
}

func TestMappingsInfoAndSavedState(t *testing.T) {
	trace := strings.Replace(strings.ReplaceAll(setup32, "HOST", "pae"), "ram 0 16M\n", "ram 0 16M\nmapping hma 8M\n", 1)
	e, _ := run(t, trace+"r4 0x0\n")
	var b strings.Builder
	e.Info(&b, "map")
	e.Info(&b, "dump", "intermediate", "32bit")
	for _, want := range []string{"The mappings are FLOATING.", "0xff400000 - 0xffbfffff     8M hma", "---[ intermediate context: 32-bit"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("info lacks %q:\n%s", want, b.String())
		}
	}
	// A state saved with the mapping elsewhere puts it back there; a
	// machine without that mapping refuses it.
	if err := e.MappingsFix(0x1000000, 8<<20); err != nil {
		t.Fatal(err)
	}
	var st bytes.Buffer
	if err := traces.SaveState(&st, e); err != nil {
		t.Fatal(err)
	}
	e2, _ := run(t, trace)
	if err := traces.LoadState(e2, st.Bytes()); err != nil {
		t.Fatal(err)
	}
	if fixed, r := e2.MappingsFixed(); !fixed || r.Start != 0x1000000 || e2.Mappings()[0].Base != 0x1000000 {
		t.Errorf("after load: fixed %v %v, base %#x", fixed, r, uint64(e2.Mappings()[0].Base))
	}
	e3, _ := run(t, strings.ReplaceAll(setup32, "HOST", "pae"))
	if err := traces.LoadState(e3, st.Bytes()); !errors.Is(err, engine.ErrStateConfig) {
		t.Errorf("loading into a machine without the mapping: %v", err)
	}
}

// Moving a mapping while another address space is current must not
// leave it at its old place in that space's cached shadow root.
func TestMappingMoveReachesOtherSpaces(t *testing.T) {
	_, out := run(t, `pgmtrace 1
ram 0 16M
mapping hma 8M
cr0 0x11
cr4 0x10
pw4 0x10000 0xe3
pw4 0x20000 0xe3
cr3 0x10000
cr0 0x80000011
r4 0x0
cr3 0x20000
pw4 0x20ff8 0x004000e3
r4 0xff800000
cr3 0x10000
pw4 0x10ff8 0x008000e3
r4 0xff800000
`)
	if last := out[len(out)-1]; !last.OK || last.GPA != 0x800000 {
		t.Errorf("last access: %s", traces.AppendOutcomeJSON(nil, &last))
	}
}

// The first write through a clean 4 MiB page lands in the page directory
// that maps it: the shadow PDE must drop its dirty tracking even though
// the write itself is emulated (the checker in run verifies it).
func TestDirtyBigPageSelfMap(t *testing.T) {
	run(t, "pgmtrace 1\nram 0 16M\ncr0 0x11\ncr4 0x10\npw4 0x10000 0x83\ncr3 0x10000\ncr0 0x80000011\nr4 0x0\nw4 0x10004 0x4000e3\nr4 0x400000\n")
}

// A guest that writes a page directory entry where the mapping floats
// after turning paging on and before its first access: no shadow root
// (so no monitored page directory) exists yet to see the write, and the
// root built for the access must not install the mapping over the
// guest's table (found by the random differential tests: a PAE-NX host,
// a 32-bit guest, a pw4 to its PD between cr0 and the first access).
func TestMappingConflictBeforeFirstRoot(t *testing.T) {
	for _, host := range []string{"32bit", "pae", "pae-nx"} {
		t.Run(host, func(t *testing.T) {
			trace := strings.Replace(strings.ReplaceAll(setup32, "HOST", host), "ram 0 16M\n", "ram 0 16M\nmapping hma 8M\n", 1)
			const old = 0xff400000
			pde := uint64(old>>22) * 4
			e, out := run(t, trace+"pw4 "+hex(0x100000+pde)+" 0x101007\nr4 0x0\nr4 "+hex(old)+"\n")
			if m := e.Mappings()[0]; m.Range().Contains(old) {
				t.Errorf("the mapping stays at %v, over the guest's page table at %#x", m.Range(), old)
			}
			if err := e.Check(); err != nil {
				t.Error(err)
			}
			if last := out[len(out)-1]; !last.OK || last.GPA != 0 {
				t.Errorf("the guest's access through its own table: %s", traces.AppendOutcomeJSON(nil, &last))
			}
		})
	}
}
