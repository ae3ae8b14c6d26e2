package engine_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
	"github.com/pgm-explorer/pgm-explorer/traces"
)

func evAC(v uint64) engine.Event   { return engine.Event{Kind: engine.EvAC, Value: v} }
func evPKRU(v uint64) engine.Event { return engine.Event{Kind: engine.EvPKRU, Value: v} }
func evInvpcid(typ uint8, pcid, va uint64) engine.Event {
	return engine.Event{Kind: engine.EvInvpcid, Size: typ, Value: pcid, Addr: va}
}

// bothEngines runs f on the reference CPU and on the shadow engine.
func bothEngines(t *testing.T, f func(t *testing.T, e engine.Engine)) {
	t.Run("ref", func(t *testing.T) { f(t, newTestRef(t, refRAMConfig())) })
	t.Run("shadow", func(t *testing.T) {
		s, err := engine.NewShadow(refRAMConfig())
		if err != nil {
			t.Fatal(err)
		}
		f(t, s)
	})
}

func applyAll(t *testing.T, e engine.Engine, evs ...engine.Event) {
	t.Helper()
	for _, ev := range evs {
		if _, err := e.Apply(ev); err != nil {
			t.Fatalf("%s: %v", ev.Op(), err)
		}
	}
}

// TestACAndPKRUResetAndSnapshots: ac and pkru set the registers, a
// machine reset clears both, and a snapshot keeps them.
func TestACAndPKRUResetAndSnapshots(t *testing.T) {
	bothEngines(t, func(t *testing.T, e engine.Engine) {
		applyAll(t, e, evAC(1), evPKRU(0xdeadbeef), engine.Event{Kind: engine.EvSave, Text: "s"})
		if r := e.Regs(); !r.AC || r.PKRU != 0xdeadbeef {
			t.Fatalf("regs %+v", r)
		}
		applyAll(t, e, engine.Event{Kind: engine.EvReset})
		if r := e.Regs(); r.AC || r.PKRU != 0 {
			t.Fatalf("after reset: AC %v PKRU %#x", r.AC, r.PKRU)
		}
		applyAll(t, e, engine.Event{Kind: engine.EvRestore, Text: "s"})
		if r := e.Regs(); !r.AC || r.PKRU != 0xdeadbeef {
			t.Fatalf("after restore: AC %v PKRU %#x", r.AC, r.PKRU)
		}
		applyAll(t, e, evAC(0))
		if e.Regs().AC {
			t.Fatal("ac 0 left AC set")
		}
	})
}

