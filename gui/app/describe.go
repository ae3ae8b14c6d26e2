package app

import (
	"fmt"
	"strings"

	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
	"github.com/pgm-explorer/pgm-explorer/viz"
)

func xva(a uint64) x86.GVA { return x86.GVA(a) }

// hasVA reports whether events of kind k name a virtual address.
func hasVA(k engine.EventKind) bool { return k.Access() || k == engine.EvInvlpg }

// recentOutcome is the outcome of event n if the event log still has it.
func (a *App) recentOutcome(n uint64) *engine.Outcome {
	rc := a.p.recent
	for i := rc.Len() - 1; i >= 0; i-- {
		if o := rc.At(i); o.Index == n {
			return o
		}
	}
	return nil
}

// describe is the tooltip of a hit: a title line and details.
func (a *App) describe(id viz.HitID) []string {
	u := &a.ui
	eng := a.p.eng
	switch id.Kind {
	case viz.HitEntry:
		var lines []string
		lines = append(lines, fmt.Sprintf("%s %v entry %d", id.Hier, id.Level, id.Index))
		lines = append(lines, fmt.Sprintf("table  %#x", id.Table))
		what := "virtual"
		if id.Hier == viz.HierNested {
			what = "guest-physical"
		}
		lines = append(lines, fmt.Sprintf("covers %s %#x…", what, id.Addr))
		if v, ok := a.findEntry(id); ok {
			f := eng.Format()
			if id.Hier != viz.HierGuest {
				f = eng.ShadowFormat()
			}
			lines = append(lines, entryLines(v, f.Mode.Long())...)
		} else {
			lines = append(lines, "not present")
		}
		if id.Hier != viz.HierNested {
			lines = append(lines, "click: follow this address")
		}
		return lines
	case viz.HitGuestPage:
		l := []string{fmt.Sprintf("guest-physical page %#x", id.Addr)}
		if id.Count > 1 {
			l[0] = fmt.Sprintf("guest-physical pages %#x…", id.Addr)
			l = append(l, fmt.Sprintf("%d pages in this cell", id.Count))
		}
		return l
	case viz.HitPoolPage:
		var l []string
		eng.VisitPool(func(v engine.PoolPageView) bool {
			if int(v.Index) != id.Index {
				return true
			}
			l = append(l, fmt.Sprintf("shadow pool page %d: %v", v.Index, v.Kind))
			if v.Kind != engine.KindFree {
				l = append(l, fmt.Sprintf("host-physical %#x", uint64(v.HPA)))
				l = append(l, fmt.Sprintf("mirrors guest %#x", uint64(v.Key)))
				l = append(l, fmt.Sprintf("%d present entries, %d users", v.Present, v.Users))
				if v.Age >= 0 {
					l = append(l, fmt.Sprintf("age %d (0: used most recently)", v.Age))
				}
				if v.Monitored {
					l = append(l, fmt.Sprintf("guest page write-monitored, %d writes", v.Mods))
				}
			}
			return false
		})
		if l == nil {
			l = []string{fmt.Sprintf("shadow pool page %d: not allocated yet", id.Index)}
		}
		return l
	case viz.HitCounter:
		l := []string{"statistic " + id.Name}
		if s, ok := eng.Stats().Lookup(id.Name); ok && s.Desc != "" {
			l = append(l, wrap(viz.FaceMono, a.ui.small+1, a.ui.px(520), s.Desc)...)
		}
		if a.counter == id.Name {
			return append(l, "click: stop showing where it changed")
		}
		return append(l, "click: show on the timeline where it changed")
	case viz.HitTimeline:
		l := []string{fmt.Sprintf("event %d", id.Event), "click or drag: go there"}
		for _, lab := range a.p.labels {
			if lab.Event >= id.Event {
				l = append(l, "next label at "+group(lab.Event)+": "+fit(viz.FaceMono, u.small+1, 480, lab.Text))
				break
			}
		}
		return l
	case viz.HitOutcome:
		o := a.recentOutcome(id.Event)
		if o == nil || !hasVA(o.Event.Kind) {
			return []string{fmt.Sprintf("event %d", id.Event)}
		}
		l := []string{fmt.Sprintf("event %d at %#x", id.Event, id.Addr)}
		if !o.OK && o.Fault.IsPF() {
			// The fault in words: which rule refused the access.
			l = append(l, fmt.Sprintf("%v: %s", o.Fault, o.Fault.Reason()))
		}
		return append(l, "click: follow this address")
	case viz.HitWalkLevel:
		return []string{fmt.Sprintf("%s walk, %v entry %d", id.Hier, id.Level, id.Index)}
	}
	return nil
}

// findEntry looks the entry up in its hierarchy.
func (a *App) findEntry(id viz.HitID) (engine.EntryView, bool) {
	var found engine.EntryView
	ok := false
	visit := func(v engine.EntryView) bool {
		if v.Table == id.Table && v.Index == id.Index {
			found, ok = v, true
			return false
		}
		return true
	}
	switch id.Hier {
	case viz.HierGuest:
		a.p.eng.VisitGuest(1<<16, visit)
	case viz.HierShadow:
		a.p.eng.VisitShadow(visit)
	}
	return found, ok
}

// entryLines decodes an entry: its value, its flags spelled out and
// where it points.
// entryLines describes an entry; keys says its format has protection
// keys (IA-32e), which a leaf then shows when not 0.
func entryLines(v engine.EntryView, keys bool) []string {
	e := v.Entry
	var on []string
	for _, f := range []struct {
		bit  x86.Flag
		name string
	}{{x86.P, "present"}, {x86.RW, "writable"}, {x86.US, "user"}, {x86.A, "accessed"}, {x86.D, "dirty"},
		{x86.PS, "big page"}, {x86.G, "global"}, {x86.NX, "no-execute"}} {
		if e.Has(f.bit) {
			on = append(on, f.name)
		}
	}
	l := []string{fmt.Sprintf("value  %#018x", uint64(e)), "flags  " + strings.Join(on, ", ")}
	if v.Leaf {
		l = append(l, fmt.Sprintf("maps %s", sizeName(v.Covers)))
		if k := e.Key(); keys && k != 0 {
			l = append(l, fmt.Sprintf("protection key %d (PKRU bits %d and %d: access and write disable)", k, 2*k, 2*k+1))
		}
	} else {
		l = append(l, fmt.Sprintf("points to a table (covers %s)", sizeName(v.Covers)))
	}
	if v.Stale {
		l = append(l, "stale: the guest entry changed, resynced at the next flush")
	}
	if v.TrackDirty {
		l = append(l, "read-only until the first write sets the guest's dirty bit")
	}
	return l
}

func sizeName(n uint64) string {
	switch {
	case n >= 1<<40 && n%(1<<40) == 0:
		return fmt.Sprintf("%d TiB", n>>40)
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

var accessRead = x86.Access{Kind: x86.Read}
