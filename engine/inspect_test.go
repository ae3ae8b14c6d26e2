package engine_test

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/phys"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
	"github.com/pgm-explorer/pgm-explorer/traces"
	"github.com/pgm-explorer/pgm-explorer/traces/samples"
)

func TestInspection(t *testing.T) {
	e, _ := run(t, strings.ReplaceAll(setup32, "HOST", "pae")+"r4 0x0\nw4 0x1000 5\nr4 0x400000\n")
	var guestLeaves, shadowLeaves, tracked int
	e.VisitGuest(1<<20, func(v engine.EntryView) bool {
		if v.Leaf {
			guestLeaves++
		}
		return true
	})
	e.VisitShadow(func(v engine.EntryView) bool {
		if v.Leaf {
			shadowLeaves++
			if v.VA < 0x400000 && v.GPA != x86.GPA(v.VA) {
				t.Errorf("shadow leaf %#x maps guest page %v, want identity", uint64(v.VA), v.GPA)
			}
		}
		if v.TrackDirty {
			tracked++
		}
		return true
	})
	if guestLeaves != 7+2 { // seven PTEs and two big pages
		t.Errorf("%d guest leaves, want 9", guestLeaves)
	}
	if shadowLeaves == 0 || shadowLeaves > 9+512 {
		t.Errorf("%d shadow leaves", shadowLeaves)
	}
	sum := e.Pool()
	users := 0
	e.VisitPool(func(p engine.PoolPageView) bool {
		if p.Kind != engine.KindFree {
			users += p.Users
			if p.Age < 0 {
				t.Errorf("pool page %d in use without an age", p.Index)
			}
		}
		return true
	})
	if sum.Used == 0 || sum.Used > sum.Size || users < sum.Used {
		t.Errorf("pool summary %+v, %d users", sum, users)
	}
	if n := len(e.ShadowWalk(0x1000)); n != e.ShadowFormat().N {
		t.Errorf("shadow walk of a synced page has %d steps, want %d", n, e.ShadowFormat().N)
	}
	w := e.GuestWalk(0x1000, x86.Access{Kind: x86.Read})
	if !w.OK() || w.GPA != 0x1000 {
		t.Errorf("guest walk %v", w.Fault)
	}
	tlb := 0
	e.VisitTLB(func(v engine.TLBView) bool { tlb++; return true })
	if tlb == 0 {
		t.Error("no TLB entries after three accesses")
	}
	// The budget bounds a visit of looping tables.
	n := 0
	e.VisitGuest(3, func(engine.EntryView) bool { n++; return true })
	if n != 3 {
		t.Errorf("visited %d entries with a budget of 3", n)
	}
}

// TestVisitShadowTable reads every shadow table one at a time and finds
// exactly what the whole-tree visit reports.
func TestVisitShadowTable(t *testing.T) {
	for _, host := range []string{"32bit", "pae", "amd64"} {
		e, _ := run(t, strings.ReplaceAll(setup32, "HOST", host)+"r4 0x0\nw4 0x1000 5\nr4 0x400000\n")
		var all []engine.EntryView
		type table struct {
			depth int
			base  uint64
		}
		tables := map[uint64]table{}
		e.VisitShadow(func(v engine.EntryView) bool {
			all = append(all, v)
			if _, ok := tables[v.Table]; !ok {
				// The first entry's address, less its index, is where
				// the table starts.
				lv := e.ShadowFormat().Levels[v.Depth]
				tables[v.Table] = table{v.Depth, uint64(v.VA) - uint64(v.Index)<<lv.Shift}
			}
			return true
		})
		n := 0
		for hpa, tb := range tables {
			ok := e.VisitShadowTable(x86.HPA(hpa), tb.depth, tb.base, func(v engine.EntryView) bool {
				found := false
				for _, w := range all {
					found = found || w == v
				}
				if !found {
					t.Errorf("%s: entry %+v of table %#x not in the whole visit", host, v, hpa)
				}
				n++
				return true
			})
			if !ok {
				t.Errorf("%s: table %#x is not a pool page", host, hpa)
			}
		}
		if n != len(all) {
			t.Errorf("%s: %d entries table by table, %d in the whole visit", host, n, len(all))
		}
		if e.VisitShadowTable(0x1234000, 0, 0, func(engine.EntryView) bool { return true }) {
			t.Errorf("%s: a page outside the pool reads as a table", host)
		}
	}
}

