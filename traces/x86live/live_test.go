//go:build !js && !wasip1

package x86live

import (
	"errors"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/traces/x86live/unicorn"
)

// needUnicorn skips when the library is missing; `make test` installs it
// first (make unicorn), so CI runs these for real.
func needUnicorn(t testing.TB) {
	t.Helper()
	if err := Available(""); err != nil {
		if errors.Is(err, unicorn.ErrNotFound) {
			t.Skipf("no Unicorn library: run `make unicorn` to get one (%v)", err)
		}
		t.Fatal(err)
	}
}

// TestGuestsBothWays runs every guest with Unicorn's MMU and with the
// engine as the MMU, shadow and nested, the invariant checker after every
// engine event, and requires the same observations and final state, and
// that the guest's own checks passed.
func TestGuestsBothWays(t *testing.T) {
	needUnicorn(t)
	for _, name := range Names() {
		for _, paging := range []engine.Paging{engine.PagingShadow, engine.PagingNested} {
			t.Run(name+"/"+paging.String(), func(t *testing.T) {
				t.Parallel()
				p, err := Builtin(name)
				if err != nil {
					t.Fatal(err)
				}
				ref, err := RunProgram(p, WayUnicorn, Options{})
				if err != nil {
					t.Fatalf("reference: %v", err)
				}
				eng, err := RunProgram(p, WayEngine, Options{Paging: paging, Check: true})
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
