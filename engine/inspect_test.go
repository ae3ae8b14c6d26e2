package engine_test

import (
	"strings"
	"testing"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
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
