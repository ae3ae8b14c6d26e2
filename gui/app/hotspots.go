package app

import (
	"fmt"
	"strconv"

	"github.com/pgm-explorer/pgm-explorer/analysis"
	"github.com/pgm-explorer/pgm-explorer/engine"
	"github.com/pgm-explorer/pgm-explorer/engine/x86"
	"github.com/pgm-explorer/pgm-explorer/viz"
)

// HotRows is the number of rows the hot spots panel shows: the top N of
// `explorer analyze --top`.
const HotRows = 20

// hotKeys is the cap on the keys the window's analyzer holds (the
// CLI's --max-keys): memory stays bounded whatever the trace.
const hotKeys = 65536

// hotSpots is the hot spots panel: `explorer analyze` over the scan,
// by one key kind at a time.
type hotSpots struct {
	by   analysis.KeyKind
	sort int // index in analysis.SortBy
	an   *analysis.Analyzer
	sel  int // the row chosen
	// rep caches the report at scanned events (Top sorts every key).
	rep   *analysis.Report
	repAt uint64
	rects []viz.Rect // the rows as last drawn, for clicks
	prev  viz.View   // the view to go back to on close
	// ring is the pool page a pool-page row rings (-1: none).
	ring int
	// final: the scan has counted all it will for now; the report is
	// then always up to date.
	final bool
}

func (h *hotSpots) reset(eng engine.Engine) {
	h.an = analysis.NewAnalyzer(eng, h.by, nil, hotKeys)
	h.rep, h.repAt = nil, 0
}
func (h *hotSpots) add(o *engine.Outcome) { h.an.Add(o) }

// report is the analyzer's report as of now.
func (h *hotSpots) report() *analysis.Report {
	if h.an == nil {
		return nil
	}
	// Top sorts every key (up to hotKeys): while the scan counts, the
	// table is sorted again only every sixteenth more events.
	if n := h.an.Events; h.rep == nil || n != h.repAt && (h.final || n-h.repAt >= max(4096, h.repAt/16)) {
		h.rep, h.repAt = h.an.Report(HotRows, analysis.SortBy[h.sort]), h.an.Events
		h.sel = min(h.sel, max(len(h.rep.Rows)-1, 0))
	}
	return h.rep
}

// ToggleHotSpots opens or closes the hot spots panel. It shows the walk
// view (the pool for pool pages) beside the table, so that choosing a
// row shows where it leads.
func (a *App) ToggleHotSpots() {
	if h := a.ins.hot; h != nil {
		a.view = h.prev
		a.ins.hot = nil
		a.ins.restart(scanHot)
		a.dirty = true
		return
	}
	a.ins.hot = &hotSpots{by: analysis.ByPage, prev: a.view, ring: -1}
	a.hotView()
	a.ins.restart(scanHot)
	a.dirty = true
}

// SetHotBy counts hot spots by another key kind.
func (a *App) SetHotBy(k analysis.KeyKind) {
	h := a.ins.hot
	if h == nil {
		return
	}
	h.by, h.sel, h.ring = k, 0, -1
	a.hotView()
	a.ins.restart(scanHot)
	a.dirty = true
}

func (a *App) hotView() {
	if a.ins.hot.by == analysis.ByPoolPage {
		a.view = viz.ViewMemory
	} else {
		a.view = viz.ViewWalk
	}
}

// hotKey handles a key while the panel is open; it reports whether it
// took it.
func (a *App) hotKey(k Key) bool {
	h := a.ins.hot
	if h == nil {
		return false
	}
	n := 0
	if r := h.report(); r != nil {
		n = len(r.Rows)
	}
	switch k {
	case KeyUp:
		h.sel = max(h.sel-1, 0)
	case KeyDown:
		h.sel = min(h.sel+1, max(n-1, 0))
	case KeyLeft:
		a.SetHotBy((h.by + hotKinds - 1) % hotKinds)
	case KeyRight:
		a.SetHotBy((h.by + 1) % hotKinds)
	case KeyEnter:
		a.ChooseHotSpot(h.sel)
	case KeyEscape:
		a.ToggleHotSpots()
	default:
		return false
	}
	a.dirty = true
	return true
}

// hotKinds is the number of key kinds (analysis.ByLabel is the last).
const hotKinds = analysis.ByLabel + 1

// ChooseHotSpot chooses row i: its events are marked on the timeline
// (the search's marks, so , and . step through them), the walk follows
// its address, the pool panel rings its page.
func (a *App) ChooseHotSpot(i int) {
	h := a.ins.hot
	r := h.report()
	if r == nil || i < 0 || i >= len(r.Rows) {
		return
	}
	h.sel = i
	key := r.Rows[i].Key
	name := r.KeyName(key)
	h.ring = -1
	var expr string
	switch r.By {
	case analysis.ByVA:
		expr = "gva==" + hexs(key)
		a.Select(xva(key))
	case analysis.ByPage:
		expr = fmt.Sprintf("gva in %s..%s", hexs(key), hexs(key+x86.PageSize))
		a.Select(xva(key))
	case analysis.ByGPA:
		expr = fmt.Sprintf("gpa in %s..%s", hexs(key), hexs(key+x86.PageSize))
	case analysis.ByAS:
		expr = "as==" + hexs(key)
	case analysis.ByPath:
		expr = "path==" + name
	case analysis.ByLabel:
		expr = "label==" + strconv.Quote(name)
	case analysis.ByPoolPage, analysis.ByGuestTable:
		// No filter names these: the row's own key finds its events.
		if r.By == analysis.ByPoolPage {
			h.ring = int(key)
		}
		a.setSearch(&searchBox{expr: r.By.String() + " " + name, title: "hot spot", key: &hotKey{r.By, key}})
		return
	}
	f, err := analysis.Parse(expr)
	if err != nil {
		a.setErr(err)
		return
	}
	a.setSearch(&searchBox{expr: expr, title: "hot spot", f: f})
}

func hexs(v uint64) string { return "0x" + strconv.FormatUint(v, 16) }
