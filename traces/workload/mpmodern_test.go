package workload

import (
	"strings"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
)

// TestMultiprocessModern: the pcid and smap parameters make a run use
// what they promise (TestWellBehaved checks the same runs against the
// reference CPU): bit-63 switches, PCIDs recycled with invpcid, CR3
// loads that flush, stac/clac brackets around kernel accesses to user
// memory, and the deliberate SMAP and SMEP faults with their error codes.
func TestMultiprocessModern(t *testing.T) {
	params := map[string]string{"pcid": "true", "smap": "true", "procs": "4", "quantum": "8", "ram": "8", "heap": "16"}
	var keep, flush, inv1, inv0, ac1, smapFaults, smepFaults int
	for _, seed := range []uint64{1, 2} {
		r := liveRun(t, "multiprocess", seed, params, 3000)
		cr4 := uint64(0)
		for i, ev := range r.events {
			o := r.outcomes[i]
			switch {
			case ev.Kind == engine.EvCR4:
				cr4 = ev.Value
			case ev.Kind == engine.EvCR3 && ev.Value&x86.CR3NoFlush != 0:
				keep++
			case ev.Kind == engine.EvCR3 && cr4&x86.CR4PCIDE != 0 && ev.Value&x86.CR3PCID != 0:
				flush++
			case ev.Kind == engine.EvInvpcid && ev.Size == 1:
				inv1++
			case ev.Kind == engine.EvInvpcid && ev.Size == 0:
				inv0++
			case ev.Kind == engine.EvAC && ev.Value == 1:
				ac1++
			case ev.Kind == engine.EvRead && !o.OK && o.Fault.Code == x86.PFPresent:
				smapFaults++
				if !strings.Contains(r.events[i-1].Text, "SMAP") {
					t.Errorf("seed %d: event %d: a supervisor read fault %#x not announced as the SMAP bug", seed, i, uint32(o.Fault.Code))
				}
			case ev.Kind == engine.EvExec && !o.OK && o.Fault.Code == x86.PFPresent|x86.PFFetch && ev.Addr < 0x800000000000:
				smepFaults++
			}
		}
		if cr4&(x86.CR4PCIDE|x86.CR4SMEP|x86.CR4SMAP) != x86.CR4PCIDE|x86.CR4SMEP|x86.CR4SMAP {
			t.Errorf("seed %d: CR4 %#x lacks PCIDE, SMEP or SMAP", seed, cr4)
		}
	}
	counts := map[string]int{"cr3 with bit 63": keep, "cr3 without bit 63 under PCIDE": flush, "invpcid 1": inv1,
		"invpcid 0": inv0, "ac 1": ac1, "SMAP faults": smapFaults, "SMEP faults": smepFaults}
	for what, n := range counts {
		if n == 0 {
			t.Errorf("no %s in 2 x 3000 events", what)
		}
	}
	t.Logf("%v", counts)
}

// TestMultiprocessPCIDNeedsLongMode: PCIDs exist only in IA-32e mode.
func TestMultiprocessPCIDNeedsLongMode(t *testing.T) {
	for _, mode := range []string{"32bit", "pae"} {
		if _, err := New("multiprocess", 1, map[string]string{"mode": mode, "pcid": "true"}); err == nil ||
			!strings.Contains(err.Error(), "pcid=true needs mode=long") {
			t.Errorf("mode=%s pcid=true: error %v", mode, err)
		}
	}
}
