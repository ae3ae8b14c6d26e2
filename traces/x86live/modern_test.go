//go:build !js && !wasip1

package x86live

import (
	"fmt"
	"slices"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
	"github.com/pgm-explorer/pgm-explorer/internal/testkit"
	"github.com/pgm-explorer/pgm-explorer/traces"
)

// TestModernGuest: the modern guest's engine run turns on SMEP, SMAP,
// PKE and PCIDE, switches with CR3 bit 63, changes CPL, AC and PKRU as
// events, takes its seven faults with the error codes its handler
// expects, and every outcome of the run is the reference CPU's for the
// same events (shadow and nested paging).
func TestModernGuest(t *testing.T) {
	testkit.NeedUnicorn(t)
	p, err := Builtin("modern")
	if err != nil {
		t.Fatal(err)
	}
	for _, paging := range []engine.Paging{engine.PagingShadow, engine.PagingNested} {
		t.Run(paging.String(), func(t *testing.T) {
			r, err := RunProgram(p, WayEngine, Options{Paging: paging, MaxDuration: testMaxDuration})
			if err != nil {
				t.Fatal(err)
			}
			if r.Regs.GPR[0] != DoneMagic {
				t.Fatalf("the guest ends with eax=%#x, want %#x", r.Regs.GPR[0], DoneMagic)
			}
			var faults []x86.ErrorCode
			var cpls, acs, pkrus []uint64
			keep := 0
			cr4 := uint64(0)
			for i, ev := range r.Events {
				o := r.Outcomes[i]
				switch {
				case ev.Kind.Access() && !o.OK:
					faults = append(faults, o.Fault.Code)
				case ev.Kind == engine.EvCPL:
					cpls = append(cpls, ev.Value)
				case ev.Kind == engine.EvAC:
					acs = append(acs, ev.Value)
				case ev.Kind == engine.EvPKRU:
					pkrus = append(pkrus, ev.Value)
				case ev.Kind == engine.EvCR4:
					cr4 = ev.Value
				case ev.Kind == engine.EvCR3 && ev.Value&x86.CR3NoFlush != 0:
					keep++
				}
			}
			want := []x86.ErrorCode{
				x86.PFPresent | x86.PFFetch,                         // SMEP
				x86.PFPresent,                                       // SMAP read
				x86.PFPresent | x86.PFWrite,                         // SMAP write
				x86.PFPresent | x86.PFWrite | x86.PFPK,              // key 1 WD, supervisor, WP=1
				x86.PFPresent | x86.PFWrite | x86.PFUser | x86.PFPK, // key 1 WD, user
				x86.PFPresent | x86.PFUser | x86.PFPK,               // key 1 AD, user
				x86.PFPresent | x86.PFUser,                          // user read of a supervisor page
			}
			if !slices.Equal(faults, want) {
				t.Errorf("faults %#x, want %#x", faults, want)
			}
			if m := x86.CR4SMEP | x86.CR4SMAP | x86.CR4PKE | x86.CR4PCIDE; cr4&m != m {
				t.Errorf("CR4 ends as %#x, without all of SMEP, SMAP, PKE and PCIDE", cr4)
			}
			if keep != 3 {
				t.Errorf("%d CR3 loads with bit 63, want 3", keep)
			}
			if fmt.Sprint(cpls) != "[3 0 3 0 3 0 3 0]" {
				t.Errorf("cpl events %v: want user mode entered by iretq and left by a fault or int 0x80 four times", cpls)
			}
			if fmt.Sprint(pkrus) != "[8 12 0]" {
				t.Errorf("pkru events %v, want [8 12 0]", pkrus)
			}
			if len(acs) < 10 || acs[0] != 1 {
				t.Errorf("ac events %v: want stac/clac pairs", acs)
			}
			ref, err := engine.NewReference(Config(paging))
			if err != nil {
				t.Fatal(err)
			}
			for i, ev := range r.Events {
				o, err := ref.Apply(ev)
				if err != nil {
					t.Fatalf("reference: event %d %s: %v", i, traces.AppendEvent(nil, ev), err)
				}
				g := r.Outcomes[i]
				if o.OK != g.OK || o.Fault.Code != g.Fault.Code || o.OK && (o.GPA != g.GPA || o.Value != g.Value) {
					t.Fatalf("event %d %s: engine %s, reference %s", i, traces.AppendEvent(nil, ev),
						traces.AppendOutcomeJSON(nil, &g), traces.AppendOutcomeJSON(nil, &o))
				}
			}
		})
	}
}
