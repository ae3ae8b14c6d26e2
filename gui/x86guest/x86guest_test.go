//go:build !js && !wasip1

package x86guest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/gui/app"
	"github.com/pgm-explorer/pgm-explorer/internal/testkit"
	"github.com/pgm-explorer/pgm-explorer/traces/x86live/unicorn"
)

// TestOutcomes opens live x86 guests as the window does (--x86) and
// steps the window's app through every event: the outcomes its engine
// computes, which the panels draw, must be the ones the engine saw while
// it was the guest's MMU in Unicorn. The header the run hands over must
// therefore carry the whole machine (RAM, device, paging): a field
// missing there would make the replay part from the run.
func TestOutcomes(t *testing.T) {
	testkit.NeedUnicorn(t)
	for _, c := range []struct {
		program string
		paging  engine.Paging
	}{
		{"multiproc", engine.PagingShadow},
		{"multiproc", engine.PagingNested},
		{"longmode", engine.PagingShadow},
	} {
		t.Run(c.program+"/"+c.paging.String(), func(t *testing.T) {
			src, run, err := Open(c.program, "", c.paging.String())
			if err != nil {
				t.Fatal(err)
			}
			if len(run.Outcomes) != len(run.Events) || len(run.Events) < 1000 {
				t.Fatalf("the run has %d events and %d outcomes", len(run.Events), len(run.Outcomes))
			}
			a, err := app.New(app.Options{State: app.State{Source: src}})
			if err != nil {
				t.Fatal(err)
			}
			if err := a.Settle(); err != nil {
				t.Fatal(err)
			}
			st := a.Status()
			if st.Total != uint64(len(run.Events)) || st.Paging != c.paging.String() || !strings.Contains(st.Source, "x86 guest in Unicorn") {
				t.Fatalf("opened as %+v, want %d events, %s paging, a title that says what it is", st, len(run.Events), c.paging)
			}
			// The panels keep the latest outcomes; going forward a
			// window of them at a time reads every one exactly once.
			a.Frame()
			recent := a.VizModel().Recent
			if recent == nil {
				t.Fatal("the app's model has no recent outcomes")
			}
			for pos := 0; pos < len(run.Events); {
				a.Seek(uint64(min(pos+recent.Len()+1, len(run.Events))))
				if err := a.Settle(); err != nil {
					t.Fatal(err)
				}
				end := int(a.Status().Event)
				n := min(recent.Len(), end-pos)
				if n <= 0 {
					t.Fatalf("at event %d, %d outcomes kept: no progress", end, recent.Len())
				}
				for i := 0; i < n; i++ {
					got := recent.At(recent.Len() - n + i)
					want := &run.Outcomes[end-n+i]
					if *got != *want {
						t.Fatalf("event %d (%s): the window's engine gives\n  %+v\nthe live run saw\n  %+v", want.Index, want.Event.Op(), *got, *want)
					}
				}
				pos = end
			}
			t.Logf("%d outcomes the same", len(run.Outcomes))
		})
	}
}

// TestErrors: a bad paging is a usage error, a bad program says which
// there are, and a missing Unicorn library says what to install
// (x86live's message). The library is loaded once per process, so the
// missing one is tried in a child process of this test binary, pointed
// at a file that does not exist.
func TestErrors(t *testing.T) {
	if prog := os.Getenv("X86GUEST_CHILD"); prog != "" {
		_, _, err := Open(prog, "", "")
		fmt.Printf("error: %v\n", err)
		return
	}
	var usage *UsageError
	if _, _, err := Open("multiproc", "", "ept"); !errors.As(err, &usage) || !strings.Contains(err.Error(), "want shadow or nested") {
		t.Errorf("--paging ept: %v", err)
	}
	if _, _, err := Open("nosuch", "", ""); !errors.As(err, &usage) || !strings.Contains(err.Error(), "built in: longmode, mmio, modern, multiproc, paging32") {
		t.Errorf("a program that does not exist: %v", err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestErrors$")
	cmd.Env = append(os.Environ(), "X86GUEST_CHILD=multiproc", unicorn.EnvVar+"=/nonexistent/libunicorn.so.2")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if want := "error: libunicorn not found: the live x86 guests need Unicorn >= 2.1; run `make unicorn`"; !strings.Contains(string(out), want) {
		t.Errorf("without the library:\n%s\nwant it to say\n%s", out, want)
	}
}
