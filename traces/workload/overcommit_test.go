package workload

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
)

// pageCounts are the engine's guest page statistics at one moment.
type pageCounts struct{ zero, private, shared, ballooned, replacedShared int }

func countPages(t *testing.T, e *engine.Shadow) pageCounts {
	t.Helper()
	get := func(name string) int {
		s, ok := e.Stats().Lookup(name)
		if !ok {
			t.Fatalf("no statistic %s", name)
		}
		return int(s.Value)
	}
	return pageCounts{get("/PGM/Page/cZeroPages"), get("/PGM/Page/cPrivatePages"), get("/PGM/Page/cSharedPages"),
		get("/PGM/Page/cBalloonedPages"), get("/PGM/R3/Page/ReplacedShared")}
}

// TestOvercommitCounters: the engine's page statistics, read when each
// phase of overcommit begins (at its label), follow what the guest and
// the hypervisor did: reading never-written pages allocates nothing (but
// their page tables), filled pages become private, the sharing scan
// makes all of them shared, each written one is copied, the balloon
// holds what the driver gave and lost what it gave back, and zeroed
// pages go back to the zero page at the next scan.
func TestOvercommitCounters(t *testing.T) {
	for _, params := range []map[string]string{
		{"zero": "64", "share": "24", "balloon": "40", "ram": "4"},
		{"mode": "32bit", "zero": "40", "share": "12", "balloon": "6", "ram": "4"},
		{"mode": "pae", "zero": "300", "share": "9", "balloon": "9", "ram": "4"},
	} {
		t.Run(fmt.Sprint(params), func(t *testing.T) {
			t.Parallel()
			w, err := New("overcommit", 2, params)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			e, err := engine.NewShadow(w.Header().Config)
			if err != nil {
				t.Fatal(err)
			}
			at := map[string]pageCounts{} // phase -> counts when its first label came
			var phases []string
			if _, err := Run(context.Background(), w, e, 0, func(ev engine.Event, o *engine.Outcome) error {
				if ev.Kind != engine.EvLabel {
					return nil
				}
				phase, _, _ := strings.Cut(ev.Text, ":")
				if _, ok := at[phase]; !ok {
					at[phase] = countPages(t, e)
					phases = append(phases, phase)
				}
				if strings.HasPrefix(ev.Text, "sharing: the kernel reads") {
					at["shared"] = countPages(t, e)
				}
				return e.Check()
			}); err != nil {
				t.Fatal(err)
			}
			end := countPages(t, e)
			for _, p := range []string{"zero pages", "sharing", "shared", "copy on write", "ballooning", "working", "deflating", "reclaim", "done"} {
				if _, ok := at[p]; !ok {
					t.Fatalf("no phase %q among %q", p, phases)
				}
			}
			n := func(name string) int { v, _ := strconv.Atoi(params[name]); return v }
			nzero, nshare, nball := n("zero"), n("share"), n("balloon")
			cow, back := cowPages(nshare), deflatePages(nball)
			tables := nzero/512 + 3 // at most, for the on-demand mappings

			zero0, zero1 := at["zero pages"], at["sharing"]
			if d := zero0.zero - zero1.zero; d < 0 || d > tables || zero1.private-zero0.private != d {
				t.Errorf("reading %d never-written pages took %d zero pages (%d private pages more); want only their page tables",
					nzero, d, zero1.private-zero0.private)
			}
			shared := at["shared"]
			if shared.shared != nshare || zero1.private+nshare-shared.private != nshare || shared.zero != zero1.zero-nshare {
				t.Errorf("after the sharing scan: %+v, before filling %+v; want %d more shared pages, no private one more", shared, zero1, nshare)
			}
			c := at["ballooning"]
			if c.shared != nshare-cow || c.replacedShared-shared.replacedShared != cow || c.private-shared.private != cow {
				t.Errorf("after %d copies on write: %+v, before %+v", cow, c, shared)
			}
			if b := at["working"]; b.ballooned != nball || at["deflating"].ballooned != nball {
				t.Errorf("ballooned %d, then %d while the kernel works; want %d", b.ballooned, at["deflating"].ballooned, nball)
			}
			if r := at["reclaim"]; r.ballooned != nball-back {
				t.Errorf("ballooned %d after deflating %d of %d", r.ballooned, back, nball)
			}
			r, d := at["reclaim"], at["done"]
			if work := workPages(nball); d.zero-r.zero != work || r.private-d.private != work {
				t.Errorf("the last scan took %d zeroed pages back (%d private pages fewer), want %d", d.zero-r.zero, r.private-d.private, work)
			}
			if end != d {
				t.Errorf("counts changed after the last label: %+v, then %+v", d, end)
			}
			t.Logf("counts by phase: %v", at)
		})
	}
}