// TestPoolHistory checks the pool pages' history the UI flashes: which
// event allocated a page, which freed it and why.
func TestPoolHistory(t *testing.T) {
	// A 16-page pool and 32 guest page tables, each mapping one page:
	// touching all of them evicts, and a CR4 change flushes.
	var b strings.Builder
	b.WriteString("pgmtrace 1\nram 0 16M\nhost 32bit\npool 16\n")
	for i := 0; i < 32; i++ {
		pt := 0x200000 + i*0x1000
		fmt.Fprintf(&b, "pw4 %#x %#x\n", 0x100000+i*4, pt|7)
		fmt.Fprintf(&b, "pw4 %#x %#x\n", pt, 0x400000+i*0x1000|7)
	}
	b.WriteString("cr3 0x100000\ncr0 0x80010011\n")
	for i := 0; i < 32; i++ {
		fmt.Fprintf(&b, "r4 %#x\n", i<<22)
	}
	e, out := run(t, b.String())
	last := map[uint64]engine.Outcome{}
	for _, o := range out {
		last[o.Index+1] = o
	}
	evicted := 0
	e.VisitPool(func(p engine.PoolPageView) bool {
		if p.Kind != engine.KindFree {
			if o, ok := last[p.AllocatedAt]; !ok || !o.Event.Kind.Access() && o.Event.Kind != engine.EvCR0 {
				t.Errorf("page %d (%v) allocated at %d, not by an access or CR0 write", p.Index, p.Kind, p.AllocatedAt)
			}
		}
		if p.FreedBy == engine.FreeEvicted {
			evicted++
			if o := last[p.FreedAt]; o.Notes&engine.NotePoolEvict == 0 {
				t.Errorf("page %d evicted at %d, whose outcome has no eviction note", p.Index, p.FreedAt)
			}
		}
		return true
	})
	if evicted == 0 {
		t.Error("no page evicted by 32 page tables in a 16-page pool")
	}
	o, err := e.Apply(engine.Event{Kind: engine.EvCR4, Value: x86.CR4PSE})
	if err != nil {
		t.Fatal(err)
	}
	if o.Notes&engine.NotePoolFlush == 0 {
		t.Fatal("a CR4.PSE change did not flush the pool")
	}
	e.VisitPool(func(p engine.PoolPageView) bool {
		if p.Kind != engine.KindFree && p.AllocatedAt != o.Index+1 {
			t.Errorf("page %d (%v) in use after the flush, allocated at %d", p.Index, p.Kind, p.AllocatedAt)
		}
		if p.Kind == engine.KindFree && (p.FreedBy != engine.FreeFlushed || p.FreedAt != o.Index+1) {
			t.Errorf("page %d after the flush: freed by %v at %d, want flushed at %d", p.Index, p.FreedBy, p.FreedAt, o.Index+1)
		}
		return true
	})
}

// TestInspectionChangesNothing: every inspection call, and the checkers,
// leave the statistics (the /PGM tree and guest memory's counters) and
// the saved state exactly as they were, on sample guests whose tables
// sit in pages the page TLB does not hold and next to devices.
func TestInspectionChangesNothing(t *testing.T) {
	for _, name := range []string{"multiprocess.txt", "devices.txt", "mapping-conflict.txt"} {
		t.Run(name, func(t *testing.T) {
			data, err := samples.Read(name)
			if err != nil {
				t.Fatal(err)
			}
			e, _ := run(t, string(data))
			snapshot := func() (string, []uint64, phys.Stats) {
				var b bytes.Buffer
				if err := traces.SaveState(&b, e); err != nil {
					t.Fatal(err)
				}
				return b.String(), e.Stats().AppendValues(nil), e.Memory().Stats()
			}
			state, st, mst := snapshot()
			var vas []x86.GVA
			e.VisitGuest(1<<16, func(v engine.EntryView) bool {
				if v.Leaf {
					vas = append(vas, v.VA, v.VA+x86.GVA(v.Covers)-1)
				}
				return true
			})
			vas = append(vas, 0, 0xdead0000, 0xffffffff)
			for _, va := range vas {
				for _, k := range []x86.AccessKind{x86.Read, x86.Write, x86.Fetch} {
					e.GuestWalk(va, x86.Access{Kind: k, User: true})
				}
				e.ShadowWalk(va)
			}
			e.VisitShadow(func(v engine.EntryView) bool {
				if !v.Leaf {
					hpa := x86.HPA(uint64(v.Entry) & e.ShadowFormat().Levels[v.Depth].FrameMask)
					e.VisitShadowTable(hpa, v.Depth+1, uint64(v.VA), func(engine.EntryView) bool { return true })
				}
				return true
			})
			e.VisitPool(func(engine.PoolPageView) bool { return true })
			e.VisitTLB(func(engine.TLBView) bool { return true })
			e.Pool()
			if err := e.Check(); err != nil {
				t.Fatal(err)
			}
			if err := e.CheckTouched(); err != nil {
				t.Fatal(err)
			}
			state2, st2, mst2 := snapshot()
			if state2 != state {
				t.Error("the saved state changed")
			}
			if !slices.Equal(st, st2) {
				for i := range st {
					if st[i] != st2[i] {
						t.Errorf("statistic %d changed: %d -> %d", i, st[i], st2[i])
					}
				}
			}
			if mst != mst2 {
				t.Errorf("guest memory counters changed:\n%+v\n%+v", mst, mst2)
			}
			if len(vas) < 10 {
				t.Errorf("only %d addresses walked", len(vas))
			}
		})
	}
}
