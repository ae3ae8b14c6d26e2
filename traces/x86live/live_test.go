//go:build !js && !wasip1

package x86live

import (
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/internal/testkit"
)

// testMaxDuration replaces the default time limit of a run in tests: the
// limit is for a person waiting at a terminal, while under the race
// detector, with the checker after every event and ten runs sharing two
// busy CPUs, a built-in guest can take much longer than 5 s. The
// instruction limit still stops a guest that loops.
const testMaxDuration = 10 * time.Minute

// TestGuestsBothWays runs every guest with Unicorn's MMU and with the
// engine as the MMU, shadow and nested, the invariant checker after every
// engine event, and requires the same observations and final state, and
// that the guest's own checks passed.
func TestGuestsBothWays(t *testing.T) {
	testkit.NeedUnicorn(t)
	for _, name := range Names() {
		for _, paging := range []engine.Paging{engine.PagingShadow, engine.PagingNested} {
			t.Run(name+"/"+paging.String(), func(t *testing.T) {
				t.Parallel()
				p, err := Builtin(name)
				if err != nil {
					t.Fatal(err)
				}
				ref, err := RunProgram(p, WayUnicorn, Options{MaxDuration: testMaxDuration})
				if err != nil {
					t.Fatalf("reference: %v", err)
				}
				eng, err := RunProgram(p, WayEngine, Options{Paging: paging, Check: true, MaxDuration: testMaxDuration})
				if err != nil {
					t.Fatalf("engine: %v", err)
				}
				if ref.Regs.GPR[0] != DoneMagic {
					t.Errorf("reference run ends with eax=%#x, want %#x (the guest's own checks failed)", ref.Regs.GPR[0], DoneMagic)
				}
				if d := Compare(ref, eng); d != nil {
					t.Fatal(d)
				}
				t.Logf("%d instructions, %d accesses, %d faults, %d engine events", eng.Instructions, eng.Accesses, eng.Faults, len(eng.Events))
			})
		}
	}
}

// TestRunaway: a guest that loops forever is stopped by the instruction
// limit or by the time limit, whichever comes first, with ErrRunaway.
func TestRunaway(t *testing.T) {
	testkit.NeedUnicorn(t)
	loop := &Program{Name: "loop", Code: []byte{0xeb, 0xfe}} // jmp $
	for _, tc := range []struct {
		name string
		opt  Options
		want string
	}{
		{"instructions", Options{MaxInstructions: 5000, MaxDuration: time.Hour}, "it ran 5000 instructions, the limit"},
		{"time", Options{MaxInstructions: 1 << 62, MaxDuration: 300 * time.Millisecond}, "in 300ms, the time limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, way := range []Way{WayUnicorn, WayEngine} {
				start := time.Now()
				_, err := RunProgram(loop, way, tc.opt)
				if !errors.Is(err, ErrRunaway) || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%v way: %v; want ErrRunaway saying %q", way, err, tc.want)
				}
				if el := time.Since(start); el > 3*time.Second {
					t.Errorf("%v way: stopped after %v", way, el)
				}
			}
		})
	}
}

// TestAssembleIncludes: a source that includes a file beside it
// assembles from any working directory (nasm gets the source's own
// directory as include path), to the same bytes as the built-in guest.
func TestAssembleIncludes(t *testing.T) {
	if _, err := exec.LookPath("nasm"); err != nil {
		t.Skip("no nasm: run `make x86-guests`")
	}
	src, err := filepath.Abs("guests/multiproc.asm")
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	code, err := Assemble(src)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Builtin("multiproc")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(code, p.Code) {
		t.Errorf("assembled %d bytes, differ from the built-in guest's %d", len(code), len(p.Code))
	}
}
