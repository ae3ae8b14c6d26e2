package workload

import (
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
	"github.com/pgm-explorer/pgm-explorer/traces"
)

// TestDevicesHandlers: every outcome of the devices workload names the
// handler it called, and only that one: the UART for every access to its
// MMIO page, the frame buffer for writes to its pages not turned off
// since the last reset, the virtual handler for writes reaching the
// frame its code page maps at that moment (through any address). The
// expectations are rebuilt from the events alone, with the reference
// CPU's walk of the guest tables for the watched page; the reference
// CPU and replays on other configurations name the same handlers.
func TestDevicesHandlers(t *testing.T) {
	for _, mode := range []string{"long", "32bit", "pae"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			r := plainRun(t, "devices", 5, map[string]string{"mode": mode, "steps": "50", "ram": "4", "refresh": "4", "fb": "4"})
			checkDeviceHandlers(t, r)
			for _, edit := range []func(*engine.Config){
				func(c *engine.Config) { c.Host = engine.Host32Bit },
				func(c *engine.Config) { c.Paging = engine.PagingNested },
			} {
				cfg := r.header.Config
				edit(&cfg)
				e, err := engine.NewShadow(cfg)
				if err != nil {
					t.Fatal(err)
				}
				for i, ev := range r.events {
					o, err := e.Apply(ev)
					if err != nil {
						t.Fatal(err)
					}
					if o.Handler != r.outcomes[i].Handler || !sameOutcome(o, r.outcomes[i]) {
						t.Fatalf("host %v paging %v: event %d %s: %s, live %s", cfg.Host, cfg.Paging, i,
							traces.AppendEvent(nil, ev), traces.AppendOutcomeJSON(nil, &o), traces.AppendOutcomeJSON(nil, &r.outcomes[i]))
					}
				}
			}
		})
	}
}

// plainRun records a whole workload live on the shadow engine of its
// header, without the invariant checker (TestWellBehaved runs it).
func plainRun(t *testing.T, name string, seed uint64, params map[string]string) run {
	t.Helper()
	w, err := New(name, seed, params)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r := run{header: w.Header()}
	if r.eng, err = engine.NewShadow(r.header.Config); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(t.Context(), w, r.eng, 0, func(ev engine.Event, o *engine.Outcome) error {
		r.events, r.outcomes = append(r.events, ev), append(r.outcomes, *o)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return r
}

func checkDeviceHandlers(t *testing.T, r run) {
	t.Helper()
	ref, err := engine.NewReference(r.header.Config)
	if err != nil {
		t.Fatal(err)
	}
	var mmio x86.GPARange
	for _, rs := range r.header.Config.Ranges {
		if rs.Type == phys.TypeMMIO {
			mmio, _ = x86.MakeRange(rs.Start, rs.Size)
		}
	}
	var (
		fb       x86.GPARange // the frame buffer's handler, while registered
		fbOff    = map[x86.GPA]bool{}
		watchVA  x86.GVA // the virtual handler's page, while registered
		watching bool
		frames   = map[x86.GPA]bool{} // frames the watched page mapped
		count    = map[string]int{}
		offHits  int // writes to frame-buffer pages turned off
		aliases  int // writes calling the virtual handler through another page
	)
	for i, ev := range r.events {
		var watched x86.GPA = 1 // no page
		if watching {
			if w := ref.GuestWalk(watchVA, x86.Access{Kind: x86.Read}); w.OK() {
				watched = x86.PageDown(w.GPA)
				frames[watched] = true
			}
		}
		o, err := ref.Apply(ev)
		if err != nil {
			t.Fatal(err)
		}
		live := r.outcomes[i]
		if !sameOutcome(live, o) {
			t.Fatalf("event %d %s: live %s, reference %s", i, traces.AppendEvent(nil, ev), traces.AppendOutcomeJSON(nil, &live), traces.AppendOutcomeJSON(nil, &o))
		}
		if o.Handler != live.Handler {
			t.Fatalf("event %d %s: live calls %q, the reference CPU %q", i, traces.AppendEvent(nil, ev), live.Handler, o.Handler)
		}
		want := ""
		if k := ev.Kind; live.OK && (k.Access() || k == engine.EvPhysRead || k == engine.EvPhysWrite) {
			write := k == engine.EvWrite || k == engine.EvPhysWrite
			switch gpa := live.GPA; {
			case mmio.Contains(gpa):
				want = uartName
			case write && fb.Contains(gpa) && !fbOff[x86.PageDown(gpa)]:
				want = fbName
			case write && x86.PageDown(gpa) == watched:
				want = patchName
				if x86.PageDown(x86.GVA(ev.Addr)) != watchVA {
					aliases++
				}
			case write && fb.Contains(gpa):
				offHits++
			}
		}
		if live.Handler != want {
			t.Fatalf("event %d %s (gpa %#x): handler %q, want %q", i, traces.AppendEvent(nil, ev), uint64(live.GPA), live.Handler, want)
		}
		count[want]++
		switch ev.Kind {
		case engine.EvPhysHandler:
			if ev.Text == fbName {
				fb, _ = x86.MakeRange(x86.GPA(ev.Addr), ev.Value)
			}
		case engine.EvPhysHandlerOff:
			fbOff[x86.GPA(ev.Value)] = true
		case engine.EvPhysHandlerReset:
			clear(fbOff)
		case engine.EvPhysUnhandler:
			fb = x86.GPARange{}
		case engine.EvVirtHandler:
			watchVA, watching = x86.GVA(ev.Addr), true
		case engine.EvVirtUnhandler:
			watching = false
		}
	}
	t.Logf("handler calls %v; %d writes to frame-buffer pages turned off; %d patches through an alias; the code page mapped %d frames",
		count, offHits, aliases, len(frames))
	switch {
	case count[uartName] == 0 || count[fbName] == 0 || count[patchName] == 0:
		t.Errorf("a device was never called: %v", count)
	case offHits == 0:
		t.Error("no write to a frame-buffer page whose handler was off")
	case aliases == 0:
		t.Error("no patch through the direct map")
	case len(frames) < 2:
		t.Error("the watched code page never moved")
	}
}