// TestModernSavedState: Save and Load keep AC, PKRU and the PCID.
func TestModernSavedState(t *testing.T) {
	a, _ := engine.NewShadow(refRAMConfig())
	applyAll(t, a, refSetupLong...)
	applyAll(t, a, evCR(engine.EvCR4, 0x720020|1<<17), evCR(engine.EvCR3, 1<<63|0x1009), evAC(1), evPKRU(0x55))
	var buf bytes.Buffer
	if err := traces.SaveState(&buf, a); err != nil {
		t.Fatal(err)
	}
	b, _ := engine.NewShadow(refRAMConfig())
	if err := traces.LoadState(b, buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	if ra, rb := a.Regs(), b.Regs(); ra != rb || rb.PCID() != 9 || !rb.AC || rb.PKRU != 0x55 {
		t.Fatalf("loaded %+v, saved %+v", rb, ra)
	}
}

// TestInvpcidGPIsTraceError: INVPCID's #GP rules that depend on the
// state are errors from Apply that leave everything unchanged.
func TestInvpcidGPIsTraceError(t *testing.T) {
	long := refSetupLong
	pcid := evConcat(refSetupLong, evList(evCR(engine.EvCR4, 0x20|1<<17)))
	for _, c := range []struct {
		name  string
		setup []engine.Event
		bad   engine.Event
		why   string
	}{
		{"type 0 non-canonical", long, evInvpcid(0, 0, 0x0000_8000_0000_0000), "non-canonical"},
		{"type 0 non-canonical with PCIDE", pcid, evInvpcid(0, 3, 0xffff_0000_0000_0000), "non-canonical"},
		{"type 0 PCID without PCIDE", long, evInvpcid(0, 1, 0x1000), "PCIDE is 0"},
		{"type 1 PCID without PCIDE", nil, evInvpcid(1, 4095, 0), "PCIDE is 0"},
		{"type 4", pcid, evInvpcid(4, 0, 0), "type 4 is above 3"},
		{"PCID 4096", pcid, evInvpcid(2, 4096, 0), "above 0xfff"},
	} {
		t.Run(c.name, func(t *testing.T) {
			bothEngines(t, func(t *testing.T, e engine.Engine) {
				applyAll(t, e, c.setup...)
				regs, n := e.Regs(), e.Events()
				_, err := e.Apply(c.bad)
				if err == nil || !strings.Contains(err.Error(), c.why) || !strings.Contains(err.Error(), "#GP") {
					t.Fatalf("Apply(%+v) = %v, want a #GP naming %q", c.bad, err, c.why)
				}
				var ie *x86.InvpcidError
				if c.bad.Size <= 3 && c.bad.Value <= engine.MaxPCID && !errors.As(err, &ie) {
					t.Errorf("error %v (%T) is not an *x86.InvpcidError", err, err)
				}
				if e.Regs() != regs || e.Events() != n {
					t.Errorf("state changed")
				}
			})
		})
	}
	// The legal neighbours.
	bothEngines(t, func(t *testing.T, e engine.Engine) {
		applyAll(t, e, long...)
		applyAll(t, e, evInvpcid(0, 0, 0x7fff_ffff_f000), evInvpcid(1, 0, 0), evInvpcid(2, 4095, 0), evInvpcid(3, 77, 1<<63))
		applyAll(t, e, evCR(engine.EvCR4, 0x20|1<<17), evInvpcid(0, 4095, 0xffff_8000_0000_0000), evInvpcid(1, 12, 0))
	})
}

// TestModernTraceEveryConfig replays the hand-checked trace of SMEP,
// SMAP, keys and PCIDs through every host mode, nested paging, EPT and
// a small pool, against the reference CPU.
func TestModernTraceEveryConfig(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(refTestdataDir, "modern.txt"))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := traces.NewTextReader(bytes.NewReader(data), "modern.txt")
	if err != nil {
		t.Fatal(err)
	}
	var evs []engine.Event
	for {
		ev, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	base := tr.Header().Config
	hosts := []engine.HostMode{engine.Host32Bit, engine.HostPAE, engine.HostPAENX, engine.HostAMD64, engine.HostAMD64NX, engine.HostAMD64GlobNX}
	for _, host := range hosts {
		for _, pool := range []int{16, 1024} {
			cfg := base
			cfg.Host, cfg.PoolPages = host, pool
			t.Run(fmt.Sprintf("%s/pool%d", host.TraceName(), pool), func(t *testing.T) {
				e, err := engine.NewShadow(cfg)
				if err != nil {
					t.Fatal(err)
				}
				differ(t, cfg, evs, e, checked(e, *diffFull))
			})
		}
	}
	for _, paging := range []engine.Paging{engine.PagingNested, engine.PagingEPT} {
		cfg := base
		cfg.Paging, cfg.PoolPages = paging, 16
		t.Run(paging.String(), func(t *testing.T) {
			e, err := engine.NewShadow(cfg)
			if err != nil {
				t.Fatal(err)
			}
			differ(t, cfg, evs, e, checked(e, *diffFull))
		})
	}
}

// TestVisitTLBPCIDAndKey: the TLB view shows the PCID an entry was filled
// under and a user page's protection key.
func TestVisitTLBPCIDAndKey(t *testing.T) {
	s, err := engine.NewShadow(refRAMConfig())
	if err != nil {
		t.Fatal(err)
	}
	applyAll(t, s, refSetupLong...)
	applyAll(t, s, evPW8(0x4000, 0x1800000000010007), evInvlpg(0), evPW8(0x4008, 0x11003), evInvlpg(0x1000),
		evCR(engine.EvCR4, 0x20|1<<17|1<<22), evCR(engine.EvCR3, 0x1005), evR(8, 0x1000), evCPL(3), evR(8, 0))
	got := map[x86.GVA]engine.TLBView{}
	s.VisitTLB(func(v engine.TLBView) bool { got[v.VA] = v; return true })
	if v, ok := got[0]; !ok || v.PCID != 5 || v.Key != 3 {
		t.Errorf("user page: %+v (present %v), want PCID 5 key 3", v, ok)
	}
	if v, ok := got[0x1000]; !ok || v.PCID != 5 || v.Key != -1 {
		t.Errorf("supervisor page: %+v (present %v), want PCID 5 key -1", v, ok)
	}
}
